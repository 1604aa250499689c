/**
 * `GET /v1/admin/models`: how each configured model is doing in this process right now — its
 * circuit (and each deployment's), calls in flight and waiting against its `maxInFlight`, its minute
 * limits' use, its recent times to first byte, and the routes that count it slow now — what an
 * operator asks when a route's answers change, in one JSON document (the same figures feed /metrics).
 * Per process: each replica and worker answers for its own calls.
 */
import type { ModelConfig } from './config.js';
import type { ModelUpstreams } from './deployments.js';
import { LAST_MINUTE_MS, slowness } from './latency.js';
import type { LoadedRoute } from './routes.js';

/** Where a deployment is, without its path's secrets (a key in a query string) or credentials. */
function origin(baseURL: string | undefined): string | null {
  if (baseURL === undefined) return null;
  try {
    return new URL(baseURL).origin;
  } catch {
    return null;
  }
}

export function modelStatus(
  models: Readonly<Record<string, ModelConfig>>,
  upstreams: ReadonlyMap<string, ModelUpstreams>,
  routes: ReadonlyMap<string, LoadedRoute>,
  now: number,
): Record<string, unknown> {
  const data = Object.entries(models).map(([id, m]) => {
    const u = upstreams.get(id);
    const recent = (q: number): number | null => {
      const r = u?.firstByte.quantile(q, now - LAST_MINUTE_MS);
      return r ? Math.round(r.ms) : null;
    };
    const calls = u?.firstByte.quantile(0.5, now - LAST_MINUTE_MS)?.calls ?? 0;
    const slowIn = [...routes.values()].filter((r) => r.latency && r.models.includes(id)).flatMap((r) => {
      const why = slowness(u?.firstByte, r.latency as NonNullable<LoadedRoute['latency']>, now);
      return why ? [{ route: r.name, why }] : [];
    });
    return {
      id,
      object: 'switchyard.model_status',
      provider: m.provider ?? 'openai-compatible',
      circuit: u?.state ?? 'closed',
      deployments: u
        ? Array.from({ length: u.size }, (_, d) => {
            const r = u.deploymentFirstByte[d]?.quantile(0.5, now - LAST_MINUTE_MS);
            return { origin: origin(u.config(d).baseURL), circuit: u.breakers[d]?.state ?? 'closed', first_byte_ms_last_minute: { calls: r?.calls ?? 0, p50: r ? Math.round(r.ms) : null } };
          })
        : [],
      in_flight: u?.inFlight ?? 0,
      max_in_flight: m.maxInFlight ?? null,
      waiting: u?.queued ?? 0,
      minute_limits: u?.minuteUsage() ?? [],
      first_byte_ms_last_minute: { calls, p50: recent(0.5), p90: recent(0.9) },
      slow_in_routes: slowIn,
      routes: [...routes.values()].filter((r) => r.models.includes(id)).map((r) => r.name),
    };
  });
  return { object: 'list', data };
}
