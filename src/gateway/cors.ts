/**
 * CORS (`server.cors`): browser applications on the listed origins may call the gateway directly —
 * preflights answered, and the routing headers (`x-switchyard-model`, `-cost-usd` …) exposed to their
 * scripts. Off by default: without `server.cors` no CORS header is sent and OPTIONS is a 404.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from './http.js';

export interface CorsConfig {
  /** Origins allowed (`https://app.example.com`), or `*` for any. */
  readonly origins: readonly string[];
  /** How long a browser may keep a preflight's answer. */
  readonly maxAgeS: number;
}

/** The response headers a page's script may read: the routing decision, its cost, the request id, rate-limit hints. */
const EXPOSED = [
  'x-request-id',
  'x-switchyard-model',
  'x-switchyard-route',
  'x-switchyard-lambda',
  'x-switchyard-cost-usd',
  'x-switchyard-overhead-ms',
  'x-switchyard-fallback-from',
  'x-switchyard-escalated-from',
  'x-switchyard-proposers',
  'x-switchyard-cache',
  'x-switchyard-canary',
  'x-switchyard-sticky',
  'retry-after',
].join(', ');
const METHODS = 'GET, POST, PATCH, DELETE, OPTIONS';

/**
 * Adds CORS headers for a request from an allowed origin, and answers its preflight (OPTIONS); true
 * when the request is answered here (a preflight, or one from an origin not allowed).
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, cors: CorsConfig): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return false; // not a browser's cross-origin request
  const any = cors.origins.includes('*');
  if (!any && !cors.origins.includes(origin)) {
    if (req.method !== 'OPTIONS') return false; // the browser withholds the answer from the page: no header says it may read it
    sendError(res, 403, 'origin_not_allowed', `origin ${origin} is not in server.cors.origins`);
    return true;
  }
  res.setHeader('access-control-allow-origin', any ? '*' : origin);
  if (!any) res.setHeader('vary', 'Origin');
  if (req.method !== 'OPTIONS') {
    res.setHeader('access-control-expose-headers', EXPOSED);
    return false;
  }
  res.writeHead(204, {
    'access-control-allow-methods': METHODS,
    // the headers the page's request will carry (authorization, content-type, the SDKs' own, x-switchyard-*)
    'access-control-allow-headers': req.headers['access-control-request-headers'] ?? 'authorization, content-type',
    'access-control-max-age': String(cors.maxAgeS),
  });
  res.end();
  return true;
}
