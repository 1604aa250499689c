/**
 * Slow models (`routes.X.latency`): each model's recent times to first byte (its answer's headers —
 * for a JSON answer, most of its generation), and which of a route's models are slow now — the
 * `quantile` of their calls within the last `windowS` above `maxFirstByteMs`, over at least `minCalls`
 * calls. A slow model is left out of the router's choice and tried only after the others (a provider
 * having a bad hour is not chosen at λ = 0 for every request meanwhile); once its slow calls are
 * older than the window it is chosen again, and its next calls say whether it has recovered.
 */
import { z } from 'zod';

export const LatencyConfigSchema = z.strictObject({
  /** A model whose recent time to first byte (at `quantile`) is above this is tried last. */
  maxFirstByteMs: z.number().int().positive(),
  quantile: z.number().gt(0).max(1).default(0.9),
  /** How far back calls count. */
  windowS: z.number().int().positive().max(3600).default(60),
  /** Fewer calls in the window than this: not judged (not slow). */
  minCalls: z.number().int().min(1).max(1000).default(5),
});
export type LatencyConfig = z.infer<typeof LatencyConfigSchema>;

/** "Lately" where no route says otherwise: the admin API, /metrics and `balance: fastest` look at the last minute of calls. */
export const LAST_MINUTE_MS = 60_000;
/** The most calls a model keeps (the newest). */
const KEPT = 256;
/** How long a computed quantile stands (ms of the clock). */
const STALE_MS = 250;

/** One model's recent times to first byte. */
export class FirstByteTimes {
  private readonly at: number[] = [];
  private readonly ms: number[] = [];
  /** Calls recorded so far. */
  private recorded = 0;
  /** By quantile: its last answer, for which step of `since`, after how many calls. */
  private readonly cached = new Map<number, { readonly step: number; readonly recorded: number; readonly value: { readonly ms: number; readonly calls: number } | undefined }>();

  /** A call's time to first byte (a first-byte timeout counts as its limit), at clock time `now`. */
  record(ms: number, now: number): void {
    this.recorded++;
    this.at.push(now);
    this.ms.push(ms);
    if (this.at.length > KEPT) {
      this.at.shift();
      this.ms.shift();
    }
  }

  /**
   * The `q` quantile of the calls at or after `since`, and how many there were (undefined: none).
   * Asked on every request, the last answer is reused within one STALE_MS step of `since` until a
   * sixteenth of its calls are new (at once when it had fewer than 32), so a busy model sorts its
   * window a few times a second, not once a call, and a quiet one is always exact.
   */
  quantile(q: number, since: number): { readonly ms: number; readonly calls: number } | undefined {
    const step = Math.floor(since / STALE_MS);
    const c = this.cached.get(q);
    if (c && c.step === step && this.recorded - c.recorded < Math.max(1, Math.floor((c.value?.calls ?? 0) / 16))) return c.value;
    const value = this.compute(q, since);
    this.cached.set(q, { step, recorded: this.recorded, value });
    return value;
  }

  private compute(q: number, since: number): { readonly ms: number; readonly calls: number } | undefined {
    let first = this.at.length;
    while (first > 0 && (this.at[first - 1] as number) >= since) first--;
    const recent = this.ms.slice(first).sort((a, b) => a - b);
    if (recent.length === 0) return undefined;
    return { ms: recent[Math.min(recent.length - 1, Math.ceil(q * recent.length) - 1)] as number, calls: recent.length };
  }
}

/** Why a model counts as slow now, or undefined when it does not. */
export function slowness(times: FirstByteTimes | undefined, config: LatencyConfig, now: number): string | undefined {
  const r = times?.quantile(config.quantile, now - config.windowS * 1000);
  if (!r || r.calls < config.minCalls || r.ms <= config.maxFirstByteMs) return undefined;
  return `p${Math.round(config.quantile * 100)} first byte ${Math.round(r.ms)} ms over its last ${r.calls} calls > ${config.maxFirstByteMs} ms`;
}

/**
 * `models` split into those to choose among and those to try last (slow now); when every one is
 * slow, none is set apart (the choice stays the router's).
 */
export function setSlowApart(models: readonly string[], timesOf: (id: string) => FirstByteTimes | undefined, config: LatencyConfig, now: number): { readonly fast: readonly string[]; readonly slow: ReadonlyArray<{ readonly model: string; readonly why: string }> } {
  const slow: Array<{ model: string; why: string }> = [];
  const fast: string[] = [];
  for (const m of models) {
    const why = slowness(timesOf(m), config, now);
    if (why) slow.push({ model: m, why });
    else fast.push(m);
  }
  return fast.length === 0 ? { fast: models, slow: [] } : { fast, slow };
}
