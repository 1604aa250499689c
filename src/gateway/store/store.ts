/**
 * Everything the gateway must not lose, behind one interface: the decision log, feedback, spend per
 * API key, and learned router state. SQLite (WAL) is the embedded default (one process); Redis is
 * shared by several replicas (docs/gateway.md, "State and replicas").
 *
 * Online learning is an ordered log per route: every feedback that updates a router is appended
 * as an event with a sequence number, every replica applies the events it has not applied yet in
 * that order, and a snapshot (router artifact + the last sequence number in it) lets a restart or
 * a new replica start from the snapshot and replay only the events after it.
 */
import type { CandidateEstimate } from '../../spec/router.js';

export interface DecisionRecord {
  readonly requestId: string;
  /** Unix milliseconds. */
  readonly time: number;
  readonly route: string;
  readonly keyId: string | null;
  readonly lambda: number;
  /** The router's choice, and the model that answered (differs after a fallback). */
  readonly chosen: string;
  readonly answered: string | null;
  readonly reason: string;
  readonly candidates: readonly CandidateEstimate[];
  readonly costUsd: number;
  readonly latencyMs: number;
  readonly status: number;
  /** The prompt text only when the store keeps prompts (off by default). */
  readonly prompt: string | null;
  /**
   * Who and what the request was for, to split spend by (`decisions --summary --by user|tag:NAME`):
   * the request's `user`, its `metadata`, and the `x-switchyard-tags` header (tags.ts).
   */
  readonly tags?: Readonly<Record<string, string>>;
  /** What the route's shadow router (`routes.X.shadow`) would have chosen, with its own predictions. */
  readonly shadow?: ShadowChoice;
  /** The route's canary router (`routes.X.canary`) decided this request (absent: the live router did). */
  readonly canary?: boolean;
}

export interface ShadowChoice {
  readonly model: string;
  readonly quality?: number;
  readonly cost?: number;
}

/** A score received through POST /v1/feedback. */
export interface FeedbackRecord {
  readonly requestId: string;
  readonly score: number;
  /** Unix milliseconds. */
  readonly time: number;
}

export interface DecisionQuery {
  readonly limit?: number;
  readonly route?: string;
  readonly since?: number;
}

/** An observed outcome that updates an online router (the prompt is needed by contextual bandits). */
export interface FeedbackEvent {
  readonly prompt: string;
  readonly model: string;
  readonly score: number;
  readonly costUsd: number;
}

export interface SequencedEvent {
  readonly seq: number;
  readonly event: FeedbackEvent;
}

export interface RouterSnapshot {
  readonly artifactJson: string;
  /** The last feedback event applied in this snapshot (0 = none). */
  readonly seq: number;
}

/**
 * What expiring documents are kept for: `prompt`, a served prompt, so feedback reaching another
 * replica can still teach a router; `response`, a stored Responses API response (for
 * `previous_response_id` and `GET /v1/responses/{id}`); `cache`, a cached chat completion
 * (completion-cache.ts).
 */
/** Kinds of expiring documents: kept prompts, stored responses, cached answers, markers (`claimExpiring`: feedback already learned from) and conversations' models (affinity.ts). */
export type ExpiringKind = 'prompt' | 'response' | 'cache' | 'learned' | 'affinity';

/**
 * An API key made through the admin API (`/v1/admin/keys`; the config's keys stay in the config):
 * its sha256 and limits, never the key itself. The same fields as a config key (`auth.keys[]`).
 */
export interface StoredKey {
  readonly name: string;
  readonly sha256: string;
  readonly dailyBudgetUsd?: number;
  readonly monthlyBudgetUsd?: number;
  readonly requestsPerMinute?: number;
  readonly tokensPerMinute?: number;
  readonly minLambda?: number;
  readonly models?: readonly string[];
  /** Unix milliseconds. */
  readonly createdAt: number;
}

/** What per-key rate limits count. */
/** Spend is kept at least this long, whatever `store.retentionDays`: monthly budgets sum a month of it. */
export const SPEND_KEEP_MS = 40 * 24 * 3600_000;

/** What a minute counter counts: a key's (or end user's) requests or tokens, or a model deployment's share of its limits (`model`; minute-limit.ts). */
export type RateCounter = 'requests' | 'tokens' | 'model';

export interface GatewayStore {
  /** True when several gateway processes share it (Redis): the gateway then syncs learning between them. */
  readonly shared: boolean;
  recordDecision(d: DecisionRecord): Promise<void>;
  getDecision(requestId: string): Promise<DecisionRecord | undefined>;
  listDecisions(q?: DecisionQuery): Promise<DecisionRecord[]>;
  /** Records a score; the same score for the same request at the same time is kept once. */
  recordFeedback(requestId: string, score: number, time: number): Promise<void>;
  /** Feedback received since `since` (unix ms; default all), oldest first. */
  listFeedback(since?: number): Promise<FeedbackRecord[]>;
  /**
   * Retention: deletes decisions and feedback from before `before`, and spend from before
   * `spendBefore` (unix ms); resolves with the number of decisions deleted. The gateway calls it
   * hourly with `store.retentionDays`.
   */
  forget(before: number, spendBefore: number): Promise<number>;
  /** Adds spend; with an `id` (the request's), written again it counts once (a record replayed after a crash). */
  addSpend(keyId: string, usd: number, time: number, id?: string): Promise<void>;
  /**
   * Adds `amount` to a key's counter (`requests` or `tokens`) in the rate-limit window starting at
   * `windowStart` (unix ms); returns the window's total so far.
   */
  countInWindow(counter: RateCounter, keyId: string, windowStart: number, amount?: number): Promise<number>;
  /**
   * Takes one of `limit` slots of `id` (a model deployment's `maxInFlight`, shared by replicas) for
   * `holder`, for `leaseMs`: true when fewer than `limit` unexpired holders had one — atomic, so the
   * replicas together never hold more. A holder taking its slot again renews it. Expiry is on the
   * store's clock, so a replica that dies holding slots frees them after `leaseMs`.
   */
  takeSlot(id: string, holder: string, limit: number, leaseMs: number): Promise<boolean>;
  /** Gives back `holder`'s slot of `id` (nothing when it has none). */
  releaseSlot(id: string, holder: string): Promise<void>;
  /** Extends the slots of `id` that `holders` still hold to `leaseMs` from now (a slot already expired is not taken again). */
  renewSlots(id: string, holders: readonly string[], leaseMs: number): Promise<void>;
  /** USD spent by a key since `since` (unix ms). */
  spend(keyId: string, since: number): Promise<number>;
  /** Appends a feedback event to the route's log; returns its sequence number (1, 2, …). */
  appendFeedbackEvent(route: string, event: FeedbackEvent): Promise<number>;
  /** Events with seq > after, in order (at most `limit`). */
  feedbackEventsAfter(route: string, after: number, limit: number): Promise<SequencedEvent[]>;
  /** Drops the route's events with seq ≤ upTo (they are in a snapshot). */
  trimFeedbackEvents(route: string, upTo: number): Promise<void>;
  /** Saves a snapshot unless one with a later seq is already there. */
  saveRouterState(route: string, snapshot: RouterSnapshot): Promise<void>;
  loadRouterState(route: string): Promise<RouterSnapshot | undefined>;
  /** Keeps a document of `kind` under `id` until `expiresAt` (unix ms), replacing one there. */
  putExpiring(kind: ExpiringKind, id: string, text: string, expiresAt: number): Promise<void>;
  /** The document, unless it expired or was deleted. */
  getExpiring(kind: ExpiringKind, id: string): Promise<string | undefined>;
  /** Deletes it; true when there was one (not expired). */
  deleteExpiring(kind: ExpiringKind, id: string): Promise<boolean>;
  /** Keeps an empty document of `kind` under `id` until `expiresAt` unless one is there: true for the one caller that put it (atomic across replicas). */
  claimExpiring(kind: ExpiringKind, id: string, expiresAt: number): Promise<boolean>;
  /**
   * Keeps an admin-made API key: `create` only when no stored key has its name (atomic, so two
   * replicas cannot both make one), `update` only when one does; false when that did not hold.
   */
  putKey(key: StoredKey, mode: 'create' | 'update'): Promise<boolean>;
  /** Deletes the stored key of that name; true when there was one. */
  deleteKey(name: string): Promise<boolean>;
  /** Every stored key, by name. */
  listKeys(): Promise<StoredKey[]>;
  /** Resolves when the store answers (SQLite: a query; Redis: PING); rejects with why not. */
  ready(): Promise<void>;
  close(): Promise<void>;
}
