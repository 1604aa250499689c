/**
 * The admin API's reports over the decision log — what `switchyard decisions` prints, over HTTP, for
 * dashboards and scripts without access to the store:
 *
 *   GET /v1/admin/summary?by=route|key|model|user|tag:NAME&route=R&since=ISO&limit=N
 *       by route (default): per route, requests, spend, model shares, feedback, the predicted saving
 *       against the route's best model, shadow and canary comparisons; otherwise spend per group
 *   GET /v1/admin/decisions?route=R&since=ISO&limit=N     the newest decisions (default 100)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseSince, parseSummaryBy, spendBy, summariseDecisions } from './decision-summary.js';
import { sendError, sendJson } from './http.js';
import type { DecisionQuery, GatewayStore } from './store/store.js';

const MAX_LIMIT = 100_000;

/** Answers GET /v1/admin/summary or /v1/admin/decisions (the caller checked the admin key). */
export async function serveReport(req: IncomingMessage, res: ServerResponse, report: 'summary' | 'decisions', store: GatewayStore, headers: Record<string, string>): Promise<void> {
  const params = new URL(req.url ?? '', 'http://gateway').searchParams;
  const bad = (message: string): void => sendError(res, 400, 'invalid_request', message, headers);
  const known = report === 'summary' ? ['by', 'route', 'since', 'limit'] : ['route', 'since', 'limit'];
  const unknown = [...params.keys()].find((k) => !known.includes(k));
  if (unknown !== undefined) return bad(`${unknown}: unknown parameter (expected ${known.join(', ')})`);
  const parsed = parseSince(params.get('since') ?? undefined, 'since');
  if (!parsed.ok) return bad(parsed.message);
  const { since } = parsed;
  const limit = params.has('limit') ? Number(params.get('limit')) : report === 'summary' ? MAX_LIMIT : 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return bad(`limit: expected an integer from 1 to ${MAX_LIMIT}, got "${params.get('limit')}"`);
  const route = params.get('route');
  const query: DecisionQuery = { limit, ...(route ? { route } : {}), ...(since !== undefined ? { since } : {}) };
  if (report === 'decisions') return sendJson(res, 200, { object: 'list', data: await store.listDecisions(query) }, headers);
  const by = parseSummaryBy(params.get('by') ?? 'route');
  if (by === undefined) return bad(`by: expected route, key, model, user or tag:NAME, got "${params.get('by')}"`);
  const rows = await store.listDecisions(query);
  const label = typeof by === 'string' ? by : `tag:${by.tag}`;
  if (by === 'route') return sendJson(res, 200, { object: 'list', by: label, data: summariseDecisions(rows, await store.listFeedback(since)) }, headers);
  return sendJson(res, 200, { object: 'list', by: label, data: spendBy(rows, by) }, headers);
}
