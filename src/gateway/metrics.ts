/**
 * Prometheus metrics of one gateway, served by prom-client's registry (GET /metrics). The
 * per-request counters and histograms are plain numbers and bucket arrays, found once per
 * (route, chosen, answered, status) combination, so a request costs a map lookup and a few adds
 * instead of prom-client's label hashing for each of its seven series; prom-client reads them at
 * scrape time through the metric interface (`get()`).
 */
import { Gauge, Registry } from 'prom-client';
import type { CircuitState } from './circuit-breaker.js';
import type { ModelUpstreams } from './deployments.js';
import { LAST_MINUTE_MS } from './latency.js';
import type { UsageLike } from './usage-cost.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

type Labels = Record<string, string>;
interface Sample {
  readonly value: number;
  readonly labels: Labels;
  readonly metricName?: string;
}

/** What prom-client's registry needs of a metric. */
abstract class PlainMetric<S> {
  private readonly series = new Map<string, { labels: Labels; s: S }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'histogram',
    private readonly labelNames: readonly string[],
    registry: Registry,
  ) {
    registry.registerMetric(this as never);
  }

  protected abstract fresh(): S;
  protected abstract samples(labels: Labels, s: S): Sample[];

  /** The series of these label values (in labelNames order), created on first use. */
  of(...values: string[]): S {
    const key = values.join('\u0000');
    let entry = this.series.get(key);
    if (!entry) this.series.set(key, (entry = { labels: Object.fromEntries(this.labelNames.map((n, i) => [n, values[i] as string])), s: this.fresh() }));
    return entry.s;
  }

  get(): { name: string; help: string; type: string; values: Sample[]; aggregator: 'sum' } {
    const values = [...this.series.values()].flatMap(({ labels, s }) => this.samples(labels, s));
    return { name: this.name, help: this.help, type: this.type, values, aggregator: 'sum' };
  }
}

export interface CounterSeries {
  value: number;
}

export class PlainCounter extends PlainMetric<CounterSeries> {
  constructor(name: string, help: string, labelNames: readonly string[], registry: Registry) {
    super(name, help, 'counter', labelNames, registry);
  }
  protected fresh(): CounterSeries {
    return { value: 0 };
  }
  protected samples(labels: Labels, s: CounterSeries): Sample[] {
    return [{ value: s.value, labels }];
  }
}

export interface HistogramSeries {
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

export class PlainHistogram extends PlainMetric<HistogramSeries> {
  constructor(name: string, help: string, labelNames: readonly string[], registry: Registry) {
    super(name, help, 'histogram', labelNames, registry);
  }
  protected fresh(): HistogramSeries {
    return { counts: new Float64Array(BUCKETS.length + 1), sum: 0, count: 0 };
  }
  static observe(s: HistogramSeries, v: number): void {
    let i = 0;
    while (i < BUCKETS.length && v > (BUCKETS[i] as number)) i++;
    s.counts[i] = (s.counts[i] as number) + 1;
    s.sum += v;
    s.count++;
  }
  protected samples(labels: Labels, s: HistogramSeries): Sample[] {
    let cumulative = 0;
    const buckets = BUCKETS.map((le, i) => {
      cumulative += s.counts[i] as number;
      return { value: cumulative, labels: { le: String(le), ...labels }, metricName: `${this.name}_bucket` };
    });
    return [
      ...buckets,
      { value: s.count, labels: { le: '+Inf', ...labels }, metricName: `${this.name}_bucket` },
      { value: s.sum, labels, metricName: `${this.name}_sum` },
      { value: s.count, labels, metricName: `${this.name}_count` },
    ];
  }
}

/** The series one kind of request touches (route, chosen, answered, status), found together. */
interface RequestSeries {
  readonly requests: CounterSeries;
  readonly selections: CounterSeries;
  readonly fallbacks: CounterSeries | undefined;
  readonly cost: CounterSeries | undefined;
  readonly upstream: HistogramSeries | undefined;
  readonly total: HistogramSeries;
  readonly overhead: HistogramSeries;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new PlainCounter('switchyard_requests_total', 'Chat completion requests by route, answering model and HTTP status', ['route', 'model', 'status'], this.registry);
  readonly selections = new PlainCounter('switchyard_selections_total', "The router's choice per route and model", ['route', 'model'], this.registry);
  readonly fallbacks = new PlainCounter('switchyard_fallbacks_total', 'Requests answered by another model than the router chose', ['route', 'from', 'to'], this.registry);
  readonly cost = new PlainCounter('switchyard_cost_usd_total', 'Cost of answered requests (usage x prices), USD', ['route', 'model'], this.registry);
  readonly total = new PlainHistogram('switchyard_request_duration_seconds', 'Whole request time in the gateway', ['route'], this.registry);
  readonly upstream = new PlainHistogram('switchyard_upstream_duration_seconds', 'Time spent waiting on upstreams (all attempts)', ['model'], this.registry);
  readonly lambda = new Gauge({ name: 'switchyard_route_lambda', help: "A route's current λ (schedule and budget controller)", labelNames: ['route'], registers: [this.registry], aggregator: 'average' });
  readonly errors = new PlainCounter('switchyard_errors_total', 'OpenAI-shaped errors answered, by stable code (docs/errors.md) and HTTP status', ['code', 'status'], this.registry);
  readonly storeErrors = new PlainCounter('switchyard_store_errors_total', 'Store operations that failed (a Redis outage …), by operation; failed writes are retried from memory', ['operation'], this.registry);
  readonly storeUnreplicated = new PlainCounter('switchyard_store_unreplicated_writes_total', 'Durable writes whose Redis WAIT timed out with fewer replicas than store.waitReplicas asks (they stand on the master only)', [], this.registry);
  readonly storePending = new Gauge({ name: 'switchyard_store_pending_writes', help: 'Records waiting in memory for the store to answer again', registers: [this.registry] });
  readonly cache = new PlainCounter('switchyard_cache_total', 'Answer cache (when enabled) by route: hit, miss, refresh and bypass (the client asked so), stored (an answer kept)', ['route', 'result'], this.registry);
  readonly routerErrors = new PlainCounter('switchyard_router_errors_total', "Routers that failed or missed the route's routerTimeoutMs, by route and router (main: the request went to the route's fallbackModel; canary: the live router decided; shadow: no shadow choice recorded)", ['route', 'router'], this.registry);
  readonly slowSetApart = new PlainCounter('switchyard_slow_models_total', "Requests of a route with `latency` for which a model was slow now (its recent time to first byte above maxFirstByteMs): left out of the router's choice, tried last", ['route', 'model'], this.registry);
  readonly cascadeSteps = new PlainCounter('switchyard_cascade_steps_total', "A cascade's steps before its last model, by what became of the answer: kept, escalated (judged too low) or failed", ['route', 'model', 'outcome'], this.registry);
  readonly tokens = new PlainCounter('switchyard_tokens_total', "Tokens of the answering models' usage, by model and type: input (all prompt tokens), cached_input (of those, read from the provider's prompt cache), audio_input (of those, audio), output, audio_output (of those, audio)", ['model', 'type'], this.registry);
  readonly keyCost = new PlainCounter('switchyard_key_cost_usd_total', 'Spend per API key, USD (alert on increase(…[1d]) against switchyard_key_budget_usd)', ['key'], this.registry);
  readonly overhead = new PlainHistogram('switchyard_overhead_duration_seconds', 'Gateway time before the first upstream call (parse, auth, routing)', ['route'], this.registry);

  private readonly bundles = new Map<string, RequestSeries>();

  /** `upstreams`: the configured models' breakers now (a reload may change the models). */
  constructor(
    upstreams: () => ReadonlyMap<string, ModelUpstreams>,
    keys: () => ReadonlyArray<{ readonly name: string; readonly dailyBudgetUsd?: number | undefined; readonly monthlyBudgetUsd?: number | undefined }> = () => [],
    /** The gateway's clock (the one calls' first-byte times are recorded by). */
    now: () => number = Date.now,
  ) {
    const code = (s: CircuitState): number => (s === 'closed' ? 0 : s === 'half-open' ? 1 : 2);
    // gauges read at scrape time from the models and keys in force (a reload may change them: each scrape starts afresh)
    // summed over workers (server.workers) unless `aggregator` says otherwise: a state or a limit is the same number in each
    const gauge = (name: string, help: string, labelNames: readonly string[], fill: (set: (labels: Record<string, string>, value: number) => void) => void, aggregator: 'sum' | 'max' | 'first' = 'sum'): void =>
      void new Gauge({
        name,
        help,
        labelNames,
        aggregator,
        registers: [this.registry],
        collect(): void {
          this.reset();
          fill((labels, value) => this.set(labels, value));
        },
      });
    gauge('switchyard_circuit_state', 'Circuit breaker per upstream model (the best of its deployments): 0 closed, 1 half-open, 2 open', ['model'], (set) => {
      for (const [model, u] of upstreams()) set({ model }, code(u.state));
    }, 'max');
    gauge('switchyard_key_budget_usd', "An API key's configured budget, USD, per period (day, month)", ['key', 'period'], (set) => {
      for (const k of keys()) {
        if (k.dailyBudgetUsd !== undefined) set({ key: k.name, period: 'day' }, k.dailyBudgetUsd);
        if (k.monthlyBudgetUsd !== undefined) set({ key: k.name, period: 'month' }, k.monthlyBudgetUsd);
      }
    }, 'first');
    gauge('switchyard_model_in_flight', 'Calls in flight per upstream model, over its deployments (against models.X.maxInFlight)', ['model'], (set) => {
      for (const [model, u] of upstreams()) set({ model }, u.inFlight);
    });
    gauge('switchyard_model_first_byte_seconds', "A model's time to first byte over its calls of the last minute in this process (quantile 0.5 and 0.9; the highest over workers): what routes.X.latency judges", ['model', 'quantile'], (set) => {
      for (const [model, u] of upstreams()) {
        for (const q of [0.5, 0.9]) {
          const r = u.firstByte.quantile(q, now() - LAST_MINUTE_MS);
          if (r) set({ model, quantile: String(q) }, r.ms / 1000);
        }
      }
    }, 'max');
    gauge('switchyard_model_waiting', "Calls waiting for room at a model that is at its maxInFlight (its queueMs)", ['model'], (set) => {
      for (const [model, u] of upstreams()) set({ model }, u.queued);
    });
    gauge('switchyard_deployment_circuit_state', "Circuit breaker per deployment of a model with several (deployment: its position in the model's deployments): 0 closed, 1 half-open, 2 open", ['model', 'deployment'], (set) => {
      for (const [model, u] of upstreams()) if (u.size > 1) u.breakers.forEach((b, d) => set({ model, deployment: String(d) }, code(b.state)));
    }, 'max');
    gauge('switchyard_model_minute_used', "Calls (limit=requests) and tokens (limit=tokens) this process counted against a model's requestsPerMinute / tokensPerMinute in the current UTC minute, over its deployments (sum over replicas)", ['model', 'limit'], (set) => {
      for (const [model, u] of upstreams()) for (const m of u.minuteUsage()) set({ model, limit: m.kind }, m.used);
    });
    gauge('switchyard_model_minute_limit', "A model's requestsPerMinute / tokensPerMinute, over its deployments (shared by replicas on Redis)", ['model', 'limit'], (set) => {
      for (const [model, u] of upstreams()) for (const m of u.minuteUsage()) set({ model, limit: m.kind }, m.limit);
    }, 'first');
  }

  private bundle(route: string, chosen: string, answered: string | null, status: number): RequestSeries {
    const key = `${route}\u0000${chosen}\u0000${answered ?? ''}\u0000${status}`;
    let b = this.bundles.get(key);
    if (!b) {
      b = {
        requests: this.requests.of(route, answered ?? 'none', String(status)),
        selections: this.selections.of(route, chosen),
        fallbacks: answered && answered !== chosen ? this.fallbacks.of(route, chosen, answered) : undefined,
        cost: answered ? this.cost.of(route, answered) : undefined,
        upstream: answered ? this.upstream.of(answered) : undefined,
        total: this.total.of(route),
        overhead: this.overhead.of(route),
      };
      this.bundles.set(key, b);
    }
    return b;
  }

  /** Everything a finished request adds to the metrics. */
  /** An answer's usage (the answering call's; soft routing's proposers and cascade steps are not counted here). */
  countTokens(model: string, usage: UsageLike): void {
    this.tokens.of(model, 'input').value += usage.prompt_tokens ?? 0;
    this.tokens.of(model, 'output').value += usage.completion_tokens ?? 0;
    const parts = { cached_input: usage.prompt_tokens_details?.cached_tokens, audio_input: usage.prompt_tokens_details?.audio_tokens, audio_output: usage.completion_tokens_details?.audio_tokens };
    for (const [type, n] of Object.entries(parts)) if (n !== undefined && n > 0) this.tokens.of(model, type).value += n;
  }

  observeRequest(r: { route: string; chosen: string; answered: string | null; status: number; costUsd: number; latencyMs: number; upstreamMs: number; overheadMs: number }): void {
    const b = this.bundle(r.route, r.chosen, r.answered, r.status);
    b.requests.value++;
    b.selections.value++;
    if (b.fallbacks) b.fallbacks.value++;
    if (b.cost) b.cost.value += r.costUsd;
    if (b.upstream) PlainHistogram.observe(b.upstream, r.upstreamMs / 1000);
    PlainHistogram.observe(b.total, r.latencyMs / 1000);
    PlainHistogram.observe(b.overhead, r.overheadMs / 1000);
  }
}
