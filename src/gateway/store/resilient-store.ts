/**
 * The gateway's store with outages taken into account (a Redis restart, a failover, a network blip):
 * a write of what happened — a decision, spend, feedback received, a prompt or response kept — that
 * fails is kept in order in memory (up to `maxPending`) and written again every `retryMs` until the
 * store takes it, so an answer the client already paid for is never turned into an error and nothing
 * recorded is lost while the outage lasts. Reads, and writes whose result the caller needs (rate
 * counters, the learning log), fail with `StoreUnavailableError`, which the gateway answers with 503
 * `store_unavailable` (or, for budgets and rate limits, serves anyway: `store.whenDown`). After a
 * failure the store counts as down — reads fail at once and writes queue, so an outage adds no
 * latency — until a retry every `retryMs` (the queued writes, or a ping) finds it answering again.
 * Writes still queued when the gateway stops go to the outbox file (outbox.ts) and are written to the
 * store at the next start; while any are queued they are also in this process's journal, so a
 * process killed during the outage leaves them for the next start too.
 */
import { existsSync, unlinkSync } from 'node:fs';
import type { Cipher } from './encryption.js';
import { appendFacts, applyFact, claim, journalPath, markJournal, orphanJournals, spill, type Fact } from './outbox.js';
import type { DecisionQuery, DecisionRecord, ExpiringKind, FeedbackEvent, FeedbackRecord, GatewayStore, RateCounter, RouterSnapshot, SequencedEvent, StoredKey } from './store.js';

export class StoreUnavailableError extends Error {
  constructor(operation: string, cause: unknown) {
    super(`the store did not answer (${operation}): ${(cause as Error)?.message ?? String(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

export interface ResilienceHooks {
  /** A store operation failed (counted in switchyard_store_errors_total). */
  readonly onError: (operation: string, error: unknown) => void;
  /** Writes waiting for the store (switchyard_store_pending_writes). */
  readonly onPending: (count: number) => void;
  readonly maxPending?: number;
  readonly retryMs?: number;
  /** Where writes still queued at close are kept for the next start (none: they are lost with the process). */
  readonly outbox?: string;
  /** Seals the outbox's lines (store.encryption). */
  readonly cipher?: Cipher;
  /**
   * An operation of the store not settled within this many ms counts as failed (and is retried, as
   * writes are, by replaying it: every write is idempotent). A backstop for clients that can leave a
   * command waiting for good — ioredis's Cluster does while a master is away — which would otherwise
   * hold the write queue, and every later record, forever. None: no deadline (SQLite answers at once).
   */
  readonly deadlineMs?: number;
}

export class ResilientStore implements GatewayStore {
  private readonly pending: Fact[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private closed = false;
  /** A store operation failed and no retry has succeeded since. */
  private down = false;
  /** Writes dropped because the queue was full (oldest first). */
  dropped = 0;
  /** Writes left in the outbox file at close. */
  spilled = 0;
  /** This process's journal (with an outbox): the queued writes, on disk as they are queued. */
  private readonly journal: string | undefined;
  /** The journal's line of `pending[0]`, and its lines so far. */
  private journalBase = 0;
  private journalLines = 0;
  /** A journal write failed: no more lines or marks until the queue is empty (a restart may then write some records again, which count once, and never loses them). */
  private journalOff = false;

  constructor(
    readonly inner: GatewayStore,
    private readonly hooks: ResilienceHooks,
  ) {
    this.journal = hooks.outbox === undefined ? undefined : journalPath(hooks.outbox);
  }

  /** Queues writes, journaled first (a journal that cannot be written is reported, and the writes still queue). */
  private enqueue(facts: readonly Fact[]): void {
    if (this.journal && !this.journalOff && facts.length > 0) {
      try {
        appendFacts(this.journal, facts, this.hooks.cipher);
        this.journalLines += facts.length;
      } catch (e) {
        this.journalOff = true; // its lines would no longer match the queue
        this.hooks.onError('journal', e);
      }
    }
    this.pending.push(...facts);
  }

  /** The queue's head was written (or dropped): the journal says so; an empty queue needs no journal. */
  private advanceJournal(): void {
    if (!this.journal || (this.journalLines === 0 && !this.journalOff)) return;
    try {
      if (this.pending.length === 0) {
        if (existsSync(this.journal)) unlinkSync(this.journal);
        this.journalBase = this.journalLines = 0;
        this.journalOff = false;
      } else if (!this.journalOff) markJournal(this.journal, ++this.journalBase);
    } catch (e) {
      this.journalOff = true;
      this.hooks.onError('journal', e);
    }
  }

  get shared(): boolean {
    return this.inner.shared;
  }

  get pendingWrites(): number {
    return this.pending.length;
  }

  /** A write of a fact: done now if the store answers (and nothing is queued before it), else queued. */
  private async keep(fact: Fact): Promise<void> {
    if (this.pending.length === 0 && !this.down) {
      try {
        await this.within(applyFact(this.inner, fact));
        return;
      } catch (e) {
        this.failed(fact.op, e);
      }
    }
    this.enqueue([fact]);
    if (this.pending.length > (this.hooks.maxPending ?? 100_000)) {
      this.pending.shift();
      this.dropped++;
      this.advanceJournal();
    }
    this.hooks.onPending(this.pending.length);
    this.schedule();
  }

  /** `p`, or a rejection once `hooks.deadlineMs` pass without it settling. */
  private within<T>(p: Promise<T>): Promise<T> {
    const ms = this.hooks.deadlineMs;
    if (ms === undefined) return p;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the store did not answer within ${ms} ms`)), ms)));
    return Promise.race([p, late]).finally(() => clearTimeout(timer));
  }

  private failed(operation: string, e: unknown): void {
    this.hooks.onError(operation, e);
    this.down = true;
    this.schedule();
  }

  /** While down: every `retryMs`, the queued writes, or a ping when none is queued. */
  private schedule(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.pending.length > 0) return void this.flush();
      this.within(this.inner.ready()).then(
        () => void (this.down = false),
        (e: unknown) => this.failed('ready', e),
      );
    }, this.hooks.retryMs ?? 1000);
    this.timer.unref();
  }

  /** Writes what is queued, in order, while the store answers; resolves when done or when it fails again. */
  flush(): Promise<void> {
    this.flushing ??= (async () => {
      try {
        while (this.pending.length > 0) {
          const head = this.pending[0] as Fact;
          try {
            await this.within(applyFact(this.inner, head));
          } catch (e) {
            this.failed(head.op, e);
            return;
          }
          this.pending.shift();
          this.advanceJournal();
          this.hooks.onPending(this.pending.length);
        }
        this.down = false;
      } finally {
        this.flushing = undefined;
      }
    })();
    return this.flushing;
  }

  /** A read (or a write whose answer the caller needs): a failure is a StoreUnavailableError. */
  private async ask<T>(operation: string, read: () => Promise<T>): Promise<T> {
    if (this.down) throw new StoreUnavailableError(operation, new Error('it failed recently; retried in the background'));
    try {
      if (this.pending.length > 0) await this.flush(); // read what was written
      return await this.within(read());
    } catch (e) {
      this.failed(operation, e);
      throw new StoreUnavailableError(operation, e);
    }
  }

  recordDecision(decision: DecisionRecord): Promise<void> {
    return this.keep({ op: 'recordDecision', decision });
  }
  addSpend(keyId: string, usd: number, time: number, id?: string): Promise<void> {
    return this.keep({ op: 'addSpend', keyId, usd, time, ...(id === undefined ? {} : { id }) });
  }
  recordFeedback(requestId: string, score: number, time: number): Promise<void> {
    return this.keep({ op: 'recordFeedback', requestId, score, time });
  }
  putExpiring(kind: ExpiringKind, id: string, text: string, expiresAt: number): Promise<void> {
    return this.keep({ op: 'putExpiring', kind, id, text, expiresAt });
  }

  /**
   * Takes the records a previous process left in the outbox and writes them (queued first, in order);
   * returns how many, and how many lines were not valid records.
   */
  restore(): { readonly restored: number; readonly invalid: number } {
    const outbox = this.hooks.outbox;
    if (outbox === undefined) return { restored: 0, invalid: 0 };
    // the outbox of a graceful stop, then the journals of processes killed during an outage
    const found = [outbox, ...orphanJournals(outbox)].map((file) => claim(file, Date.now(), this.hooks.cipher)).filter((c) => c !== undefined);
    const facts = found.flatMap((c) => c.facts);
    const invalid = found.reduce((n, c) => n + c.invalid, 0);
    if (facts.length === 0) return { restored: 0, invalid };
    this.enqueue(facts); // held by this process now: journaled again until written
    this.hooks.onPending(this.pending.length);
    void this.flush().catch(() => undefined);
    return { restored: facts.length, invalid };
  }
  getDecision(requestId: string): Promise<DecisionRecord | undefined> {
    return this.ask('getDecision', () => this.inner.getDecision(requestId));
  }
  listDecisions(q?: DecisionQuery): Promise<DecisionRecord[]> {
    return this.ask('listDecisions', () => this.inner.listDecisions(q));
  }
  forget(before: number, spendBefore: number): Promise<number> {
    return this.ask('forget', () => this.inner.forget(before, spendBefore));
  }
  listFeedback(since?: number): Promise<FeedbackRecord[]> {
    return this.ask('listFeedback', () => this.inner.listFeedback(since));
  }
  countInWindow(counter: RateCounter, keyId: string, windowStart: number, amount?: number): Promise<number> {
    return this.ask('countInWindow', () => this.inner.countInWindow(counter, keyId, windowStart, amount));
  }
  spend(keyId: string, since: number): Promise<number> {
    return this.ask('spend', () => this.inner.spend(keyId, since));
  }
  takeSlot(id: string, holder: string, limit: number, leaseMs: number): Promise<boolean> {
    return this.ask('takeSlot', () => this.inner.takeSlot(id, holder, limit, leaseMs));
  }
  releaseSlot(id: string, holder: string): Promise<void> {
    return this.ask('releaseSlot', () => this.inner.releaseSlot(id, holder));
  }
  renewSlots(id: string, holders: readonly string[], leaseMs: number): Promise<void> {
    return this.ask('renewSlots', () => this.inner.renewSlots(id, holders, leaseMs));
  }
  appendFeedbackEvent(route: string, event: FeedbackEvent): Promise<number> {
    return this.ask('appendFeedbackEvent', () => this.inner.appendFeedbackEvent(route, event));
  }
  feedbackEventsAfter(route: string, after: number, limit: number): Promise<SequencedEvent[]> {
    return this.ask('feedbackEventsAfter', () => this.inner.feedbackEventsAfter(route, after, limit));
  }
  trimFeedbackEvents(route: string, upTo: number): Promise<void> {
    return this.ask('trimFeedbackEvents', () => this.inner.trimFeedbackEvents(route, upTo));
  }
  saveRouterState(route: string, snapshot: RouterSnapshot): Promise<void> {
    return this.ask('saveRouterState', () => this.inner.saveRouterState(route, snapshot));
  }
  loadRouterState(route: string): Promise<RouterSnapshot | undefined> {
    return this.ask('loadRouterState', () => this.inner.loadRouterState(route));
  }
  getExpiring(kind: ExpiringKind, id: string): Promise<string | undefined> {
    return this.ask('getExpiring', () => this.inner.getExpiring(kind, id));
  }
  claimExpiring(kind: ExpiringKind, id: string, expiresAt: number): Promise<boolean> {
    return this.ask('claimExpiring', () => this.inner.claimExpiring(kind, id, expiresAt));
  }
  deleteExpiring(kind: ExpiringKind, id: string): Promise<boolean> {
    return this.ask('deleteExpiring', () => this.inner.deleteExpiring(kind, id));
  }
  putKey(key: StoredKey, mode: 'create' | 'update'): Promise<boolean> {
    return this.ask('putKey', () => this.inner.putKey(key, mode));
  }
  deleteKey(name: string): Promise<boolean> {
    return this.ask('deleteKey', () => this.inner.deleteKey(name));
  }
  listKeys(): Promise<StoredKey[]> {
    return this.ask('listKeys', () => this.inner.listKeys());
  }
  /**
   * Readiness: the store answers and nothing is held back. After an outage, a probe that finds the
   * store answering writes the queued records (as the background retry would, up to `retryMs` later)
   * and ends the down state, so /ready never says 200 while reads would still be refused.
   */
  async ready(): Promise<void> {
    await this.within(this.inner.ready());
    if (!this.down) return;
    if (this.pending.length > 0) await this.flush();
    else this.down = false;
    if (this.down) throw new Error(`the store answers again, but ${this.pending.length} writes from its outage are not yet written`);
  }

  /**
   * Writes what is queued if the store answers, then closes it; what it still refuses goes to the
   * outbox (counted by `spilled`), or is reported by `pendingWrites` when there is no outbox.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flush();
    if (this.pending.length > 0 && this.hooks.outbox !== undefined) {
      try {
        this.spilled = spill(this.hooks.outbox, this.pending, this.hooks.cipher);
        this.pending.length = 0;
        this.advanceJournal(); // in the outbox now
        this.hooks.onPending(0);
      } catch (e) {
        this.hooks.onError('outbox', e); // not writable: the records stay counted in pendingWrites
      }
    }
    await this.inner.close();
  }
}
