/**
 * Dynamic λ per route: a schedule by hour of day (UTC; first matching window wins, else the route's
 * λ), and a budget controller that holds a target spend rate — it watches an exponentially weighted
 * spend rate and nudges an offset on top of the scheduled λ: up (cheaper) while spending too fast,
 * back down (better) while under. Pure state with an injected clock.
 */
import { z } from 'zod';

export const ScheduleSchema = z.array(
  z.strictObject({
    /** Hours of the UTC day, "9-17" (inclusive) or "22-5" (wrapping midnight). */
    hours: z.string().regex(/^([01]?\d|2[0-3])-([01]?\d|2[0-3])$/, 'expected "H-H", hours 0..23'),
    lambda: z.number().min(0).max(1),
  }),
);

export const BudgetControlSchema = z.strictObject({
  /** Target spend rate of the route, USD per hour. */
  usdPerHour: z.number().positive(),
  /** How far λ moves per hour at 100% overspend. */
  gain: z.number().positive().default(0.5),
  /** Time constant of the spend-rate estimate, minutes. */
  windowMinutes: z.number().positive().default(15),
});

export type Schedule = z.infer<typeof ScheduleSchema>;
export type BudgetControl = z.infer<typeof BudgetControlSchema>;

export function scheduledLambda(base: number, schedule: Schedule, now: number): number {
  const hour = new Date(now).getUTCHours();
  for (const s of schedule) {
    const [a, b] = s.hours.split('-').map(Number) as [number, number];
    if (a <= b ? hour >= a && hour <= b : hour >= a || hour <= b) return s.lambda;
  }
  return base;
}

export class LambdaController {
  private rate = 0; // USD per hour, EWMA
  private last: number | undefined;
  private offset = 0;

  constructor(
    private readonly base: number,
    private readonly schedule: Schedule = [],
    private readonly budget?: BudgetControl,
  ) {}

  /** The λ to use now. */
  lambda(now: number): number {
    const scheduled = scheduledLambda(this.base, this.schedule, now);
    return Math.min(1, Math.max(0, scheduled + this.offset));
  }

  /** The spend-rate estimate (USD per hour). */
  get spendRate(): number {
    return this.rate;
  }

  /** Feeds one request's cost; moves the offset toward holding the target rate. */
  observe(costUsd: number, now: number): void {
    if (!this.budget) return;
    const dtH = this.last === undefined ? 0 : Math.max(0, now - this.last) / 3_600_000;
    this.last = now;
    const tau = this.budget.windowMinutes / 60;
    const decay = Math.exp(-dtH / tau);
    this.rate = this.rate * decay + costUsd / tau; // ≈ USD per hour over the window
    const error = this.rate / this.budget.usdPerHour - 1;
    this.offset = Math.min(1, Math.max(-1, this.offset + this.budget.gain * error * Math.max(dtH, 1 / 3600)));
  }
}
