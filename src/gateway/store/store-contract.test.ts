/** One contract for every GatewayStore: SQLite (embedded) and Redis (a redis-server the test starts). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, hasRedis, hasRedisCluster, startRedis, startRedisCluster, type Running } from '../../../test/helpers/processes.js';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { EncryptedStore } from './encrypted-store.js';
import { createCipher } from './encryption.js';
import { RedisStore } from './redis-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { DecisionRecord, GatewayStore } from './store.js';

if (!hasRedis) console.warn('SKIP: redis-server is not installed (apt-get install -y redis-server), so the Redis store contract cannot run');
if (hasRedis && !hasRedisCluster) console.warn('SKIP: redis-cli is not installed (apt-get install -y redis-tools), so the store contract on a Redis Cluster cannot run');

const decision = (id: string, time: number, route = 'auto', prompt: string | null = null): DecisionRecord => ({
  requestId: id, time, route, keyId: 'k', lambda: 0.3, chosen: 'a', answered: 'b', reason: 'why', candidates: [{ model: 'a', quality: 0.9, cost: 1e-3 }], costUsd: 2e-3, latencyMs: 12.5, status: 200, prompt,
});

function storeContract(name: string, open: () => Promise<GatewayStore>): void {
  describe(`${name} store contract`, () => {
    let store: GatewayStore;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => store.close());

    it('records decisions and lists them newest first, by route, since a time, up to a limit', async () => {
      await store.recordDecision(decision('r1', 1000));
      await store.recordDecision({ ...decision('r2', 2000, 'cheap'), tags: { user: 'u-42', feature: 'search' } });
      await store.recordDecision(decision('r3', 3000, 'auto', 'What is 2 + 2? ✓'));
      expect(await store.getDecision('r2')).toEqual({ ...decision('r2', 2000, 'cheap'), tags: { user: 'u-42', feature: 'search' } });
      expect(await store.getDecision('r3')).toEqual(decision('r3', 3000, 'auto', 'What is 2 + 2? ✓'));
      expect((await store.listDecisions())[0]?.prompt).toBe('What is 2 + 2? ✓');
      expect(await store.getDecision('nope')).toBeUndefined();
      expect((await store.listDecisions()).map((d) => d.requestId)).toEqual(['r3', 'r2', 'r1']);
      expect((await store.listDecisions({ route: 'auto' })).map((d) => d.requestId)).toEqual(['r3', 'r1']);
      expect((await store.listDecisions({ since: 2000 })).map((d) => d.requestId)).toEqual(['r3', 'r2']);
      expect((await store.listDecisions({ limit: 1 })).map((d) => d.requestId)).toEqual(['r3']);
    });

    it('lists feedback oldest first, since a time', async () => {
      await store.recordFeedback('f1', 0.5, 1000);
      await store.recordFeedback('f2', 1, 3000);
      await store.recordFeedback('f1', 0.75, 2000); // a second score for the same request is kept too
      await store.recordFeedback('f1', 0.75, 2000); // the same one written again (after a crash) is not
      expect(await store.listFeedback()).toEqual([
        { requestId: 'f1', score: 0.5, time: 1000 },
        { requestId: 'f1', score: 0.75, time: 2000 },
        { requestId: 'f2', score: 1, time: 3000 },
      ]);
      expect((await store.listFeedback(2000)).map((f) => f.requestId)).toEqual(['f1', 'f2']);
    });

    it('counts requests and tokens per key and rate-limit window', async () => {
      expect(await store.countInWindow('requests', 'k1', 60_000)).toBe(1);
      expect(await store.countInWindow('requests', 'k1', 60_000)).toBe(2);
      expect(await store.countInWindow('requests', 'k2', 60_000)).toBe(1);
      expect(await store.countInWindow('requests', 'k1', 120_000)).toBe(1); // a new window starts from zero
      expect(await store.countInWindow('tokens', 'k1', 120_000, 300)).toBe(300); // a counter of its own
      expect(await store.countInWindow('tokens', 'k1', 120_000, 45)).toBe(345);
    });

    it('sums spend per key since a time', async () => {
      await store.addSpend('k1', 0.5, 1000);
      await store.addSpend('k1', 0.25, 2000);
      await store.addSpend('k1', 0.25, 2000); // the same amount at the same time counts twice
      await store.addSpend('k2', 9, 2000);
      expect(await store.spend('k1', 0)).toBeCloseTo(1, 12);
      expect(await store.spend('k1', 1500)).toBeCloseTo(0.5, 12);
      expect(await store.spend('k3', 0)).toBe(0);
      // the same request's spend written again (a record replayed after a crash) counts once
      await store.addSpend('k4', 0.5, 3000, 'req-1');
      await store.addSpend('k4', 0.5, 3000, 'req-1');
      await store.addSpend('k4', 0.25, 3000, 'req-2');
      expect(await store.spend('k4', 0)).toBeCloseTo(0.75, 12);
    });

    it('numbers feedback events per route in order and reads those after a sequence number', async () => {
      const ev = (score: number) => ({ prompt: `p${score}`, model: 'm', score, costUsd: 1e-4 });
      const seqs = [await store.appendFeedbackEvent('learn', ev(0.1)), await store.appendFeedbackEvent('learn', ev(0.2)), await store.appendFeedbackEvent('learn', ev(0.3))];
      expect(seqs[1]).toBeGreaterThan(seqs[0] as number);
      expect(seqs[2]).toBeGreaterThan(seqs[1] as number);
      const after = await store.feedbackEventsAfter('learn', seqs[0] as number, 10);
      expect(after.map((e) => e.event.score)).toEqual([0.2, 0.3]);
      expect(after.map((e) => e.seq)).toEqual(seqs.slice(1));
      expect(await store.feedbackEventsAfter('learn', seqs[0] as number, 1)).toHaveLength(1);
      expect(await store.feedbackEventsAfter('other', 0, 10)).toEqual([]);
      await store.trimFeedbackEvents('learn', seqs[1] as number);
      expect((await store.feedbackEventsAfter('learn', 0, 10)).map((e) => e.seq)).toEqual([seqs[2]]);
    });

    it('keeps the router snapshot with the later sequence number', async () => {
      expect(await store.loadRouterState('learn')).toBeUndefined();
      await store.saveRouterState('learn', { artifactJson: '{"v":5}', seq: 5 });
      await store.saveRouterState('learn', { artifactJson: '{"v":3}', seq: 3 }); // a slower replica's older snapshot
      expect(await store.loadRouterState('learn')).toEqual({ artifactJson: '{"v":5}', seq: 5 });
      await store.saveRouterState('learn', { artifactJson: '{"v":7}', seq: 7 });
      expect(await store.loadRouterState('learn')).toEqual({ artifactJson: '{"v":7}', seq: 7 });
    });

    it('keeps expiring documents by kind until they expire or are deleted', async () => {
      await store.putExpiring('prompt', 'r9', 'hello there', Date.now() + 60_000);
      await store.putExpiring('prompt', 'r10', 'gone', Date.now() - 1);
      await store.putExpiring('response', 'r9', '{"a":1}', Date.now() + 60_000);
      expect(await store.getExpiring('prompt', 'r9')).toBe('hello there');
      expect(await store.getExpiring('response', 'r9')).toBe('{"a":1}'); // kinds do not collide
      await new Promise((r) => setTimeout(r, 20));
      expect(await store.getExpiring('prompt', 'r10')).toBeUndefined();
      expect(await store.deleteExpiring('response', 'r9')).toBe(true);
      expect(await store.deleteExpiring('response', 'r9')).toBe(false);
      expect(await store.getExpiring('response', 'r9')).toBeUndefined();
      expect(await store.getExpiring('prompt', 'r9')).toBe('hello there');
      await store.putExpiring('prompt', 'r9', 'replaced', Date.now() + 60_000);
      expect(await store.getExpiring('prompt', 'r9')).toBe('replaced');
    });

    it('forgets decisions and feedback from before a time, and spend from before another', async () => {
      await store.recordDecision(decision('old-1', 1_000, 'forget-route'));
      await store.recordDecision(decision('old-2', 2_000, 'forget-route'));
      await store.recordDecision(decision('new-1', 9_000_000, 'forget-route'));
      await store.recordFeedback('old-1', 0.5, 1_500);
      await store.recordFeedback('new-1', 0.7, 9_000_500);
      await store.addSpend('forget-key', 1, 1_000, 'old-1');
      await store.addSpend('forget-key', 2, 5_000, 'mid-1');
      expect(await store.forget(5_000_000, 3_000)).toBeGreaterThanOrEqual(2); // with the earlier tests' old decisions
      expect(await store.getDecision('old-1')).toBeUndefined();
      expect(await store.getDecision('new-1')).toBeDefined();
      expect((await store.listDecisions({ route: 'forget-route' })).map((d) => d.requestId)).toEqual(['new-1']);
      expect((await store.listDecisions({ limit: 1000 })).some((d) => d.requestId.startsWith('old-'))).toBe(false);
      expect((await store.listFeedback()).filter((f) => ['old-1', 'new-1'].includes(f.requestId)).map((f) => f.requestId)).toEqual(['new-1']);
      expect(await store.spend('forget-key', 0)).toBe(2);
    });

    it('gives a claim to one caller of many at once, until it expires', async () => {
      const claims = await Promise.all(Array.from({ length: 8 }, () => store.claimExpiring('learned', 'req-c', Date.now() + 60_000)));
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await store.claimExpiring('learned', 'req-d', Date.now() + 60_000)).toBe(true); // another id
      expect(await store.claimExpiring('learned', 'req-e', Date.now() + 30)).toBe(true);
      await new Promise((r) => setTimeout(r, 60));
      expect(await store.claimExpiring('learned', 'req-e', Date.now() + 60_000)).toBe(true); // the first claim expired
    });

    it('hands out at most `limit` slots at once, to holders racing for them; gives them back, renews and expires them', async () => {
      const takes = await Promise.all(Array.from({ length: 8 }, (_, k) => store.takeSlot('m#0', `h${k}`, 3, 60_000)));
      expect(takes.filter(Boolean)).toHaveLength(3);
      const holders = takes.flatMap((t, k) => (t ? [`h${k}`] : []));
      expect(await store.takeSlot('m#0', holders[0] as string, 3, 60_000)).toBe(true); // a holder taking its slot again renews it
      expect(await store.takeSlot('m#0', 'late', 3, 60_000)).toBe(false);
      expect(await store.takeSlot('m#1', 'late', 3, 60_000)).toBe(true); // another deployment's slots are its own
      await store.releaseSlot('m#0', holders[0] as string);
      await store.releaseSlot('m#0', 'never-held'); // nothing to give back
      expect(await store.takeSlot('m#0', 'late', 3, 60_000)).toBe(true);
      expect(await store.takeSlot('m#0', 'later', 3, 60_000)).toBe(false);
      // leases: a holder that stops renewing (a replica that died) frees its slot when its lease ends
      expect(await store.takeSlot('m#2', 'renewed', 2, 600)).toBe(true);
      expect(await store.takeSlot('m#2', 'dead', 2, 600)).toBe(true);
      await new Promise((r) => setTimeout(r, 350));
      await store.renewSlots('m#2', ['renewed', 'never-held'], 600);
      expect(await store.takeSlot('m#2', 'newcomer', 2, 600)).toBe(false);
      await new Promise((r) => setTimeout(r, 350)); // 'dead' expired; 'renewed' still held (margins of 250 ms either way for a loaded machine)
      expect(await store.takeSlot('m#2', 'newcomer', 2, 600)).toBe(true);
      expect(await store.takeSlot('m#2', 'third', 2, 600)).toBe(false);
      await store.renewSlots('m#2', ['never-held'], 600);
      expect(await store.takeSlot('m#2', 'third', 2, 600)).toBe(false); // renewing does not take a slot
    });

    it('keeps admin-made API keys: created once per name, updated only when there, listed by name, deleted', async () => {
      const key = { name: 'team-b', sha256: 'b'.repeat(64), dailyBudgetUsd: 5, models: ['auto'], createdAt: 1000 };
      expect(await store.listKeys()).toEqual([]);
      expect(await store.putKey(key, 'update')).toBe(false); // nothing to update yet
      expect(await store.putKey(key, 'create')).toBe(true);
      expect(await store.putKey({ ...key, sha256: 'c'.repeat(64) }, 'create')).toBe(false); // the name is taken: the first stays
      await store.putKey({ name: 'team-a', sha256: 'a'.repeat(64), createdAt: 2000 }, 'create');
      expect(await store.listKeys()).toEqual([{ name: 'team-a', sha256: 'a'.repeat(64), createdAt: 2000 }, key]);
      expect(await store.putKey({ ...key, dailyBudgetUsd: 7 }, 'update')).toBe(true);
      expect((await store.listKeys())[1]).toEqual({ ...key, dailyBudgetUsd: 7 });
      expect(await store.deleteKey('team-a')).toBe(true);
      expect(await store.deleteKey('team-a')).toBe(false);
      expect((await store.listKeys()).map((k) => k.name)).toEqual(['team-b']);
    });
  });
}

storeContract('sqlite', async () => new SqliteStore(':memory:'));
// one file for several gateway processes (server.workers): rate windows in the file
storeContract('sqlite, shared file', async () => new SqliteStore(join(mkdtempSync(join(tmpdir(), 'sy-shared-')), 'sy.db'), { shared: true }));
// encryption at rest is invisible to the store's users
storeContract('sqlite, encrypted', async () => new EncryptedStore(new SqliteStore(':memory:'), createCipher({ keyEnv: 'K', previousKeyEnvs: [] }, { K: randomBytes(32).toString('base64') })));

describe.skipIf(!hasRedis)('redis', () => {
  let redis: Running | undefined;
  afterAll(async () => redis?.stop());
  storeContract('redis', async () => {
    redis = await startRedis();
    const store = new RedisStore({ url: redis.ready, keyPrefix: 'contract:' });
    await store.ready();
    return store;
  });
});

describe.skipIf(!hasRedisCluster)('redis cluster', () => {
  const nodes: Running[] = [];
  afterAll(async () => {
    for (const n of nodes) await n.stop();
  });
  storeContract('redis cluster', async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    nodes.push(...(await startRedisCluster(ports)));
    const store = new RedisStore({ url: 'redis://127.0.0.1', keyPrefix: 'contract:', cluster: { nodes: ports.map((port) => ({ host: '127.0.0.1', port })) } });
    await store.ready();
    return store;
  });
});

describe('sqlite store of an earlier version', () => {
  it('gains the columns added since, keeping its decisions', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sy-old-')), 'old.db');
    const old = new Database(file);
    old.exec(`CREATE TABLE decisions (request_id TEXT PRIMARY KEY, time INTEGER NOT NULL, route TEXT NOT NULL, key_id TEXT, lambda REAL NOT NULL,
      chosen TEXT NOT NULL, answered TEXT, reason TEXT NOT NULL, candidates TEXT NOT NULL, cost_usd REAL NOT NULL, latency_ms REAL NOT NULL, status INTEGER NOT NULL, prompt TEXT)`);
    old.prepare('INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').run('r-old', 500, 'auto', 'k', 0.3, 'a', 'b', 'why', '[]', 0.001, 5, 200, null);
    old.close();
    const store = new SqliteStore(file);
    await store.recordDecision({ ...decision('r-new', 1000), tags: { user: 'u-1' } });
    expect((await store.getDecision('r-old'))?.tags).toBeUndefined();
    expect((await store.getDecision('r-new'))?.tags).toEqual({ user: 'u-1' });
    await store.close();
  });
});

describe('sqlite store commits', () => {
  it('commits each write at once with commitMs 0, and a batch every commitMs otherwise (what another connection, or a restart after a kill, sees)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-commit-'));
    const visible = (file: string): number => {
      const other = new Database(file, { readonly: true });
      try {
        return (other.prepare('SELECT COUNT(*) AS n FROM decisions').get() as { n: number }).n;
      } finally {
        other.close();
      }
    };
    const now = new SqliteStore(join(dir, 'now.db'), { commitMs: 0 });
    await now.recordDecision(decision('r-1', 1000));
    expect(visible(join(dir, 'now.db'))).toBe(1);
    const batched = new SqliteStore(join(dir, 'batched.db'), { commitMs: 200 });
    await batched.recordDecision(decision('r-1', 1000));
    expect(visible(join(dir, 'batched.db'))).toBe(0); // still in this process's batch
    await new Promise((r) => setTimeout(r, 400));
    expect(visible(join(dir, 'batched.db'))).toBe(1);
    await now.close();
    await batched.close();
  });
});

describe('sqlite store rate counters', () => {
  it('forget past windows once there are many (one per end user would otherwise stay for good)', async () => {
    const store = new SqliteStore(':memory:');
    for (let k = 0; k < 10_050; k++) await store.countInWindow('requests', `user:app:u${k}`, 60_000);
    expect(await store.countInWindow('requests', 'user:app:u1', 60_000)).toBe(2); // this window's counts stay
    expect(await store.countInWindow('requests', 'user:app:u1', 120_000)).toBe(1); // the next window sweeps the past ones
    expect((store as unknown as { rates: Map<string, unknown> }).rates.size).toBe(1);
    await store.close();
  });
});

describe('sqlite store shared by processes (server.workers)', () => {
  it('counts rate windows in the file, so every process sees the others\' counts, and sweeps past windows', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sy-rates-')), 'sy.db');
    const [a, b] = [new SqliteStore(file, { shared: true }), new SqliteStore(file, { shared: true })];
    expect(await a.countInWindow('requests', 'team', 60_000)).toBe(1);
    expect(await b.countInWindow('requests', 'team', 60_000)).toBe(2);
    expect(await a.countInWindow('tokens', 'team', 60_000, 300)).toBe(300);
    expect(await b.countInWindow('requests', 'team', 600_000)).toBe(1); // a later window starts at zero, and sweeps the old ones
    const rows = (new Database(file).prepare('SELECT COUNT(*) AS n FROM rate_windows').get() as { n: number }).n;
    expect(rows).toBe(1);
    expect(a.shared && b.shared).toBe(true);
    await a.close();
    await b.close();
  });
});

describe('sqlite store retention', () => {
  it('deletes old rows in chunks, all of them', async () => {
    const store = new SqliteStore(':memory:');
    for (let k = 0; k < 12_000; k++) await store.recordDecision(decision(`old-${k}`, 1_000 + k));
    await store.recordDecision(decision('new', 1_000_000));
    expect(await store.forget(500_000, 0)).toBe(12_000);
    expect((await store.listDecisions({ limit: 100 })).map((d) => d.requestId)).toEqual(['new']);
    await store.close();
  });
});
