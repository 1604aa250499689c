/**
 * A circuit breaker per upstream, as a small state machine with an injected clock: `closed` lets
 * calls through and counts consecutive failures; at `failureThreshold` it opens and refuses calls
 * for `cooldownMs`; then it is `half-open` and lets one probe through — a success closes it, a
 * failure opens it again.
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  readonly failureThreshold: number;
  readonly cooldownMs: number;
}

export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;
  private stateNow: CircuitState = 'closed';
  private probing = false;

  constructor(
    private readonly options: BreakerOptions = { failureThreshold: 5, cooldownMs: 30_000 },
    private readonly now: () => number = Date.now,
  ) {}

  get state(): CircuitState {
    if (this.stateNow === 'open' && this.now() - this.openedAt >= this.options.cooldownMs) {
      this.stateNow = 'half-open';
      this.probing = false;
    }
    return this.stateNow;
  }

  /** May a call go out now? In half-open, only one probe at a time. */
  allow(): boolean {
    const s = this.state;
    if (s === 'closed') return true;
    if (s === 'open') return false;
    if (this.probing) return false;
    this.probing = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.stateNow = 'closed';
    this.probing = false;
  }

  failure(): void {
    const s = this.state;
    this.failures++;
    if (s === 'half-open' || this.failures >= this.options.failureThreshold) {
      this.stateNow = 'open';
      this.openedAt = this.now();
      this.probing = false;
    }
  }
}
