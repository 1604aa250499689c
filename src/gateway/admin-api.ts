/**
 * The admin API: API keys made, changed, rotated and revoked at run time, without editing the config
 * or a reload. Kept in the store (shared by replicas on Redis; key-table.ts reads them again every
 * `store.syncMs`), as hashes: a key is shown once, when made or rotated. On only when the config has
 * `auth.adminKeys`; those keys call these endpoints and nothing else (`role: read` ones only GET them).
 *
 *   GET    /v1/admin/keys               every key (config and admin-made), limits and spend this UTC day / month
 *   POST   /v1/admin/keys               {name, daily_budget_usd?, monthly_budget_usd?, requests_per_minute?, tokens_per_minute?, min_lambda?, models?} → 201 with `key`
 *   GET    /v1/admin/keys/{name}        one key
 *   PATCH  /v1/admin/keys/{name}        changes limits (null removes one)
 *   POST   /v1/admin/keys/{name}/rotate a new secret for the same name (spend history kept); the old one stops working
 *   DELETE /v1/admin/keys/{name}        revokes it
 *   POST   /v1/admin/reload             reads the config file again and applies it, as SIGHUP does
 *   GET    /v1/admin/models             each model's state in this process: circuits, calls in flight, minute limits, recent first-byte times, slowness (model-status.ts)
 * Config keys are listed, and changed only in the config file (409 `key_in_config`). The decision
 * log's reports (`/v1/admin/summary`, `/v1/admin/decisions`) are in admin-reports.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { hashKey, keyOf, newApiKey, startOfUtcDay, startOfUtcMonth, type KeyConfig } from './auth.js';
import { decodeSegment, parseJsonBody, readBody, sendError, sendJson } from './http.js';
import { serveReport } from './admin-reports.js';
import type { KeyTable } from './key-table.js';
import type { ReloadResult } from './server.js';
import type { GatewayStore, StoredKey } from './store/store.js';

const NAME = /^[\w.-]{1,64}$/;
const limits = {
  daily_budget_usd: z.number().positive(),
  monthly_budget_usd: z.number().positive(),
  requests_per_minute: z.number().int().positive(),
  tokens_per_minute: z.number().int().positive(),
  min_lambda: z.number().min(0).max(1),
  models: z.array(z.string().min(1)).min(1),
};

export const CreateKeySchema = z.strictObject({
  name: z.string().regex(NAME, "letters, digits, '_', '.' and '-' only (1 to 64)"),
  daily_budget_usd: limits.daily_budget_usd.optional(),
  monthly_budget_usd: limits.monthly_budget_usd.optional(),
  requests_per_minute: limits.requests_per_minute.optional(),
  tokens_per_minute: limits.tokens_per_minute.optional(),
  min_lambda: limits.min_lambda.optional(),
  models: limits.models.optional(),
});
export type CreateKeyRequest = z.infer<typeof CreateKeySchema>;

/** A change of limits: a field left out stays, null removes the limit. */
export const UpdateKeySchema = z.strictObject({
  daily_budget_usd: limits.daily_budget_usd.nullable().optional(),
  monthly_budget_usd: limits.monthly_budget_usd.nullable().optional(),
  requests_per_minute: limits.requests_per_minute.nullable().optional(),
  tokens_per_minute: limits.tokens_per_minute.nullable().optional(),
  min_lambda: limits.min_lambda.nullable().optional(),
  models: limits.models.nullable().optional(),
});
export type UpdateKeyRequest = z.infer<typeof UpdateKeySchema>;

export interface AdminDeps {
  /** `role: read` keys may only GET. */
  readonly adminKeys: readonly { readonly name: string; readonly sha256: string; readonly role: 'manage' | 'read' }[];
  readonly keys: KeyTable;
  readonly store: GatewayStore;
  readonly now: () => number;
  /** The routes and models a key's `models` may name. */
  readonly known: (id: string) => boolean;
  readonly bodyLimitBytes: number;
  readonly requestId: string;
  /** An audit line: what was done to which key (or the config), by which admin key (never a secret). */
  readonly audit: (action: 'create' | 'update' | 'rotate' | 'delete' | 'reload', name: string, admin: string) => void;
  /** Reads the config file again and applies it (as SIGHUP does); undefined when the gateway has no file. */
  readonly reload?: (() => Promise<ReloadResult>) | undefined;
  /** Each model's state in this process now (model-status.ts). */
  readonly modelStatus: () => Record<string, unknown>;
}

const FIELDS = [
  ['daily_budget_usd', 'dailyBudgetUsd'],
  ['monthly_budget_usd', 'monthlyBudgetUsd'],
  ['requests_per_minute', 'requestsPerMinute'],
  ['tokens_per_minute', 'tokensPerMinute'],
  ['min_lambda', 'minLambda'],
  ['models', 'models'],
] as const;

/** A key's limits with a change applied (`undefined`: kept; `null`: removed). */
function withLimits(key: StoredKey, change: CreateKeyRequest | UpdateKeyRequest): StoredKey {
  const out: Record<string, unknown> = { name: key.name, sha256: key.sha256, createdAt: key.createdAt };
  for (const [wire, field] of FIELDS) {
    const next = change[wire];
    const value = next === undefined ? key[field] : next;
    if (value !== null && value !== undefined) out[field] = value;
  }
  return out as unknown as StoredKey;
}

/** What the admin API shows of a key: its limits and spend, never its hash. */
async function view(key: KeyConfig | StoredKey, source: 'config' | 'admin', store: GatewayStore, now: number): Promise<Record<string, unknown>> {
  const [day, month] = [await store.spend(key.name, startOfUtcDay(now)), await store.spend(key.name, startOfUtcMonth(now))];
  return {
    object: 'switchyard.api_key',
    name: key.name,
    source,
    created_at: 'createdAt' in key ? new Date(key.createdAt).toISOString() : null,
    daily_budget_usd: key.dailyBudgetUsd ?? null,
    monthly_budget_usd: key.monthlyBudgetUsd ?? null,
    requests_per_minute: key.requestsPerMinute ?? null,
    tokens_per_minute: key.tokensPerMinute ?? null,
    min_lambda: key.minLambda ?? null,
    models: key.models ?? null,
    spend: { day_usd: day, month_usd: month },
  };
}

/** Answers one request under /v1/admin/. */
export async function serveAdmin(req: IncomingMessage, res: ServerResponse, path: string, deps: AdminDeps): Promise<void> {
  const headers = { 'x-request-id': deps.requestId };
  if (deps.adminKeys.length === 0) return sendError(res, 404, 'not_found', 'the admin API is off: configure auth.adminKeys to turn it on', headers);
  const admin = keyOf(req.headers.authorization, deps.adminKeys);
  if (!admin) return sendError(res, 401, 'invalid_api_key', 'missing or unknown admin key (Authorization: Bearer …, one of auth.adminKeys)', headers);
  if (admin.role === 'read' && req.method !== 'GET') return sendError(res, 403, 'admin_read_only', `admin key "${admin.name}" has role read: it may only read (GET)`, headers);
  const noEndpoint = (): void => sendError(res, 404, 'not_found', `no admin endpoint ${req.method} ${path}`, headers);
  if (path === '/v1/admin/reload') return req.method === 'POST' ? reloadConfig(res, admin.name, deps, headers) : noEndpoint();
  if (path === '/v1/admin/models') return req.method === 'GET' ? sendJson(res, 200, deps.modelStatus(), headers) : noEndpoint();
  if (path === '/v1/admin/summary' || path === '/v1/admin/decisions') {
    return req.method === 'GET' ? serveReport(req, res, path === '/v1/admin/summary' ? 'summary' : 'decisions', deps.store, headers) : noEndpoint();
  }
  const m = /^\/v1\/admin\/keys(?:\/([^/]+)(\/rotate)?)?$/.exec(path);
  if (!m) return noEndpoint();
  const name = m[1] === undefined ? undefined : decodeSegment(m[1]);
  const rotate = m[2] !== undefined;
  const { store, keys, now } = deps;
  await keys.refresh(); // the newest, should another replica have changed them
  const body = async <T>(schema: z.ZodType<T>): Promise<T | undefined> => {
    const text = await readBody(req, deps.bodyLimitBytes);
    if (text === undefined) return void sendError(res, 413, 'invalid_request', `request body over ${deps.bodyLimitBytes} bytes`, headers);
    return parseJsonBody(res, text, schema, headers);
  };
  const unknownModel = (models: readonly string[] | null | undefined): boolean => {
    const k = (models ?? []).findIndex((id) => !deps.known(id));
    if (k < 0) return false;
    sendError(res, 400, 'invalid_request', `models.${k}: "${(models ?? [])[k]}" is neither a route nor a configured model`, headers);
    return true;
  };

  if (name === undefined) {
    if (req.method === 'GET') {
      const data = await Promise.all(
        keys.keys().map((k) => {
          const made = keys.inConfig(k.name) ? undefined : keys.stored().find((s) => s.name === k.name);
          return view(made ?? k, made ? 'admin' : 'config', store, now());
        }),
      );
      return sendJson(res, 200, { object: 'list', data }, headers);
    }
    if (req.method !== 'POST') return noEndpoint();
    const made = await body(CreateKeySchema);
    if (!made || unknownModel(made.models)) return;
    if (keys.inConfig(made.name)) return sendError(res, 409, 'key_exists', `a key named "${made.name}" is in the config file`, headers);
    const secret = newApiKey();
    const key = withLimits({ name: made.name, sha256: hashKey(secret), createdAt: now() }, made);
    if (!(await store.putKey(key, 'create'))) return sendError(res, 409, 'key_exists', `a key named "${made.name}" exists (rotate it, or delete it first)`, headers);
    await keys.refresh();
    deps.audit('create', key.name, admin.name);
    return sendJson(res, 201, { ...(await view(key, 'admin', store, now())), key: secret }, headers);
  }

  const stored = keys.stored().find((k) => k.name === name);
  if (keys.inConfig(name)) {
    const key = keys.keys().find((k) => k.name === name) as KeyConfig;
    if (req.method === 'GET' && !rotate) return sendJson(res, 200, await view(key, 'config', store, now()), headers);
    return sendError(res, 409, 'key_in_config', `key "${name}" is in the config file: change it there (SIGHUP reloads it)`, headers);
  }
  if (!stored) return sendError(res, 404, 'key_not_found', `no API key named "${name}"`, headers);
  if (rotate) {
    if (req.method !== 'POST') return noEndpoint();
    const secret = newApiKey();
    const key = { ...stored, sha256: hashKey(secret) };
    if (!(await store.putKey(key, 'update'))) return sendError(res, 404, 'key_not_found', `no API key named "${name}"`, headers);
    await keys.refresh();
    deps.audit('rotate', name, admin.name);
    return sendJson(res, 200, { ...(await view(key, 'admin', store, now())), key: secret }, headers);
  }
  if (req.method === 'GET') return sendJson(res, 200, await view(stored, 'admin', store, now()), headers);
  if (req.method === 'PATCH') {
    const change = await body(UpdateKeySchema);
    if (!change || unknownModel(change.models)) return;
    const key = withLimits(stored, change);
    if (!(await store.putKey(key, 'update'))) return sendError(res, 404, 'key_not_found', `no API key named "${name}"`, headers);
    await keys.refresh();
    deps.audit('update', name, admin.name);
    return sendJson(res, 200, await view(key, 'admin', store, now()), headers);
  }
  if (req.method === 'DELETE') {
    const deleted = await store.deleteKey(name);
    await keys.refresh();
    if (!deleted) return sendError(res, 404, 'key_not_found', `no API key named "${name}"`, headers);
    deps.audit('delete', name, admin.name);
    return sendJson(res, 200, { object: 'switchyard.api_key.deleted', name, deleted: true }, headers);
  }
  return noEndpoint();
}

/** POST /v1/admin/reload: the config file applied again (what changed), or 400 `config_invalid` with every problem — the running config stays. */
async function reloadConfig(res: ServerResponse, admin: string, deps: AdminDeps, headers: Record<string, string>): Promise<void> {
  if (!deps.reload) return sendError(res, 404, 'not_found', 'this gateway was not started from a config file: nothing to reload', headers);
  try {
    const r = await deps.reload();
    deps.audit('reload', '-', admin);
    return sendJson(res, 200, { object: 'switchyard.reload', routes: r.routes, models: r.models, needs_restart: r.ignored, tls_reloaded: r.tlsReloaded }, headers);
  } catch (e) {
    return sendError(res, 400, 'config_invalid', `the config was not applied (the running one stays): ${(e as Error).message}`, headers);
  }
}
