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
import { FirstByteTimes, LAST_MINUTE_MS } from './latency.js';
import { MinuteLimit, type SharedMinutes } from './minute-limit.js';
import type { CallSignal } from './providers/openai-compatible.js';
import type { SharedSlots } from './shared-slots.js';

/** With a shared store: how replicas share a model's minute limits and `maxInFlight`. */
export interface SharedLimits {
  readonly minutes: SharedMinutes;
  readonly slots: SharedSlots;
}

/** A deployment whose shared slots another replica holds counts as full this long before the store is asked again (unless a call of this process ends first). */
export const SLOTS_RECHECK_MS = 50;

const RANK: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };

/** The model as each of its endpoints serves it: itself, or each deployment's overrides over it. */
export function deploymentConfigs(model: ModelConfig): ModelConfig[] {
  const deployments = model.deployments ?? [];
  return deployments.length === 0 ? [model] : deployments.map(({ weight: _weight, ...d }) => ({ ...model, ...d }));
}

/** `balance: fastest`: the calls of the last minute judge (LAST_MINUTE_MS), at least this many per deployment. */
const FASTEST_MIN_CALLS = 3;

export class ModelUpstreams {
  readonly breakers: readonly CircuitBreaker[];
  /** The model's recent times to first byte, over its deployments (`routes.X.latency`). */
  readonly firstByte = new FirstByteTimes();
  /** Each deployment's recent times to first byte (`balance: fastest`, the admin API). */
  readonly deploymentFirstByte: readonly FirstByteTimes[];
  /** `balance: fastest`: a call goes to a deployment among the fastest lately (first byte, median). */
  private readonly fastest: boolean;
  private readonly now: () => number;
  private readonly configs: readonly ModelConfig[];
  private readonly weights: readonly number[];
  /** Each deployment's `maxInFlight`, and its calls in flight. */
  private readonly caps: readonly (number | undefined)[];
  private readonly busy: number[];
  /** Shared `maxInFlight`: each capped deployment's slot id in the store (undefined: counted here alone). */
  private readonly slotIds: readonly (string | undefined)[];
  private readonly slots: SharedSlots | undefined;
  /** Until when (performance.now(): real time, as the timers waiting on it) a deployment counts as full because the other replicas hold its slots. */
  private readonly fullUntil: number[];
  /** `balance: least-busy`: a call goes to a deployment with the fewest calls in flight for its weight. */
  private readonly leastBusy: boolean;
  /** Each deployment's `requestsPerMinute` and `tokensPerMinute`, counted in UTC minutes. */
  private readonly requests: readonly MinuteLimit[];
  private readonly tokens: readonly MinuteLimit[];

  constructor(
    model: ModelConfig,
    options: BreakerOptions,
    now: () => number,
    /** With a shared store: the model's id and how replicas share its minute limits and `maxInFlight`. */
    shared?: { readonly id: string } & SharedLimits,
  ) {
    const deployments = model.deployments ?? [];
    this.configs = deploymentConfigs(model);
    this.weights = deployments.length === 0 ? [1] : deployments.map((d) => d.weight);
    this.breakers = this.configs.map(() => new CircuitBreaker(options, now));
    this.caps = this.configs.map((c) => c.maxInFlight);
    this.busy = this.configs.map(() => 0);
    this.slots = shared?.slots;
    this.slotIds = this.caps.map((cap, d) => (cap !== undefined && shared ? `${shared.id}#${d}` : undefined));
    this.fullUntil = this.configs.map(() => 0);
    this.leastBusy = model.balance === 'least-busy';
    this.fastest = model.balance === 'fastest';
    this.deploymentFirstByte = this.configs.map(() => new FirstByteTimes());
    this.now = now;
    const sharing = (kind: string, d: number): { id: string; minutes: SharedMinutes } | undefined => shared && { id: `${kind}:${shared.id}#${d}`, minutes: shared.minutes };
    this.requests = this.configs.map((c, d) => new MinuteLimit(c.requestsPerMinute, now, sharing('requests', d)));
    this.tokens = this.configs.map((c, d) => new MinuteLimit(c.tokensPerMinute, now, sharing('tokens', d)));
    this.leases = shared !== undefined && this.configs.some((c) => c.requestsPerMinute !== undefined || c.tokensPerMinute !== undefined);
    this.limitsTokens = this.tokens.some((t) => t.limit !== undefined);
  }

  /** Some deployment has a `tokensPerMinute`: calls must say how many tokens they may use. */
  readonly limitsTokens: boolean;
  /** Some deployment's minute limits are shared by replicas (leases from the store). */
  private readonly leases: boolean;

  /**
   * Shared minute limits: reserves a share of the minute from the store for each deployment whose
   * circuit is not open and whose lease does not cover one more call of `tokens` tokens; undefined
   * (nothing to wait for) when every lease does, or the limits are this process's own.
   */
  lease(tokens = 0): Promise<unknown> | undefined {
    if (!this.leases) return undefined;
    let waits: Promise<void>[] | undefined;
    for (let d = 0; d < this.configs.length; d++) {
      if ((this.breakers[d] as CircuitBreaker).state === 'open') continue;
      const requests = this.requests[d] as MinuteLimit;
      const tokenLimit = this.tokens[d] as MinuteLimit;
      if (requests.needsLease(1)) (waits ??= []).push(requests.lease(1));
      if (tokenLimit.needsLease(tokens)) (waits ??= []).push(tokenLimit.lease(tokens));
    }
    return waits && Promise.all(waits);
  }

  /** Deployment `d`'s minute has room for one more call of `tokens` tokens. */
  private minuteFits(d: number, tokens: number): boolean {
    return (this.requests[d] as MinuteLimit).fits(1) && (this.tokens[d] as MinuteLimit).fits(tokens);
  }

  private hasRoom(d: number, tokens: number): boolean {
    const cap = this.caps[d];
    if (cap !== undefined && ((this.busy[d] as number) >= cap || ((this.fullUntil[d] as number) > 0 && this.heldElsewhere(d)))) return false;
    return this.minuteFits(d, tokens);
  }

  /** The other replicas held deployment `d`'s every slot when last asked (within SLOTS_RECHECK_MS). */
  private heldElsewhere(d: number): boolean {
    if ((this.fullUntil[d] as number) > performance.now()) return true;
    this.fullUntil[d] = 0;
    return false;
  }

  /** Deployment `d`'s `maxInFlight` is shared by replicas: a call must `claim` a slot before it starts. */
  sharesSlots(d: number): boolean {
    return this.slotIds[d] !== undefined;
  }

  /**
   * Takes one of deployment `d`'s shared slots: the holder to pass to `release`; `false` when the
   * replicas hold them all (the deployment then counts as full for SLOTS_RECHECK_MS); `null` when the
   * store did not answer (the call counts against this process's count alone).
   */
  async claim(d: number): Promise<string | false | null> {
    const id = this.slotIds[d];
    if (id === undefined || !this.slots) return null;
    const got = await this.slots.take(id, this.caps[d] as number);
    if (got === false) this.fullUntil[d] = performance.now() + SLOTS_RECHECK_MS;
    return got;
  }

  /** Gives back a slot claimed for a call that did not start (cancelled meanwhile). */
  unclaim(d: number, holder: string | undefined): void {
    const id = this.slotIds[d];
    if (id !== undefined && holder !== undefined) this.slots?.give(id, holder);
  }

  /** Seconds until a deployment over its requestsPerMinute or tokensPerMinute may be called again (the next minute). */
  get retryAfterS(): number {
    return (this.requests[0] as MinuteLimit).retryAfterS;
  }

  /**
   * A call to deployment `d` starts: counted against its `maxInFlight` until `release`, and in its
   * minute's `requestsPerMinute` and `tokensPerMinute` (`tokens`: the prompt's and the completion
   * tokens the request asks for, as providers count on admission; `settle` adds what the answer used beyond).
   */
  acquire(d: number, tokens = 0): void {
    this.busy[d] = (this.busy[d] as number) + 1;
    (this.requests[d] as MinuteLimit).take(1);
    (this.tokens[d] as MinuteLimit).take(tokens);
  }

  /** The answer of a call counted with `counted` tokens used `used` in all: the rest counts in the current minute. */
  settle(d: number, counted: number, used: number): void {
    if (used > counted) this.tokens[d]?.take(used - counted);
  }

  /** Some deployment is kept from a call of `tokens` tokens by its minute's limits (not by `maxInFlight` alone): wait for the next minute. */
  rateLimited(tokens = 0): boolean {
    return this.configs.some((_, d) => !this.minuteFits(d, tokens));
  }

  /** A call to deployment `d` ended: its count (and its shared slot, `holder`) is given back. */
  release(d: number, holder?: string): void {
    this.busy[d] = Math.max(0, (this.busy[d] as number) - 1);
    if (holder !== undefined) {
      this.unclaim(d, holder);
      this.fullUntil[d] = 0; // a slot just came free
    }
    this.waiting.shift()?.(); // the call waiting longest tries again
  }

  /** Calls waiting for room (`queueMs`), oldest first: each is woken by one release. */
  private readonly waiting: Array<() => void> = [];

  /** Calls waiting for room now. */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Waits until a call to the model ends (true: try again), or `ms` pass or `cancel` fires (false).
   * Used while every deployment is at its `maxInFlight` (`queueMs`). With shared slots, a call that
   * ends at another replica is not heard of here: every SLOTS_RECHECK_MS the call waiting longest is
   * woken to ask the store again (one asker per model, however many wait).
   */
  waitForRoom(ms: number, cancel?: CallSignal): Promise<boolean> {
    if (ms <= 0 || cancel?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (woken: boolean): void => {
        clearTimeout(timer);
        cancel?.off('abort', gone);
        const k = this.waiting.indexOf(wake);
        if (k >= 0) this.waiting.splice(k, 1);
        resolve(woken);
      };
      const wake = (): void => done(true);
      const gone = (): void => done(false);
      const timer = setTimeout(gone, ms);
      cancel?.once('abort', gone);
      this.waiting.push(wake);
      if (this.slots) this.scheduleRecheck();
    });
  }

  /** Shared slots: while calls wait, one timer wakes the longest-waiting every SLOTS_RECHECK_MS (it asks the store; the rest keep waiting). */
  private recheck: NodeJS.Timeout | undefined;
  private scheduleRecheck(): void {
    if (this.recheck) return;
    this.recheck = setTimeout(() => {
      this.recheck = undefined;
      this.waiting.shift()?.();
      if (this.waiting.length > 0) this.scheduleRecheck();
    }, SLOTS_RECHECK_MS);
    this.recheck.unref();
  }

  /** Each minute limit the model has (requests, tokens): its deployments' counts this minute and limits, summed. */
  minuteUsage(): Array<{ kind: 'requests' | 'tokens'; used: number; limit: number }> {
    const out: Array<{ kind: 'requests' | 'tokens'; used: number; limit: number }> = [];
    for (const [kind, limits] of [['requests', this.requests], ['tokens', this.tokens]] as const) {
      const limited = limits.filter((l) => l.limit !== undefined);
      if (limited.length > 0) out.push({ kind, used: limited.reduce((a, l) => a + l.count, 0), limit: limited.reduce((a, l) => a + (l.limit as number), 0) });
    }
    return out;
  }

  /** Calls in flight to the model, over its deployments. */
  get inFlight(): number {
    return this.busy.reduce((a, b) => a + b, 0);
  }

  /** No call of `tokens` tokens can start because every deployment whose circuit is not open is at its `maxInFlight`, `requestsPerMinute` or `tokensPerMinute` (and one is). */
  full(tokens = 0): boolean {
    const up = this.configs.map((_, d) => d).filter((d) => (this.breakers[d] as CircuitBreaker).state !== 'open');
    return up.length > 0 && up.every((d) => !this.hasRoom(d, tokens));
  }

  get size(): number {
    return this.configs.length;
  }

  /** The model as deployment `d` serves it (its baseURL, key and upstream name). */
  config(d: number): ModelConfig {
    return this.configs[d] as ModelConfig;
  }

  /**
   * The deployment the next call (of `tokens` tokens) goes to: drawn by weight among those not in
   * `tried` whose breaker lets a call through and that has room (`maxInFlight`, the minute's limits),
   * else among the tried ones; undefined when none does.
   */
  pick(rng: Rng, tried: ReadonlySet<number>, tokens = 0): number | undefined {
    if (this.configs.length === 1) return this.hasRoom(0, tokens) && (this.breakers[0] as CircuitBreaker).allow() ? 0 : undefined;
    for (const fresh of [true, false]) {
      const pool = this.configs.map((_, d) => d).filter((d) => tried.has(d) !== fresh && this.hasRoom(d, tokens) && (this.breakers[d] as CircuitBreaker).state !== 'open');
      while (pool.length > 0) {
        // least-busy: only the deployments with the fewest calls in flight per unit of weight are drawn from
        const load = (d: number): number => (this.busy[d] as number) / (this.weights[d] as number);
        const least = this.leastBusy ? Math.min(...pool.map(load)) : 0;
        const drawn = this.leastBusy ? pool.filter((d) => load(d) === least) : this.fastest ? this.fastestOf(pool) : pool;
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

  /** A call's time to first byte at deployment `d` (a first-byte timeout counts as its limit). */
  recordFirstByte(d: number, ms: number, now: number): void {
    this.firstByte.record(ms, now);
    this.deploymentFirstByte[d]?.record(ms, now);
  }

  /**
   * `balance: fastest`: the deployments of `pool` with too few calls in the last minute to judge
   * (each is tried until it has FASTEST_MIN_CALLS — so one that was slow is tried again once its
   * slow calls are a minute old), else those whose median first byte is within a quarter of the
   * fastest's (drawn among by weight, so equally fast ones share the load).
   */
  private fastestOf(pool: readonly number[]): number[] {
    const since = this.now() - LAST_MINUTE_MS;
    const median = pool.map((d) => this.deploymentFirstByte[d]?.quantile(0.5, since));
    const unknown = pool.filter((_, k) => (median[k]?.calls ?? 0) < FASTEST_MIN_CALLS);
    if (unknown.length > 0) return unknown;
    const best = Math.min(...median.map((m) => m?.ms ?? Infinity));
    return pool.filter((_, k) => (median[k]?.ms ?? Infinity) <= best * 1.25 + 2);
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
