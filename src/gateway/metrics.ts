/** Prometheus metrics of one gateway (prom-client, its own registry): GET /metrics. */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { CircuitBreaker } from './circuit-breaker.js';

const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'switchyard_requests_total', help: 'Chat completion requests by route, answering model and HTTP status', labelNames: ['route', 'model', 'status'], registers: [this.registry] });
  readonly selections = new Counter({ name: 'switchyard_selections_total', help: "The router's choice per route and model", labelNames: ['route', 'model'], registers: [this.registry] });
  readonly fallbacks = new Counter({ name: 'switchyard_fallbacks_total', help: 'Requests answered by another model than the router chose', labelNames: ['route', 'from', 'to'], registers: [this.registry] });
  readonly cost = new Counter({ name: 'switchyard_cost_usd_total', help: 'Cost of answered requests (usage x prices), USD', labelNames: ['route', 'model'], registers: [this.registry] });
  readonly total = new Histogram({ name: 'switchyard_request_duration_seconds', help: 'Whole request time in the gateway', labelNames: ['route'], buckets: BUCKETS, registers: [this.registry] });
  readonly upstream = new Histogram({ name: 'switchyard_upstream_duration_seconds', help: 'Time spent waiting on upstreams (all attempts)', labelNames: ['model'], buckets: BUCKETS, registers: [this.registry] });
  readonly lambda = new Gauge({ name: 'switchyard_route_lambda', help: "A route's current λ (schedule and budget controller)", labelNames: ['route'], registers: [this.registry] });
  readonly overhead = new Histogram({ name: 'switchyard_overhead_duration_seconds', help: 'Gateway time before the first upstream call (parse, auth, routing)', labelNames: ['route'], buckets: BUCKETS, registers: [this.registry] });

  /** Label children by label values, so the hot path skips prom-client's label hashing. */
  private readonly children = new Map<string, { inc(v?: number): void } & { observe?(v: number): void }>();

  private child<T extends { inc(v?: number): void } | { observe(v: number): void }>(metric: { labels(...values: string[]): T }, name: string, ...values: string[]): T {
    const key = `${name}\u0000${values.join('\u0000')}`;
    let c = this.children.get(key) as T | undefined;
    if (!c) this.children.set(key, (c = metric.labels(...values)) as never);
    return c;
  }

  /** Everything a finished request adds to the metrics. */
  observeRequest(r: { route: string; chosen: string; answered: string | null; status: number; costUsd: number; latencyMs: number; upstreamMs: number; overheadMs: number }): void {
    const model = r.answered ?? 'none';
    this.child(this.requests, 'req', r.route, model, String(r.status)).inc();
    this.child(this.selections, 'sel', r.route, r.chosen).inc();
    if (r.answered && r.answered !== r.chosen) this.child(this.fallbacks, 'fb', r.route, r.chosen, r.answered).inc();
    if (r.answered) {
      this.child(this.cost, 'cost', r.route, r.answered).inc(r.costUsd);
      this.child(this.upstream, 'up', r.answered).observe(r.upstreamMs / 1000);
    }
    this.child(this.total, 'tot', r.route).observe(r.latencyMs / 1000);
    this.child(this.overhead, 'ovh', r.route).observe(r.overheadMs / 1000);
  }

  constructor(breakers: ReadonlyMap<string, CircuitBreaker>) {
    new Gauge({
      name: 'switchyard_circuit_state',
      help: 'Circuit breaker per upstream model: 0 closed, 1 half-open, 2 open',
      labelNames: ['model'],
      registers: [this.registry],
      collect(): void {
        for (const [model, b] of breakers) this.set({ model }, b.state === 'closed' ? 0 : b.state === 'half-open' ? 1 : 2);
      },
    });
  }
}
