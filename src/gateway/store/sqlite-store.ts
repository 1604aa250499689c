/** The embedded store: SQLite through better-sqlite3, WAL journal, prepared statements. */
import Database from 'better-sqlite3';
import type { DecisionQuery, DecisionRecord, GatewayStore } from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS decisions (
  request_id TEXT PRIMARY KEY, time INTEGER NOT NULL, route TEXT NOT NULL, key_id TEXT, lambda REAL NOT NULL,
  chosen TEXT NOT NULL, answered TEXT, reason TEXT NOT NULL, candidates TEXT NOT NULL, cost_usd REAL NOT NULL,
  latency_ms REAL NOT NULL, status INTEGER NOT NULL, prompt TEXT
);
CREATE INDEX IF NOT EXISTS decisions_time ON decisions(time);
CREATE TABLE IF NOT EXISTS feedback (request_id TEXT NOT NULL, score REAL NOT NULL, time INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS spend (key_id TEXT NOT NULL, usd REAL NOT NULL, time INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS spend_key_time ON spend(key_id, time);
CREATE TABLE IF NOT EXISTS router_state (route TEXT PRIMARY KEY, artifact TEXT NOT NULL, time INTEGER NOT NULL);
`;

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
});

export class SqliteStore implements GatewayStore {
  private readonly db: Database.Database;
  private readonly stmts;
  /** Writes queued during one event-loop turn go to disk together in one transaction (write-behind of one tick). */
  private queue: Array<() => void> = [];
  private flushScheduled = false;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.stmts = {
      insertDecision: this.db.prepare(
        `INSERT OR REPLACE INTO decisions VALUES (@request_id, @time, @route, @key_id, @lambda, @chosen, @answered, @reason, @candidates, @cost_usd, @latency_ms, @status, @prompt)`,
      ),
      getDecision: this.db.prepare('SELECT * FROM decisions WHERE request_id = ?'),
      insertFeedback: this.db.prepare('INSERT INTO feedback VALUES (?, ?, ?)'),
      insertSpend: this.db.prepare('INSERT INTO spend VALUES (?, ?, ?)'),
      spend: this.db.prepare('SELECT COALESCE(SUM(usd), 0) AS usd FROM spend WHERE key_id = ? AND time >= ?'),
      saveState: this.db.prepare('INSERT OR REPLACE INTO router_state VALUES (?, ?, ?)'),
      loadState: this.db.prepare('SELECT artifact FROM router_state WHERE route = ?'),
    };
  }

  private enqueue(write: () => void): Promise<void> {
    this.queue.push(write);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return Promise.resolve();
  }

  /** Runs every queued write in one transaction; reads flush first, so they always see every write. */
  flush(): void {
    this.flushScheduled = false;
    if (this.queue.length === 0) return;
    const writes = this.queue;
    this.queue = [];
    this.db.transaction(() => {
      for (const w of writes) w();
    })();
  }

  async recordDecision(d: DecisionRecord): Promise<void> {
    return this.enqueue(() => this.insertDecision(d));
  }

  private insertDecision(d: DecisionRecord): void {
    this.stmts.insertDecision.run({
      request_id: d.requestId,
      time: d.time,
      route: d.route,
      key_id: d.keyId,
      lambda: d.lambda,
      chosen: d.chosen,
      answered: d.answered,
      reason: d.reason,
      candidates: JSON.stringify(d.candidates),
      cost_usd: d.costUsd,
      latency_ms: d.latencyMs,
      status: d.status,
      prompt: d.prompt,
    });
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
    return this.enqueue(() => this.stmts.insertFeedback.run(requestId, score, time));
  }

  async addSpend(keyId: string, usd: number, time: number): Promise<void> {
    return this.enqueue(() => this.stmts.insertSpend.run(keyId, usd, time));
  }

  async spend(keyId: string, since: number): Promise<number> {
    this.flush();
    return (this.stmts.spend.get(keyId, since) as { usd: number }).usd;
  }

  async saveRouterState(route: string, artifactJson: string): Promise<void> {
    this.flush();
    this.stmts.saveState.run(route, artifactJson, Date.now());
  }

  async loadRouterState(route: string): Promise<string | undefined> {
    this.flush();
    return (this.stmts.loadState.get(route) as { artifact: string } | undefined)?.artifact;
  }

  async close(): Promise<void> {
    this.flush();
    this.db.close();
  }
}
