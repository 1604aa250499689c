/**
 * The shared store: Redis through ioredis (auto-pipelined), for several gateway replicas. Keys, all
 * under one prefix (default `switchyard:`):
 *   decision:<id>           the decision record (JSON); these, the sorted sets below and the feedback
 *                           list lose what is older than store.retentionDays (`forget`, hourly)
 *   decisions, decisions:route:<route>   sorted sets of request ids by time
 *   feedback                list of {requestId, score, time}
 *   spend:<key>             sorted set of spend entries by time (entries older than 40 days trimmed; an idle key expires)
 *   events:<route>, events-seq:<route>   the route's ordered feedback log (a Lua script numbers and
 *                           inserts atomically, so every replica sees one order; trimmed behind snapshots)
 *   state:<route>           hash {artifact, seq}: the newest router snapshot (a Lua script keeps the later seq)
 *   prompt:<id>             a served prompt for feedback on another replica (expires)
 *   learned:<id>            marks a request whose feedback a router learned from (expires after 30 days)
 *   cache:<key>, response:<id>   cached answers and stored Responses API responses (expire)
 *   affinity:<conversation> the model a conversation's turns go to (routes.X.sticky; expires)
 *   rate:<key>:<window>     requests of an API key in a one-minute window (expires)
 *   slots:<model>#<d>       sorted set holder → lease expiry: a deployment's maxInFlight shared by replicas (expires)
 * On a Redis Cluster (`cluster`), the keys a script touches together carry a hash tag — events:{<route>},
 * events-seq:{<route>}, {feedback}, {feedback}-seen:… — so they share a slot; elsewhere they keep these names.
 *   api-keys                hash name → admin-made API key (JSON: its sha256 and limits)
 */
import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { SPEND_KEEP_MS, type DecisionQuery, type DecisionRecord, type ExpiringKind, type FeedbackEvent, type FeedbackRecord, type GatewayStore, type RateCounter, type RouterSnapshot, type SequencedEvent, type StoredKey } from './store.js';


const APPEND_EVENT = `
local seq = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], seq, seq .. '|' .. ARGV[1])
return seq`;

const SAVE_STATE = `
local cur = tonumber(redis.call('HGET', KEYS[1], 'seq') or '-1')
if tonumber(ARGV[2]) >= cur then
  redis.call('HSET', KEYS[1], 'artifact', ARGV[1], 'seq', ARGV[2])
  return 1
end
return 0`;

/** Appends a feedback unless the same one (request, score, time) was appended within the last 40 days. */
const ADD_FEEDBACK = `
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then
  redis.call('RPUSH', KEYS[1], ARGV[1])
  return 1
end
return 0`;

/** Pops feedback entries (appended in time order) from the list's head while older than ARGV[1], at most ARGV[2] of them. */
const TRIM_FEEDBACK = `
local n = 0
while n < tonumber(ARGV[2]) do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not head then break end
  local t = tonumber(string.match(head, '"time":(%d+)'))
  if t == nil or t >= tonumber(ARGV[1]) then break end
  redis.call('LPOP', KEYS[1])
  n = n + 1
end
return n`;

const UPDATE_KEY = `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0`;

/** The store's clock, in ms (scripts read Redis's TIME, so replicas' clocks need not agree). */
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS[1]: the slots' sorted set (holder → expiry); ARGV: holder, limit, leaseMs. */
const TAKE_SLOT = `${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[3]))
  return 1
end
return 0`;

/** KEYS[1]: the slots' sorted set; ARGV: leaseMs, then the holders whose slots are extended (not taken again once expired). */
const RENEW_SLOTS = `${NOW_MS}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[i]) end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[1])) end
return 1`;

interface ScriptedRedis extends Redis {
  takeSlot(key: string, holder: string, limit: string, leaseMs: string): Promise<number>;
  renewSlots(key: string, leaseMs: string, ...holders: string[]): Promise<number>;
  appendEvent(seqKey: string, eventsKey: string, event: string): Promise<number>;
  saveState(key: string, artifact: string, seq: string): Promise<number>;
  updateKey(key: string, name: string, record: string): Promise<number>;
  addFeedback(listKey: string, seenKey: string, record: string, keepMs: string): Promise<number>;
  trimFeedback(listKey: string, before: string, most: string): Promise<number>;
}

export interface RedisStoreOptions {
  readonly url: string;
  readonly keyPrefix?: string;
  /**
   * Redis Cluster: some of its nodes (the rest are found from them); `url` then gives only
   * credentials and TLS. Keys that one script touches together share a hash tag, and reads and
   * deletes of many keys go key by key, so the keys spread over the cluster's slots.
   */
  readonly cluster?: { readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }> };
  /** Redis Sentinel: the master group's name and the sentinels' addresses; `url` then gives only credentials, database and TLS. */
  readonly sentinel?: { readonly name: string; readonly hosts: ReadonlyArray<{ readonly host: string; readonly port: number }>; readonly password?: string | undefined };
  /**
   * A command not answered within this many ms fails (default 2,000): a Redis that hangs (a stopped
   * process, a network that drops packets) counts as down, as one that refuses connections does,
   * instead of holding every request that needs it.
   */
  readonly commandTimeoutMs?: number;
  /**
   * A durable write (a decision, feedback, spend, a router snapshot, a stored response or prompt, an
   * API key) resolves only once this many replicas hold it, or `timeoutMs` has passed (Redis `WAIT`,
   * on a connection of the writes' own so reads never queue behind it). Not on a cluster.
   */
  readonly waitReplicas?: { readonly replicas: number; readonly timeoutMs: number };
}

/** A Redis URL's credentials and TLS, for the cluster's node connections (a cluster takes no URL). */
function urlOptions(url: string): { username?: string; password?: string; tls?: object } {
  const u = new URL(url);
  return { ...(u.username ? { username: decodeURIComponent(u.username) } : {}), ...(u.password ? { password: decodeURIComponent(u.password) } : {}), ...(u.protocol === 'rediss:' ? { tls: {} } : {}) };
}

/** After a `WAIT` timed out: how long writes go on without waiting before one waits again. */
const REPLICAS_RECHECK_MS = 1000;

/** How long after ioredis gives up a connection the store connects again. */
const RECONNECT_AFTER_END_MS = 250;

export class RedisStore implements GatewayStore {
  readonly shared = true;
  private readonly redis: ScriptedRedis;
  /** Where durable writes go: `redis`, or with `waitReplicas` a connection of their own, which `WAIT`s after them. */
  private readonly writer: ScriptedRedis;
  private readonly waitReplicas: RedisStoreOptions['waitReplicas'];
  /** Told when a write's `WAIT` timed out with fewer replicas than asked, or was skipped since one did (the write stands on the master). */
  onUnreplicated: ((got: number, wanted: number) => void) | undefined;
  /** Until when writes do not wait (a wait timed out), and how many replicas it saw. */
  private replicasAwayUntil = 0;
  private replicasSeen = 0;
  /** With Redis Cluster: the cluster (scans go to each of its masters). */
  private readonly cluster: Cluster | undefined;
  private readonly p: string;
  /** close() was called: an ended connection stays ended. */
  private closing = false;

  constructor(options: RedisStoreOptions) {
    this.p = options.keyPrefix ?? 'switchyard:';
    const s = options.sentinel;
    // with sentinels, ioredis asks them for the master (and again on a failover, which it also hears of at once: failoverDetector)
    const sentinel = s ? { sentinels: s.hosts.map((h) => ({ host: h.host, port: h.port })), name: s.name, failoverDetector: true, ...(s.password !== undefined ? { sentinelPassword: s.password } : {}) } : {};
    const common = { maxRetriesPerRequest: 3, commandTimeout: options.commandTimeoutMs ?? 2000 };
    this.cluster = options.cluster
      ? new Cluster(
          options.cluster.nodes.map((n) => ({ host: n.host, port: n.port })),
          // no auto-pipelining on a cluster: ioredis groups such pipelines by slot and its scripts' NOSCRIPT retry fails in them after a master restarts (ioredis #2109, #536)
          { enableAutoPipelining: false, redisOptions: { ...common, ...urlOptions(options.url) } },
        )
      : undefined;
    const redis = this.cluster ?? new Redis(options.url, { enableAutoPipelining: true, lazyConnect: false, ...common, ...sentinel });
    this.redis = this.scripted(redis);
    this.waitReplicas = this.cluster ? undefined : options.waitReplicas;
    this.writer = this.waitReplicas ? this.scripted((redis as Redis).duplicate()) : this.redis;
  }

  /** `redis` with the store's scripts, reconnecting when ioredis gives the connection up (below). */
  private scripted(redis: Redis | Cluster): ScriptedRedis {
    redis.defineCommand('appendEvent', { numberOfKeys: 2, lua: APPEND_EVENT });
    redis.defineCommand('saveState', { numberOfKeys: 1, lua: SAVE_STATE });
    redis.defineCommand('updateKey', { numberOfKeys: 1, lua: UPDATE_KEY });
    redis.defineCommand('addFeedback', { numberOfKeys: 2, lua: ADD_FEEDBACK });
    redis.defineCommand('trimFeedback', { numberOfKeys: 1, lua: TRIM_FEEDBACK });
    redis.defineCommand('takeSlot', { numberOfKeys: 1, lua: TAKE_SLOT });
    redis.defineCommand('renewSlots', { numberOfKeys: 1, lua: RENEW_SLOTS });
    // connection errors surface on the commands that need the connection; ioredis reconnects by itself
    redis.on('error', () => undefined);
    // …except in one race, where it gives up for good: a failover announced by the sentinels while it is
    // reconnecting through them ends its connection (status `end`; every command then fails with
    // "Connection is closed.", ioredis #1683). A store we did not close connects again.
    redis.on('end', () => {
      if (this.closing) return;
      setTimeout(() => {
        if (!this.closing) redis.connect().catch(() => undefined); // a failed attempt ends again, and comes back here
      }, RECONNECT_AFTER_END_MS).unref();
    });
    return redis as unknown as ScriptedRedis;
  }

  /**
   * After a durable write on `writer`: waits for the replicas asked for (all the connection's writes so
   * far), up to the timeout. Once a wait times out, the writes of the next REPLICAS_RECHECK_MS do not
   * wait (they are counted unreplicated): with a replica away, every write would wait the whole
   * timeout, and the writes queued through a failover would drain one timeout at a time.
   */
  private async replicated(): Promise<void> {
    const w = this.waitReplicas;
    if (!w) return;
    if (Date.now() < this.replicasAwayUntil) return this.onUnreplicated?.(this.replicasSeen, w.replicas);
    const got = Number(await this.writer.wait(w.replicas, w.timeoutMs));
    if (got >= w.replicas) return;
    this.replicasAwayUntil = Date.now() + REPLICAS_RECHECK_MS;
    this.replicasSeen = got;
    this.onUnreplicated?.(got, w.replicas);
  }

  /** `name` as a hash tag on a cluster, so the keys a script touches together share a slot (as is elsewhere, so keys stay where earlier versions put them). */
  private tag(name: string): string {
    return this.cluster ? `{${name}}` : name;
  }

  private eventsKey(route: string): string {
    return `${this.p}events:${this.tag(route)}`;
  }

  private feedbackKey(): string {
    return `${this.p}${this.tag('feedback')}`;
  }

  /** How many replicas the master has connected now (`INFO replication`): what `waitReplicas` waits for (`serve --check` compares). */
  async connectedReplicas(): Promise<number> {
    const info = await this.writer.info('replication');
    return Number(/^connected_slaves:(\d+)/m.exec(info)?.[1] ?? 0);
  }

  /** Resolves once connected (fails with the connection error), so a misconfigured URL stops startup. */
  async ready(): Promise<void> {
    await Promise.all([this.redis.ping(), ...(this.writer !== this.redis ? [this.writer.ping()] : [])]);
  }

  async recordDecision(d: DecisionRecord): Promise<void> {
    const r = this.writer;
    await Promise.all([
      r.set(`${this.p}decision:${d.requestId}`, JSON.stringify(d)),
      r.zadd(`${this.p}decisions`, d.time, d.requestId),
      r.zadd(`${this.p}decisions:route:${d.route}`, d.time, d.requestId),
    ]);
    await this.replicated();
  }

  async getDecision(requestId: string): Promise<DecisionRecord | undefined> {
    const raw = await this.redis.get(`${this.p}decision:${requestId}`);
    return raw === null ? undefined : (JSON.parse(raw) as DecisionRecord);
  }

  async listDecisions(q: DecisionQuery = {}): Promise<DecisionRecord[]> {
    const key = q.route ? `${this.p}decisions:route:${q.route}` : `${this.p}decisions`;
    const ids = await this.redis.zrevrangebyscore(key, '+inf', q.since ?? '-inf', 'LIMIT', 0, q.limit ?? 100);
    if (ids.length === 0) return [];
    const keys = ids.map((id) => `${this.p}decision:${id}`);
    // on a cluster the records lie in many slots: read one by one (pipelined)
    const raws = this.cluster ? await Promise.all(keys.map((k) => this.redis.get(k))) : await this.redis.mget(keys);
    return raws.flatMap((raw) => (raw === null ? [] : [JSON.parse(raw) as DecisionRecord]));
  }

  async recordFeedback(requestId: string, score: number, time: number): Promise<void> {
    // the same score for the same request at the same time is one feedback (a record written again after a crash)
    await this.writer.addFeedback(this.feedbackKey(), `${this.feedbackKey()}-seen:${requestId}:${time}:${score}`, JSON.stringify({ requestId, score, time }), String(SPEND_KEEP_MS));
    await this.replicated();
  }

  async forget(before: number, spendBefore: number): Promise<number> {
    const r = this.redis;
    let deleted = 0;
    // decisions: the records and their index entries, a thousand at a time
    for (;;) {
      const ids = await r.zrangebyscore(`${this.p}decisions`, '-inf', `(${before}`, 'LIMIT', 0, 1000);
      if (ids.length === 0) break;
      deleted += ids.length;
      const records = ids.map((id) => `${this.p}decision:${id}`);
      await Promise.all([...(this.cluster ? records.map((k) => r.del(k)) : [r.del(...records)]), r.zrem(`${this.p}decisions`, ...ids)]);
    }
    await this.trimEach(`${this.p}decisions:route:*`, before);
    await this.trimEach(`${this.p}spend:*`, spendBefore); // also trimmed as spend is added; an idle key expires
    while (Number(await r.trimFeedback(this.feedbackKey(), String(before), '10000')) === 10000);
    return deleted;
  }

  /** Removes the members scored before `before` from every sorted set matching `pattern` (on a cluster: on each master). */
  private async trimEach(pattern: string, before: number): Promise<void> {
    for (const node of this.cluster ? this.cluster.nodes('master') : [this.redis as unknown as Redis]) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 100);
        cursor = next;
        await Promise.all(keys.map((k) => this.redis.zremrangebyscore(k, '-inf', `(${before}`)));
      } while (cursor !== '0');
    }
  }

  async listFeedback(since = 0): Promise<FeedbackRecord[]> {
    const raws = await this.redis.lrange(this.feedbackKey(), 0, -1);
    return raws
      .map((raw) => JSON.parse(raw) as FeedbackRecord)
      .filter((f) => f.time >= since)
      .sort((a, b) => a.time - b.time); // stable: replicas append in arrival order
  }

  /** One counter per key and window, shared by every replica; it expires after two windows. */
  async countInWindow(counter: RateCounter, keyId: string, windowStart: number, amount = 1): Promise<number> {
    const key = `${this.p}rate:${counter}:${keyId}:${windowStart}`;
    const replies = await this.redis.multi().incrby(key, amount).pexpire(key, 120_000).exec();
    const [err, count] = replies?.[0] ?? [new Error('no reply'), 0];
    if (err) throw err;
    return Number(count);
  }

  async takeSlot(id: string, holder: string, limit: number, leaseMs: number): Promise<boolean> {
    return Number(await this.redis.takeSlot(`${this.p}slots:${id}`, holder, String(limit), String(Math.max(1, Math.round(leaseMs))))) === 1;
  }

  async releaseSlot(id: string, holder: string): Promise<void> {
    await this.redis.zrem(`${this.p}slots:${id}`, holder);
  }

  async renewSlots(id: string, holders: readonly string[], leaseMs: number): Promise<void> {
    if (holders.length > 0) await this.redis.renewSlots(`${this.p}slots:${id}`, String(Math.max(1, Math.round(leaseMs))), ...holders);
  }

  async addSpend(keyId: string, usd: number, time: number, id?: string): Promise<void> {
    const key = `${this.p}spend:${keyId}`;
    // a member per spend; with the request's id, the same spend written twice is one member
    const w = this.writer;
    await Promise.all([w.zadd(key, time, `${time}:${id ?? randomUUID()}:${usd}`), w.zremrangebyscore(key, '-inf', time - SPEND_KEEP_MS), w.pexpire(key, SPEND_KEEP_MS)]);
    await this.replicated();
  }

  async spend(keyId: string, since: number): Promise<number> {
    const entries = await this.redis.zrangebyscore(`${this.p}spend:${keyId}`, since, '+inf');
    return entries.reduce((s, e) => s + Number(e.slice(e.lastIndexOf(':') + 1)), 0);
  }

  async appendFeedbackEvent(route: string, event: FeedbackEvent): Promise<number> {
    const seq = Number(await this.writer.appendEvent(`${this.p}events-seq:${this.tag(route)}`, this.eventsKey(route), JSON.stringify(event)));
    await this.replicated();
    return seq;
  }

  async feedbackEventsAfter(route: string, after: number, limit: number): Promise<SequencedEvent[]> {
    const members = await this.redis.zrangebyscore(this.eventsKey(route), `(${after}`, '+inf', 'LIMIT', 0, limit);
    return members.map((m) => {
      const bar = m.indexOf('|');
      return { seq: Number(m.slice(0, bar)), event: JSON.parse(m.slice(bar + 1)) as FeedbackEvent };
    });
  }

  async trimFeedbackEvents(route: string, upTo: number): Promise<void> {
    await this.redis.zremrangebyscore(this.eventsKey(route), '-inf', upTo);
  }

  async saveRouterState(route: string, snapshot: RouterSnapshot): Promise<void> {
    await this.writer.saveState(`${this.p}state:${route}`, snapshot.artifactJson, String(snapshot.seq));
    await this.replicated();
  }

  async loadRouterState(route: string): Promise<RouterSnapshot | undefined> {
    const h = await this.redis.hgetall(`${this.p}state:${route}`);
    return h['artifact'] === undefined ? undefined : { artifactJson: h['artifact'], seq: Number(h['seq'] ?? 0) };
  }

  async putExpiring(kind: ExpiringKind, id: string, text: string, expiresAt: number): Promise<void> {
    await this.writer.set(`${this.p}${kind}:${id}`, text, 'PX', Math.max(1, expiresAt - Date.now()));
    await this.replicated();
  }

  async getExpiring(kind: ExpiringKind, id: string): Promise<string | undefined> {
    return (await this.redis.get(`${this.p}${kind}:${id}`)) ?? undefined;
  }

  async claimExpiring(kind: ExpiringKind, id: string, expiresAt: number): Promise<boolean> {
    return (await this.redis.set(`${this.p}${kind}:${id}`, '', 'PX', Math.max(1, expiresAt - Date.now()), 'NX')) === 'OK';
  }

  async deleteExpiring(kind: ExpiringKind, id: string): Promise<boolean> {
    return (await this.redis.del(`${this.p}${kind}:${id}`)) > 0;
  }

  async putKey(key: StoredKey, mode: 'create' | 'update'): Promise<boolean> {
    const record = JSON.stringify(key);
    const done = mode === 'create' ? await this.writer.hsetnx(`${this.p}api-keys`, key.name, record) : await this.writer.updateKey(`${this.p}api-keys`, key.name, record);
    await this.replicated();
    return Number(done) === 1;
  }

  async deleteKey(name: string): Promise<boolean> {
    const deleted = (await this.writer.hdel(`${this.p}api-keys`, name)) > 0;
    await this.replicated();
    return deleted;
  }

  async listKeys(): Promise<StoredKey[]> {
    const all = await this.redis.hgetall(`${this.p}api-keys`);
    return Object.keys(all)
      .sort()
      .map((name) => JSON.parse(all[name] as string) as StoredKey);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all([this.redis, ...(this.writer !== this.redis ? [this.writer] : [])].map((r) => r.quit().catch(() => r.disconnect())));
  }
}
