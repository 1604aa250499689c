/**
 * Who may send a request, and how much: the bearer key, its budgets and rate limits (auth.ts, counted
 * in the store), and the routes and models it may name. While the store does not answer, budgets and
 * limits cannot be checked: the key alone is (`store.whenDown: serve`, the default), or the request is
 * refused with 503 `store_unavailable` (`refuse`, through the StoreUnavailableError it lets through).
 */
import type { ServerResponse } from 'node:http';
import { admitTokens, allowed, authorize, identify, keyOf, notAllowed, overLimits, startOfUtcDay, startOfUtcMonth, type AuthResult, type KeyConfig } from './auth.js';
import type { GatewayConfig } from './config.js';
import { sendError, sendJson } from './http.js';
import { StoreUnavailableError } from './store/resilient-store.js';
import type { GatewayStore } from './store/store.js';

/** A refusal's OpenAI-shaped answer: 401 or 429, with `retry-after` when waiting helps. */
export function sendRefusal(res: ServerResponse, refused: Extract<AuthResult, { ok: false }>, requestId: string): void {
  sendError(res, refused.status, refused.code, refused.message, { 'x-request-id': requestId, ...(refused.retryAfterS !== undefined ? { 'retry-after': String(refused.retryAfterS) } : {}) });
}

export class Admission {
  constructor(
    /** The config in force (keys change on reload). */
    private readonly config: () => GatewayConfig,
    private readonly store: GatewayStore,
    private readonly now: () => number,
    /** The keys in force: the config's and the admin API's (key-table.ts). */
    private readonly keys: () => readonly KeyConfig[],
    /**
     * Where an end user's spend and requests are counted (auth.ts `endUserId`, pseudonymous with an
     * encrypted store): the id now first, then those earlier encryption keys gave them (their spend counts too).
     */
    private readonly endUserIds: (key: string | null, user: string) => readonly string[],
  ) {}

  /** The API key a bearer header names: its name, null when no keys are configured, undefined when missing or unknown. */
  readonly keyName = (authorization: string | undefined): string | null | undefined => {
    const keys = this.keys();
    return keys.length === 0 ? null : keyOf(authorization, keys)?.name;
  };

  /** A store that does not answer: rethrown (503) unless `store.whenDown` is `serve`. */
  private serveWhenDown(e: unknown): void {
    if (!(e instanceof StoreUnavailableError) || this.config().store.whenDown === 'refuse') throw e;
  }

  /** The bearer key, its budgets and its request rate. */
  async authorize(header: string | undefined): Promise<AuthResult> {
    try {
      return await authorize(header, this.keys(), this.store, this.now());
    } catch (e) {
      this.serveWhenDown(e);
      return identify(header, this.keys());
    }
  }

  /** Refuses (403) a key naming a route or model outside its `models`; true when refused. */
  refuseModel(res: ServerResponse, key: KeyConfig | null, model: string, requestId: string): boolean {
    if (!key || allowed(key, model)) return false;
    const refused = notAllowed(key, model);
    sendError(res, refused.status, refused.code, refused.message, { 'x-request-id': requestId });
    return true;
  }

  /** Refuses (429) a request of an end user (`auth.endUsers`) over their budget or request rate; true when refused. */
  async refuseEndUser(res: ServerResponse, key: KeyConfig | null, user: string | undefined, requestId: string): Promise<boolean> {
    const limits = this.config().auth.endUsers;
    if (!limits || user === undefined) return false;
    const who = `end user "${user}"${key ? ` of key "${key.name}"` : ''}`;
    const [id, ...earlier] = this.endUserIds(key?.name ?? null, user) as [string, ...string[]];
    const refused = await overLimits(id, limits, who, this.store, this.now(), earlier).catch((e: unknown) => void this.serveWhenDown(e));
    if (refused) sendRefusal(res, refused, requestId);
    return refused !== undefined;
  }

  /** Refuses (429, retry-after) a request that would take its key over its tokens per minute; true when refused. */
  async refuseTokens(res: ServerResponse, key: KeyConfig, tokens: number, requestId: string): Promise<boolean> {
    const refused = await admitTokens(key, tokens, this.store, this.now()).catch((e: unknown) => void this.serveWhenDown(e)); // down and serving: not counted
    if (refused) sendRefusal(res, refused, requestId);
    return refused !== undefined;
  }

  /**
   * GET /v1/usage: what the calling key spent this UTC day and month against its budgets, and its
   * limits — answered even when a budget is spent (it does not count as a request). Without
   * configured keys there is nothing per key to report. A store that does not answer: 503.
   */
  async usage(res: ServerResponse, header: string | undefined, requestId: string): Promise<void> {
    const who = identify(header, this.keys());
    if (!who.ok) return sendError(res, who.status, who.code, who.message, { 'x-request-id': requestId });
    const key = who.key;
    if (!key) return sendJson(res, 200, { object: 'switchyard.usage', key: null, note: 'no API keys are configured: spend is tracked per key' }, { 'x-request-id': requestId });
    const now = this.now();
    const period = async (start: number, budget: number | undefined): Promise<Record<string, unknown>> => {
      const spent = await this.store.spend(key.name, start);
      return { start: new Date(start).toISOString(), spent_usd: spent, budget_usd: budget ?? null, remaining_usd: budget === undefined ? null : Math.max(0, budget - spent) };
    };
    const [day, month] = [await period(startOfUtcDay(now), key.dailyBudgetUsd), await period(startOfUtcMonth(now), key.monthlyBudgetUsd)];
    sendJson(res, 200, {
      object: 'switchyard.usage',
      key: key.name,
      day,
      month,
      limits: { requests_per_minute: key.requestsPerMinute ?? null, tokens_per_minute: key.tokensPerMinute ?? null },
      models: key.models ?? null,
    }, { 'x-request-id': requestId });
  }
}
