/** API keys (kept as sha256 hashes) and per-key budgets (USD per UTC day / month). */
import { createHash, randomBytes } from 'node:crypto';
import type { GatewayConfig } from './config.js';
import type { GatewayStore } from './store/store.js';

export type KeyConfig = GatewayConfig['auth']['keys'][number];

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export type AuthResult =
  | { readonly ok: true; readonly key: KeyConfig | null }
  | { readonly ok: false; readonly status: 401 | 429; readonly code: 'invalid_api_key' | 'budget_exceeded' | 'rate_limited'; readonly message: string; readonly retryAfterS?: number };

const MINUTE = 60_000;

export function startOfUtcDay(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

export function startOfUtcMonth(now: number): number {
  const d = new Date(now);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** A new random API key (32 random bytes): shown once to its user; only its hash is kept. */
export function newApiKey(): string {
  return `sk-sy-${randomBytes(32).toString('base64url')}`;
}

/** Each key list indexed by hash, once (key lists are replaced, never changed in place). */
const indexes = new WeakMap<readonly { readonly sha256: string }[], ReadonlyMap<string, { readonly sha256: string }>>();

/** The configured key a bearer header names (undefined: missing or unknown): one hash and one lookup. */
export function keyOf<K extends { readonly sha256: string }>(header: string | undefined, keys: readonly K[]): K | undefined {
  const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
  if (!token || keys.length === 0) return undefined;
  let index = indexes.get(keys);
  if (!index) indexes.set(keys, (index = new Map(keys.map((k) => [k.sha256, k]))));
  return index.get(hashKey(token)) as K | undefined;
}

/** May `key` name `model` (a route or a model)? A key without a `models` list may name any; no key (none configured) too. */
export function allowed(key: KeyConfig | null | undefined, model: string): boolean {
  return !key?.models || key.models.includes(model);
}

/** The 403 answer for a key that named a route or model outside its `models`. */
export function notAllowed(key: KeyConfig, model: string): { readonly status: 403; readonly code: 'model_not_allowed'; readonly message: string } {
  return { status: 403, code: 'model_not_allowed', message: `API key "${key.name}" may use ${(key.models ?? []).join(', ')}, not "${model}"` };
}

/** What a request without a configured key is told. */
export const UNKNOWN_KEY_MESSAGE = 'missing or unknown API key (Authorization: Bearer …)';

/** The configured key a bearer header names (null when no keys are configured), from the config alone. */
export function identify(header: string | undefined, keys: readonly KeyConfig[]): AuthResult {
  if (keys.length === 0) return { ok: true, key: null };
  const key = keyOf(header, keys);
  return key ? { ok: true, key } : { ok: false, status: 401, code: 'invalid_api_key', message: UNKNOWN_KEY_MESSAGE };
}

/** Checks the bearer key (when keys are configured), then its budgets and its request rate (in the store). */
export async function authorize(header: string | undefined, keys: readonly KeyConfig[], store: GatewayStore, now: number): Promise<AuthResult> {
  const identified = identify(header, keys);
  if (!identified.ok || !identified.key) return identified;
  const refused = await overLimits(identified.key.name, identified.key, `key "${identified.key.name}"`, store, now);
  return refused ?? identified;
}

/** Spend and request limits, per UTC day, month and minute. */
export interface Limits {
  readonly dailyBudgetUsd?: number | undefined;
  readonly monthlyBudgetUsd?: number | undefined;
  readonly requestsPerMinute?: number | undefined;
}

/**
 * The 429 answer when `id` (a key's name, or an end user's spend id) is over its budgets, or over
 * its request rate with this request (which it counts); undefined when it may go on. `who` names it
 * in the message.
 */
export async function overLimits(id: string, limits: Limits, who: string, store: GatewayStore, now: number, alsoSpentAs: readonly string[] = []): Promise<Extract<AuthResult, { ok: false }> | undefined> {
  // spend counted under earlier ids of the same payer (pseudonyms of rotated keys) counts too
  const spentSince = async (since: number): Promise<number> => (await Promise.all([id, ...alsoSpentAs].map((x) => store.spend(x, since)))).reduce((a, b) => a + b, 0);
  if (limits.dailyBudgetUsd !== undefined) {
    const spent = await spentSince(startOfUtcDay(now));
    if (spent >= limits.dailyBudgetUsd) return { ok: false, status: 429, code: 'budget_exceeded', message: `${who} spent $${spent.toFixed(6)} of its $${limits.dailyBudgetUsd} daily budget` };
  }
  if (limits.monthlyBudgetUsd !== undefined) {
    const spent = await spentSince(startOfUtcMonth(now));
    if (spent >= limits.monthlyBudgetUsd) return { ok: false, status: 429, code: 'budget_exceeded', message: `${who} spent $${spent.toFixed(6)} of its $${limits.monthlyBudgetUsd} monthly budget` };
  }
  if (limits.requestsPerMinute !== undefined) {
    const window = now - (now % MINUTE);
    const count = await store.countInWindow('requests', id, window);
    if (count > limits.requestsPerMinute) {
      return { ok: false, status: 429, code: 'rate_limited', message: `${who} sent ${count} requests this minute; its limit is ${limits.requestsPerMinute}`, retryAfterS: Math.max(1, Math.ceil((window + MINUTE - now) / 1000)) };
    }
  }
  return undefined;
}

/** Where an end user's spend and requests are counted: per API key (null: no keys configured) and user. */
export function endUserId(keyName: string | null, user: string): string {
  return `user:${keyName ?? '-'}:${user}`;
}

/**
 * A key's tokens per minute, counted when a request is admitted (as OpenAI's limits are): its prompt
 * tokens (cl100k) plus the completion tokens it may ask for (`max_completion_tokens` / `max_tokens`).
 * Undefined when the key may go on; a 429 answer when this request would take it over its limit.
 */
export async function admitTokens(key: KeyConfig | null, tokens: number, store: GatewayStore, now: number): Promise<Extract<AuthResult, { ok: false }> | undefined> {
  if (!key || key.tokensPerMinute === undefined) return undefined;
  const window = now - (now % MINUTE);
  const retryAfterS = Math.max(1, Math.ceil((window + MINUTE - now) / 1000));
  if (tokens > key.tokensPerMinute) return { ok: false, status: 429, code: 'rate_limited', message: `this request needs ~${tokens} tokens; key "${key.name}" may use ${key.tokensPerMinute} a minute`, retryAfterS };
  const used = await store.countInWindow('tokens', key.name, window, tokens);
  if (used > key.tokensPerMinute) {
    await store.countInWindow('tokens', key.name, window, -tokens); // a refused request uses nothing
    return { ok: false, status: 429, code: 'rate_limited', message: `key "${key.name}" used ~${used - tokens} of its ${key.tokensPerMinute} tokens this minute; this request needs ~${tokens}`, retryAfterS };
  }
  return undefined;
}
