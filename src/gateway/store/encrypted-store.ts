/**
 * A store that keeps user text encrypted (encryption.ts): the prompt of a decision and its tags'
 * values (end-user ids, metadata), the prompt of a learning event, and every expiring document (kept prompts, stored responses, cached answers) are
 * sealed on the way in and opened on the way out; everything else (ids, models, costs, counters,
 * router state) passes as it is, so budgets, limits and queries work unchanged. A value no
 * configured key can open reads as missing: a decision's prompt as null, an expiring document as
 * absent (a cache miss, a response not found), a learning event's prompt as empty (the event stays in
 * the log's order).
 */
import type { Cipher } from './encryption.js';
import type { DecisionQuery, DecisionRecord, ExpiringKind, FeedbackEvent, FeedbackRecord, GatewayStore, RateCounter, RouterSnapshot, SequencedEvent, StoredKey } from './store.js';

export class EncryptedStore implements GatewayStore {
  constructor(
    private readonly inner: GatewayStore,
    private readonly cipher: Cipher,
  ) {}

  get shared(): boolean {
    return this.inner.shared;
  }

  /** Tag values sealed or opened (an unreadable one reads as empty). */
  private tags(tags: Readonly<Record<string, string>>, f: (v: string) => string | undefined): Record<string, string> {
    return Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, f(v) ?? '']));
  }

  private opened(d: DecisionRecord): DecisionRecord {
    const open = (v: string): string | undefined => this.cipher.open(v);
    return { ...d, prompt: d.prompt === null ? null : (this.cipher.open(d.prompt) ?? null), ...(d.tags ? { tags: this.tags(d.tags, open) } : {}) };
  }

  recordDecision(d: DecisionRecord): Promise<void> {
    if (d.prompt === null && !d.tags) return this.inner.recordDecision(d);
    const seal = (v: string): string => this.cipher.seal(v);
    return this.inner.recordDecision({ ...d, prompt: d.prompt === null ? null : this.cipher.seal(d.prompt), ...(d.tags ? { tags: this.tags(d.tags, seal) } : {}) });
  }
  async getDecision(requestId: string): Promise<DecisionRecord | undefined> {
    const d = await this.inner.getDecision(requestId);
    return d && this.opened(d);
  }
  async listDecisions(q?: DecisionQuery): Promise<DecisionRecord[]> {
    return (await this.inner.listDecisions(q)).map((d) => this.opened(d));
  }
  appendFeedbackEvent(route: string, event: FeedbackEvent): Promise<number> {
    return this.inner.appendFeedbackEvent(route, { ...event, prompt: this.cipher.seal(event.prompt) });
  }
  async feedbackEventsAfter(route: string, after: number, limit: number): Promise<SequencedEvent[]> {
    // kept in the sequence (replicas apply the log in order): an unreadable prompt teaches as an empty one
    return (await this.inner.feedbackEventsAfter(route, after, limit)).map((e) => ({ seq: e.seq, event: { ...e.event, prompt: this.cipher.open(e.event.prompt) ?? '' } }));
  }
  putExpiring(kind: ExpiringKind, id: string, text: string, expiresAt: number): Promise<void> {
    return this.inner.putExpiring(kind, id, this.cipher.seal(text), expiresAt);
  }
  async getExpiring(kind: ExpiringKind, id: string): Promise<string | undefined> {
    const value = await this.inner.getExpiring(kind, id);
    return value === undefined ? undefined : this.cipher.open(value);
  }

  // no user text: passed through
  recordFeedback(requestId: string, score: number, time: number): Promise<void> {
    return this.inner.recordFeedback(requestId, score, time);
  }
  forget(before: number, spendBefore: number): Promise<number> {
    return this.inner.forget(before, spendBefore);
  }
  listFeedback(since?: number): Promise<FeedbackRecord[]> {
    return this.inner.listFeedback(since);
  }
  addSpend(keyId: string, usd: number, time: number, id?: string): Promise<void> {
    return this.inner.addSpend(keyId, usd, time, id);
  }
  countInWindow(counter: RateCounter, keyId: string, windowStart: number, amount?: number): Promise<number> {
    return this.inner.countInWindow(counter, keyId, windowStart, amount);
  }
  spend(keyId: string, since: number): Promise<number> {
    return this.inner.spend(keyId, since);
  }
  takeSlot(id: string, holder: string, limit: number, leaseMs: number): Promise<boolean> {
    return this.inner.takeSlot(id, holder, limit, leaseMs);
  }
  releaseSlot(id: string, holder: string): Promise<void> {
    return this.inner.releaseSlot(id, holder);
  }
  renewSlots(id: string, holders: readonly string[], leaseMs: number): Promise<void> {
    return this.inner.renewSlots(id, holders, leaseMs);
  }
  trimFeedbackEvents(route: string, upTo: number): Promise<void> {
    return this.inner.trimFeedbackEvents(route, upTo);
  }
  saveRouterState(route: string, snapshot: RouterSnapshot): Promise<void> {
    return this.inner.saveRouterState(route, snapshot);
  }
  loadRouterState(route: string): Promise<RouterSnapshot | undefined> {
    return this.inner.loadRouterState(route);
  }
  claimExpiring(kind: ExpiringKind, id: string, expiresAt: number): Promise<boolean> {
    return this.inner.claimExpiring(kind, id, expiresAt);
  }
  deleteExpiring(kind: ExpiringKind, id: string): Promise<boolean> {
    return this.inner.deleteExpiring(kind, id);
  }
  // API keys are kept as hashes, with their limits
  putKey(key: StoredKey, mode: 'create' | 'update'): Promise<boolean> {
    return this.inner.putKey(key, mode);
  }
  deleteKey(name: string): Promise<boolean> {
    return this.inner.deleteKey(name);
  }
  listKeys(): Promise<StoredKey[]> {
    return this.inner.listKeys();
  }
  ready(): Promise<void> {
    return this.inner.ready();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
