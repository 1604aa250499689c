/** The embedded store: SQLite through better-sqlite3, WAL journal, prepared statements. */
import Database from 'better-sqlite3';
import type { ShadowChoice, DecisionQuery, DecisionRecord, ExpiringKind, FeedbackEvent, FeedbackRecord, GatewayStore, RateCounter, RouterSnapshot, SequencedEvent, StoredKey } from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS decisions (
  request_id TEXT PRIMARY KEY, time INTEGER NOT NULL, route TEXT NOT NULL, key_id TEXT, lambda REAL NOT NULL,
  chosen TEXT NOT NULL, answered TEXT, reason TEXT NOT NULL, candidates TEXT NOT NULL, cost_usd REAL NOT NULL,
  latency_ms REAL NOT NULL, status INTEGER NOT NULL, prompt TEXT, tags TEXT, shadow TEXT, canary INTEGER
);
CREATE INDEX IF NOT EXISTS decisions_time ON decisions(time);
CREATE TABLE IF NOT EXISTS feedback (request_id TEXT NOT NULL, score REAL NOT NULL, time INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS feedback_request ON feedback(request_id);
CREATE INDEX IF NOT EXISTS feedback_time ON feedback(time);
CREATE TABLE IF NOT EXISTS spend (key_id TEXT NOT NULL, usd REAL NOT NULL, time INTEGER NOT NULL, id TEXT);
CREATE INDEX IF NOT EXISTS spend_key_time ON spend(key_id, time);
CREATE INDEX IF NOT EXISTS spend_time ON spend(time);
CREATE TABLE IF NOT EXISTS router_state (route TEXT PRIMARY KEY, artifact TEXT NOT NULL, time INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS feedback_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, route TEXT NOT NULL, event TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS feedback_events_route ON feedback_events(route, seq);
CREATE TABLE IF NOT EXISTS expiring (kind TEXT NOT NULL, id TEXT NOT NULL, text TEXT NOT NULL, expires INTEGER NOT NULL, PRIMARY KEY (kind, id));
CREATE INDEX IF NOT EXISTS expiring_expires ON expiring(expires);
CREATE TABLE IF NOT EXISTS api_keys (name TEXT PRIMARY KEY, record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS slots (id TEXT NOT NULL, holder TEXT NOT NULL, expires INTEGER NOT NULL, PRIMARY KEY (id, holder));
CREATE TABLE IF NOT EXISTS rate_windows (counter TEXT NOT NULL, key TEXT NOT NULL, window INTEGER NOT NULL, count REAL NOT NULL, PRIMARY KEY (counter, key, window));
`;

const FLUSH_MS = 25;
const FLUSH_MAX = 256;
/** Rate counters kept before those of past windows are swept out. */
const RATES_SWEEP_AT = 10_000;
/** Shared: rate windows this much older than the newest counted are deleted (at most once a window). */
const RATE_WINDOWS_KEPT_MS = 120_000;
/** Rows one retention statement deletes before the event loop gets a turn. */
const FORGET_CHUNK = 5000;

interface DecisionRow {
  request_id: string;
  time: number;
  route: string;
  key_id: string | null;
  lambda: number;
  chosen: string;
  answered: string | null;
  reason: string;
  candidates: string;
  cost_usd: number;
  latency_ms: number;
  status: number;
  prompt: string | null;
  tags: string | null;
  shadow: string | null;
  canary: number | null;
}

const toRecord = (r: DecisionRow): DecisionRecord => ({
  requestId: r.request_id,
  time: r.time,
  route: r.route,
  keyId: r.key_id,
  lambda: r.lambda,
  chosen: r.chosen,
  answered: r.answered,
  reason: r.reason,
  candidates: JSON.parse(r.candidates) as DecisionRecord['candidates'],
  costUsd: r.cost_usd,
  latencyMs: r.latency_ms,
  status: r.status,
  prompt: r.prompt,
  ...(r.tags ? { tags: JSON.parse(r.tags) as Record<string, string> } : {}),
  ...(r.shadow ? { shadow: JSON.parse(r.shadow) as ShadowChoice } : {}),
  ...(r.canary ? { canary: true } : {}),
});

/**
 * Turns on the WAL journal. Switching a new file to WAL needs it alone, and SQLite answers "locked"
 * at once (no busy wait) while another process holds it — two workers opening a new file
 * (`server.workers`) — so it is tried again for up to 5 s.
 */
function walMode(db: Database.Database): void {
  const until = Date.now() + 5000;
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() > until) throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); // a 20 ms pause: the constructor is synchronous
    }
  }
}

export interface SqliteStoreOptions {
  readonly commitMs?: number;
  /**
   * Several gateway processes on this host use the file at once (`server.workers`): rate-limit
   * windows are counted in the file instead of this process's memory, and the gateway treats the
   * store as replicas treat Redis (learning synced through it, shared slots and minute leases).
   */
  readonly shared?: boolean;
}

export class SqliteStore implements GatewayStore {
  readonly shared: boolean;
  private readonly db: Database.Database;
  private readonly stmts;
  /**
   * Writes are queued and go to disk together in one transaction every `commitMs` (FLUSH_MS by
   * default; or at FLUSH_MAX queued writes): one commit per batch instead of one per request. Every
   * read, and close(), flushes first, so this process always reads its own writes; a killed process
   * loses at most `commitMs` of them (0: each write commits at once, and none is lost).
   */
  private queue: Array<() => void> = [];
  /** Per key: the current rate-limit window and its request count. */
  private readonly rates = new Map<string, { window: number; count: number }>();
  /** The window whose start last swept out past windows' counters. */
  private ratesSwept = 0;
  private flushScheduled = false;
  private timer: NodeJS.Timeout | undefined;

  private readonly commitMs: number;

  constructor(file: string, options: SqliteStoreOptions = {}) {
    this.commitMs = options.commitMs ?? FLUSH_MS;
    this.shared = options.shared ?? false;
    // a process waits up to 5 s for another's write (its batches commit in a few ms)
    this.db = new Database(file, { timeout: 5000 });
    walMode(this.db);
    this.db.pragma('synchronous = NORMAL');
    // the schema and its migrations in one write transaction: worker processes opening a new file at once (`server.workers`) take turns
    this.db
      .transaction(() => {
        this.db.exec(SCHEMA);
        const cols = (this.db.prepare('PRAGMA table_info(router_state)').all() as Array<{ name: string }>).map((c) => c.name);
        if (!cols.includes('seq')) this.db.exec('ALTER TABLE router_state ADD COLUMN seq INTEGER NOT NULL DEFAULT 0'); // stores of earlier versions
        const decisionCols = (this.db.prepare('PRAGMA table_info(decisions)').all() as Array<{ name: string }>).map((c) => c.name);
        for (const col of ['tags', 'shadow']) if (!decisionCols.includes(col)) this.db.exec(`ALTER TABLE decisions ADD COLUMN ${col} TEXT`);
        if (!decisionCols.includes('canary')) this.db.exec('ALTER TABLE decisions ADD COLUMN canary INTEGER');
        const spendCols = (this.db.prepare('PRAGMA table_info(spend)').all() as Array<{ name: string }>).map((c) => c.name);
        if (!spendCols.includes('id')) this.db.exec('ALTER TABLE spend ADD COLUMN id TEXT');
        this.db.exec('CREATE UNIQUE INDEX IF NOT EXISTS spend_id ON spend(id) WHERE id IS NOT NULL');
      })
      .immediate();
    this.stmts = {
      insertDecision: this.db.prepare(
        'INSERT OR REPLACE INTO decisions (request_id, time, route, key_id, lambda, chosen, answered, reason, candidates, cost_usd, latency_ms, status, prompt, tags, shadow, canary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      getDecision: this.db.prepare('SELECT * FROM decisions WHERE request_id = ?'),
      // the same score for the same request at the same time is one feedback (a record written again after a crash)
      insertFeedback: this.db.prepare('INSERT INTO feedback SELECT @id, @score, @time WHERE NOT EXISTS (SELECT 1 FROM feedback WHERE request_id = @id AND score = @score AND time = @time)'),
      listFeedback: this.db.prepare('SELECT request_id AS requestId, score, time FROM feedback WHERE time >= ? ORDER BY time, rowid'),
      insertSpend: this.db.prepare('INSERT OR IGNORE INTO spend (key_id, usd, time, id) VALUES (?, ?, ?, ?)'),
      spend: this.db.prepare('SELECT COALESCE(SUM(usd), 0) AS usd FROM spend WHERE key_id = ? AND time >= ?'),
      saveState: this.db.prepare(
        'INSERT INTO router_state (route, artifact, time, seq) VALUES (?, ?, ?, ?) ON CONFLICT(route) DO UPDATE SET artifact = excluded.artifact, time = excluded.time, seq = excluded.seq WHERE excluded.seq >= router_state.seq',
      ),
      loadState: this.db.prepare('SELECT artifact, seq FROM router_state WHERE route = ?'),
      appendEvent: this.db.prepare('INSERT INTO feedback_events (route, event) VALUES (?, ?)'),
      trimEvents: this.db.prepare('DELETE FROM feedback_events WHERE route = ? AND seq <= ?'),
      eventsAfter: this.db.prepare('SELECT seq, event FROM feedback_events WHERE route = ? AND seq > ? ORDER BY seq LIMIT ?'),
      putExpiring: this.db.prepare('INSERT OR REPLACE INTO expiring VALUES (?, ?, ?, ?)'),
      getExpiring: this.db.prepare('SELECT text FROM expiring WHERE kind = ? AND id = ? AND expires > ?'),
      // retention deletes in chunks, so an hour's worth of old rows never holds the event loop long
      forgetDecisions: this.db.prepare(`DELETE FROM decisions WHERE request_id IN (SELECT request_id FROM decisions WHERE time < ? LIMIT ${FORGET_CHUNK})`),
      forgetFeedback: this.db.prepare(`DELETE FROM feedback WHERE rowid IN (SELECT rowid FROM feedback WHERE time < ? LIMIT ${FORGET_CHUNK})`),
      forgetSpend: this.db.prepare(`DELETE FROM spend WHERE rowid IN (SELECT rowid FROM spend WHERE time < ? LIMIT ${FORGET_CHUNK})`),
      claimExpiring: this.db.prepare('INSERT OR IGNORE INTO expiring VALUES (?, ?, ?, ?)'),
      expireOne: this.db.prepare('DELETE FROM expiring WHERE kind = ? AND id = ? AND expires <= ?'),
      deleteExpiring: this.db.prepare('DELETE FROM expiring WHERE kind = ? AND id = ? AND expires > ?'),
      expire: this.db.prepare('DELETE FROM expiring WHERE expires <= ?'),
      createKey: this.db.prepare('INSERT OR IGNORE INTO api_keys VALUES (?, ?)'),
      updateKey: this.db.prepare('UPDATE api_keys SET record = ? WHERE name = ?'),
      deleteKey: this.db.prepare('DELETE FROM api_keys WHERE name = ?'),
      listKeys: this.db.prepare('SELECT record FROM api_keys ORDER BY name'),
      expireSlots: this.db.prepare('DELETE FROM slots WHERE id = ? AND expires <= ?'),
      takeSlot: this.db.prepare(
        'INSERT INTO slots (id, holder, expires) SELECT @id, @holder, @expires WHERE EXISTS (SELECT 1 FROM slots WHERE id = @id AND holder = @holder) OR (SELECT COUNT(*) FROM slots WHERE id = @id) < @limit ON CONFLICT(id, holder) DO UPDATE SET expires = excluded.expires',
      ),
      releaseSlot: this.db.prepare('DELETE FROM slots WHERE id = ? AND holder = ?'),
      countWindow: this.db.prepare('INSERT INTO rate_windows VALUES (?, ?, ?, ?) ON CONFLICT(counter, key, window) DO UPDATE SET count = count + excluded.count RETURNING count'),
      sweepWindows: this.db.prepare('DELETE FROM rate_windows WHERE window < ?'),
      renewSlot: this.db.prepare('UPDATE slots SET expires = ? WHERE id = ? AND holder = ?'),
    };
  }

  /** `now`: commit this write (and those queued before it) at once. */
  private enqueue(write: () => void, now = false): Promise<void> {
    this.queue.push(write);
    if (now || this.queue.length >= FLUSH_MAX || this.commitMs === 0) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.timer = setTimeout(() => this.flush(), this.commitMs);
      this.timer.unref();
    }
    return Promise.resolve();
  }

  /** Runs every queued write in one transaction; reads flush first, so they always see every write. */
  flush(): void {
    this.flushScheduled = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.queue.length === 0) return;
    const writes = this.queue;
    this.queue = [];
    this.db.transaction(() => {
      for (const w of writes) w();
    })();
  }

  /** Shared by processes: committed at once, so feedback reaching another worker right after the answer finds it (as on Redis). */
  async recordDecision(d: DecisionRecord): Promise<void> {
    return this.enqueue(() => this.insertDecision(d), this.shared);
  }

  private insertDecision(d: DecisionRecord): void {
    this.stmts.insertDecision.run(d.requestId, d.time, d.route, d.keyId, d.lambda, d.chosen, d.answered, d.reason, JSON.stringify(d.candidates), d.costUsd, d.latencyMs, d.status, d.prompt, d.tags ? JSON.stringify(d.tags) : null, d.shadow ? JSON.stringify(d.shadow) : null, d.canary ? 1 : null);
  }

  async getDecision(requestId: string): Promise<DecisionRecord | undefined> {
    this.flush();
    const row = this.stmts.getDecision.get(requestId) as DecisionRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  async listDecisions(q: DecisionQuery = {}): Promise<DecisionRecord[]> {
    this.flush();
    const where: string[] = [];
    const args: Array<string | number> = [];
    if (q.route) (where.push('route = ?'), args.push(q.route));
    if (q.since !== undefined) (where.push('time >= ?'), args.push(q.since));
    const sql = `SELECT * FROM decisions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY time DESC LIMIT ?`;
    return (this.db.prepare(sql).all(...args, q.limit ?? 100) as DecisionRow[]).map(toRecord);
  }

  async recordFeedback(requestId: string, score: number, time: number): Promise<void> {
    return this.enqueue(() => this.stmts.insertFeedback.run({ id: requestId, score, time }));
  }

  async forget(before: number, spendBefore: number): Promise<number> {
    let decisions = 0;
    for (const [stmt, cutoff] of [[this.stmts.forgetDecisions, before], [this.stmts.forgetFeedback, before], [this.stmts.forgetSpend, spendBefore]] as const) {
      for (;;) {
        this.flush();
        const { changes } = stmt.run(cutoff);
        if (stmt === this.stmts.forgetDecisions) decisions += changes;
        if (changes < FORGET_CHUNK) break;
        await new Promise((r) => setImmediate(r)); // requests waiting meanwhile go first
      }
    }
    return decisions;
  }

  async listFeedback(since = 0): Promise<FeedbackRecord[]> {
    this.flush();
    return this.stmts.listFeedback.all(since) as FeedbackRecord[];
  }

  /** Rate-limit windows live in memory when one process uses the file, in it when several do (`shared`). */
  async countInWindow(counter: RateCounter, keyId: string, windowStart: number, amount = 1): Promise<number> {
    if (this.shared) return this.countInFile(counter, keyId, windowStart, amount);
    const key = `${counter}\u0000${keyId}`;
    const r = this.rates.get(key);
    if (r && r.window === windowStart) return (r.count += amount);
    // counters of past windows (all are UTC minutes) go once there are many (every end user of a large application has one)
    if (this.rates.size >= RATES_SWEEP_AT && windowStart > this.ratesSwept) {
      this.ratesSwept = windowStart;
      for (const [k, v] of this.rates) if (v.window < windowStart) this.rates.delete(k);
    }
    this.rates.set(key, { window: windowStart, count: amount });
    return amount;
  }

  private countInFile(counter: RateCounter, keyId: string, windowStart: number, amount: number): number {
    if (windowStart > this.ratesSwept) {
      this.ratesSwept = windowStart;
      this.stmts.sweepWindows.run(windowStart - RATE_WINDOWS_KEPT_MS);
    }
    return (this.stmts.countWindow.get(counter, keyId, windowStart, amount) as { count: number }).count;
  }

  async addSpend(keyId: string, usd: number, time: number, id?: string): Promise<void> {
    return this.enqueue(() => this.stmts.insertSpend.run(keyId, usd, time, id ?? null));
  }

  async spend(keyId: string, since: number): Promise<number> {
    this.flush();
    return (this.stmts.spend.get(keyId, since) as { usd: number }).usd;
  }

  async appendFeedbackEvent(route: string, event: FeedbackEvent): Promise<number> {
    this.flush();
    return Number(this.stmts.appendEvent.run(route, JSON.stringify(event)).lastInsertRowid);
  }

  async feedbackEventsAfter(route: string, after: number, limit: number): Promise<SequencedEvent[]> {
    this.flush();
    return (this.stmts.eventsAfter.all(route, after, limit) as Array<{ seq: number; event: string }>).map((r) => ({ seq: r.seq, event: JSON.parse(r.event) as FeedbackEvent }));
  }

  async trimFeedbackEvents(route: string, upTo: number): Promise<void> {
    this.flush();
    this.stmts.trimEvents.run(route, upTo);
  }

  async saveRouterState(route: string, snapshot: RouterSnapshot): Promise<void> {
    this.flush();
    this.stmts.saveState.run(route, snapshot.artifactJson, Date.now(), snapshot.seq);
  }

  async loadRouterState(route: string): Promise<RouterSnapshot | undefined> {
    this.flush();
    const row = this.stmts.loadState.get(route) as { artifact: string; seq: number } | undefined;
    return row ? { artifactJson: row.artifact, seq: row.seq } : undefined;
  }

  private lastExpiry = 0;

  /** Shared by processes: committed at once (a prompt feedback on another worker learns from, a stored response another worker continues). */
  async putExpiring(kind: ExpiringKind, id: string, text: string, expiresAt: number): Promise<void> {
    return this.enqueue(() => {
      this.stmts.putExpiring.run(kind, id, text, expiresAt);
      const now = Date.now();
      if (now - this.lastExpiry >= 1000) {
        // expired documents go at most once a second (an index range delete)
        this.lastExpiry = now;
        this.stmts.expire.run(now);
      }
    }, this.shared);
  }

  async getExpiring(kind: ExpiringKind, id: string): Promise<string | undefined> {
    this.flush();
    return (this.stmts.getExpiring.get(kind, id, Date.now()) as { text: string } | undefined)?.text;
  }

  async deleteExpiring(kind: ExpiringKind, id: string): Promise<boolean> {
    this.flush();
    return this.stmts.deleteExpiring.run(kind, id, Date.now()).changes > 0;
  }

  async claimExpiring(kind: ExpiringKind, id: string, expiresAt: number): Promise<boolean> {
    this.flush();
    this.stmts.expireOne.run(kind, id, Date.now()); // an expired claim is no claim
    return this.stmts.claimExpiring.run(kind, id, '', expiresAt).changes > 0;
  }

  async takeSlot(id: string, holder: string, limit: number, leaseMs: number): Promise<boolean> {
    const now = Date.now();
    this.stmts.expireSlots.run(id, now);
    return this.stmts.takeSlot.run({ id, holder, expires: now + leaseMs, limit }).changes > 0;
  }

  async releaseSlot(id: string, holder: string): Promise<void> {
    this.stmts.releaseSlot.run(id, holder);
  }

  async renewSlots(id: string, holders: readonly string[], leaseMs: number): Promise<void> {
    const now = Date.now();
    this.stmts.expireSlots.run(id, now);
    for (const holder of holders) this.stmts.renewSlot.run(now + leaseMs, id, holder);
  }

  async putKey(key: StoredKey, mode: 'create' | 'update'): Promise<boolean> {
    this.flush();
    const record = JSON.stringify(key);
    return (mode === 'create' ? this.stmts.createKey.run(key.name, record) : this.stmts.updateKey.run(record, key.name)).changes > 0;
  }

  async deleteKey(name: string): Promise<boolean> {
    this.flush();
    return this.stmts.deleteKey.run(name).changes > 0;
  }

  async listKeys(): Promise<StoredKey[]> {
    this.flush();
    return (this.stmts.listKeys.all() as Array<{ record: string }>).map((r) => JSON.parse(r.record) as StoredKey);
  }

  async ready(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.flush();
    this.db.close();
  }
}
