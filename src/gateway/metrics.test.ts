import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from './metrics.js';

describe('gateway metrics', () => {
  it('exposes per-request counters and cumulative histograms in Prometheus text', async () => {
    const m = new GatewayMetrics(() => new Map());
    const request = { route: 'auto', chosen: 'big', answered: 'big', status: 200, costUsd: 0.002, latencyMs: 3, upstreamMs: 2, overheadMs: 0.4 };
    m.observeRequest(request);
    m.observeRequest({ ...request, latencyMs: 0.5 }); // exactly on a bound: counted in that bucket
    m.observeRequest({ ...request, answered: 'small', latencyMs: 90_000 }); // fallback, above every bound
    m.observeRequest({ ...request, answered: null, status: 502, costUsd: 0 });
    const text = await m.registry.metrics();
    const value = (series: string): number => Number(new RegExp(`^${series.replace(/[{}.+]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('switchyard_requests_total{route="auto",model="big",status="200"}')).toBe(2);
    expect(value('switchyard_requests_total{route="auto",model="none",status="502"}')).toBe(1);
    expect(value('switchyard_selections_total{route="auto",model="big"}')).toBe(4);
    expect(value('switchyard_fallbacks_total{route="auto",from="big",to="small"}')).toBe(1);
    expect(value('switchyard_cost_usd_total{route="auto",model="big"}')).toBeCloseTo(0.004, 12);
    expect(value('switchyard_request_duration_seconds_bucket{le="0.0005",route="auto"}')).toBe(1);
    expect(value('switchyard_request_duration_seconds_bucket{le="0.0025",route="auto"}')).toBe(1);
    expect(value('switchyard_request_duration_seconds_bucket{le="0.005",route="auto"}')).toBe(3);
    expect(value('switchyard_request_duration_seconds_bucket{le="60",route="auto"}')).toBe(3);
    expect(value('switchyard_request_duration_seconds_bucket{le="+Inf",route="auto"}')).toBe(4);
    expect(value('switchyard_request_duration_seconds_count{route="auto"}')).toBe(4);
    expect(value('switchyard_request_duration_seconds_sum{route="auto"}')).toBeCloseTo(90.0065, 9);
    expect(text).toMatch(/# TYPE switchyard_upstream_duration_seconds histogram/);
  });
});
