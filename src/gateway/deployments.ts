/**
 * A model's upstream endpoints and their circuit breakers. A model has one endpoint (its `baseURL`)
 * or several `deployments` — the same model in several regions, accounts or Azure deployments, to
 * add up their rate limits and survive one going down. Each call goes to one of them, drawn by
 * weight among those whose circuit lets a call through; a retry goes to one not tried yet while there
 * is one. Each deployment has its own breaker; the model counts as closed while any of them is.
 */
import type { Rng } from '../core/random.js';
import { CircuitBreaker, type BreakerOptions, type CircuitState } from './circuit-breaker.js';
import type { ModelConfig } from './config.js';

const RANK: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };

/** The model as each of its endpoints serves it: itself, or each deployment's overrides over it. */
export function deploymentConfigs(model: ModelConfig): ModelConfig[] {
  const deployments = model.deployments ?? [];
  return deployments.length === 0 ? [model] : deployments.map(({ weight: _weight, ...d }) => ({ ...model, ...d }));
}

export class ModelUpstreams {
  readonly breakers: readonly CircuitBreaker[];
  private readonly configs: readonly ModelConfig[];
  private readonly weights: readonly number[];
  /** Each deployment's `maxInFlight`, and its calls in flight. */
  private readonly caps: readonly (number | undefined)[];
  private readonly busy: number[];
  /** `balance: least-busy`: a call goes to a deployment with the fewest calls in flight for its weight. */
  private readonly leastBusy: boolean;
  /** Each deployment's `requestsPerMinute`, and its calls in the current UTC minute. */
  private readonly rates: readonly (number | undefined)[];
  private readonly minute: Array<{ window: number; count: number }>;

  constructor(
    model: ModelConfig,
    options: BreakerOptions,
    private readonly now: () => number,
  ) {
    const deployments = model.deployments ?? [];
    this.configs = deploymentConfigs(model);
    this.weights = deployments.length === 0 ? [1] : deployments.map((d) => d.weight);
    this.breakers = this.configs.map(() => new CircuitBreaker(options, now));
    this.caps = this.configs.map((c) => c.maxInFlight);
    this.busy = this.configs.map(() => 0);
    this.leastBusy = model.balance === 'least-busy';
    this.rates = this.configs.map((c) => c.requestsPerMinute);
    this.minute = this.configs.map(() => ({ window: 0, count: 0 }));
  }

  /** Calls made to deployment `d` in the current minute. */
  private calls(d: number): number {
    const m = this.minute[d] as { window: number; count: number };
    return m.window === this.now() - (this.now() % 60_000) ? m.count : 0;
  }

  private hasRoom(d: number): boolean {
    const cap = this.caps[d];
    const rate = this.rates[d];
    return (cap === undefined || (this.busy[d] as number) < cap) && (rate === undefined || this.calls(d) < rate);
  }

  /** Seconds until a deployment over its requestsPerMinute may be called again (the next minute). */
  get retryAfterS(): number {
    return Math.max(1, Math.ceil((60_000 - (this.now() % 60_000)) / 1000));
  }

  /** A call to deployment `d` starts (counted against its `maxInFlight` until `release`, and its minute's `requestsPerMinute`). */
  acquire(d: number): void {
    this.busy[d] = (this.busy[d] as number) + 1;
    if (this.rates[d] !== undefined) {
      const window = this.now() - (this.now() % 60_000);
      const m = this.minute[d] as { window: number; count: number };
      if (m.window !== window) (m.window = window), (m.count = 0);
      m.count++;
    }
  }

  /** Every deployment with room is kept from new calls by `requestsPerMinute` alone (not by `maxInFlight`): wait for the next minute. */
  get rateLimited(): boolean {
    return this.configs.some((_, d) => this.rates[d] !== undefined && this.calls(d) >= (this.rates[d] as number));
  }

  release(d: number): void {
    this.busy[d] = Math.max(0, (this.busy[d] as number) - 1);
  }

  /** Calls in flight to the model, over its deployments. */
  get inFlight(): number {
    return this.busy.reduce((a, b) => a + b, 0);
  }

  /** No call can start because every deployment whose circuit is not open is at its `maxInFlight` or `requestsPerMinute` (and one is). */
  get full(): boolean {
    const up = this.configs.map((_, d) => d).filter((d) => (this.breakers[d] as CircuitBreaker).state !== 'open');
    return up.length > 0 && up.every((d) => !this.hasRoom(d));
  }

  get size(): number {
    return this.configs.length;
  }

  /** The model as deployment `d` serves it (its baseURL, key and upstream name). */
  config(d: number): ModelConfig {
    return this.configs[d] as ModelConfig;
  }

  /**
   * The deployment the next call goes to: drawn by weight among those not in `tried` whose breaker
   * lets a call through and that has room (`maxInFlight`), else among the tried ones; undefined when
   * none does.
   */
  pick(rng: Rng, tried: ReadonlySet<number>): number | undefined {
    if (this.configs.length === 1) return this.hasRoom(0) && (this.breakers[0] as CircuitBreaker).allow() ? 0 : undefined;
    for (const fresh of [true, false]) {
      const pool = this.configs.map((_, d) => d).filter((d) => tried.has(d) !== fresh && this.hasRoom(d) && (this.breakers[d] as CircuitBreaker).state !== 'open');
      while (pool.length > 0) {
        // least-busy: only the deployments with the fewest calls in flight per unit of weight are drawn from
        const load = (d: number): number => (this.busy[d] as number) / (this.weights[d] as number);
        const least = this.leastBusy ? Math.min(...pool.map(load)) : 0;
        const drawn = this.leastBusy ? pool.filter((d) => load(d) === least) : pool;
        const total = drawn.reduce((s, d) => s + (this.weights[d] as number), 0);
        let x = rng.next() * total;
        let k = 0;
        while (k < drawn.length - 1 && (x -= this.weights[drawn[k] as number] as number) >= 0) k++;
        const d = drawn[k] as number;
        if ((this.breakers[d] as CircuitBreaker).allow()) return d; // a half-open one lets one probe through
        pool.splice(pool.indexOf(d), 1);
      }
    }
    return undefined;
  }

  success(d: number): void {
    this.breakers[d]?.success();
  }

  failure(d: number): void {
    this.breakers[d]?.failure();
  }

  /** The model's state: the best of its deployments'. */
  get state(): CircuitState {
    return this.breakers.map((b) => b.state).reduce((a, b) => (RANK[b] < RANK[a] ? b : a));
  }
}
