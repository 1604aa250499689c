/**
 * Minute limits (a model's requestsPerMinute / tokensPerMinute): counted in one process, or shared by
 * replicas through leases of the store's counters — unit tests against a counter in memory, and two
 * gateway replicas on one redis-server (the test starts it) with the openai SDK.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { hasRedis, startRedis, type Running } from '../../test/helpers/processes.js';
import { syntheticRows } from '../../test/helpers/synthetic.js';
import { fitKnnRoute } from '../../test/helpers/fitted-router.js';
import { loadDataset } from '../data/load.js';
import { writeDataset } from '../data/write.js';
import { parseGatewayConfig } from './config.js';
import { MinuteLimit, type SharedMinutes } from './minute-limit.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { Gateway } from './server.js';
import { RedisStore } from './store/redis-store.js';

if (!hasRedis) console.warn('SKIP: redis-server is not installed (apt-get install -y redis-server), so minute limits shared by two replicas cannot run');

/** The store's counters, in memory: what a Redis INCRBY would answer. */
function counters(): SharedMinutes & { totals: Map<string, number>; errors: unknown[]; down: boolean } {
  const totals = new Map<string, number>();
  const errors: unknown[] = [];
  const store = {
    totals,
    errors,
    down: false,
    reserve: async (id: string, window: number, amount: number): Promise<number> => {
      if (store.down) throw new Error('connection refused');
      const key = `${id}@${window}`;
      const total = (totals.get(key) ?? 0) + amount;
      totals.set(key, total);
      return total;
    },
    onError: (e: unknown) => void errors.push(e),
  };
  return store;
}

/** Calls through `limit` while it fits (reserving a lease whenever it runs out), up to `most`. */
async function callWhileRoom(limit: MinuteLimit, most: number, units = 1): Promise<number> {
  let made = 0;
  while (made < most) {
    if (limit.needsLease(units)) await limit.lease(units);
    if (!limit.fits(units)) break;
    limit.take(units);
    made++;
  }
  return made;
}

describe('MinuteLimit', () => {
  it('counts one process against the whole limit, and starts again each minute', () => {
    let t = Date.parse('2026-11-22T10:00:50Z');
    const limit = new MinuteLimit(3, () => t);
    for (let k = 0; k < 3; k++) expect(limit.fits(1)).toBe(true), limit.take(1);
    expect(limit.fits(1)).toBe(false);
    expect(limit.needsLease(1)).toBe(false); // nothing to reserve: the limit is this process's own
    expect(limit.retryAfterS).toBe(10);
    t += 10_000;
    expect(limit.fits(3)).toBe(true);
    expect(limit.fits(4)).toBe(false);
  });

  it('shared: two replicas together make no more calls a minute than the limit, each reserving a share at a time', async () => {
    let t = Date.parse('2026-11-22T10:00:00Z');
    const store = counters();
    const [a, b] = [0, 1].map(() => new MinuteLimit(100, () => t, { id: 'requests:m#0', minutes: store })) as [MinuteLimit, MinuteLimit];
    const fromA = await callWhileRoom(a, 70);
    const fromB = await callWhileRoom(b, 1000);
    expect(fromA).toBe(70);
    expect(fromA + fromB).toBeLessThanOrEqual(100);
    expect(fromA + fromB).toBeGreaterThanOrEqual(95); // at most one unused share (5) is lost to the other replica
    expect(await callWhileRoom(a, 1000)).toBeLessThanOrEqual(100 - fromA - fromB + 5);
    const reservations = [...store.totals.values()][0] as number;
    expect(reservations).toBeGreaterThanOrEqual(100); // the counter says the minute is taken
    t += 60_000; // the next minute: a fresh count
    expect(await callWhileRoom(b, 30)).toBe(30);
    expect(store.errors).toEqual([]);
  });

  it('shared: a call larger than one share reserves what it needs; one larger than the limit never fits', async () => {
    const store = counters();
    const tokens = new MinuteLimit(1000, () => 0, { id: 'tokens:m#0', minutes: store });
    expect(await callWhileRoom(tokens, 1, 800)).toBe(1);
    expect(await callWhileRoom(tokens, 1, 300)).toBe(0); // 800 + 300 > 1000
    expect(await callWhileRoom(tokens, 1, 200)).toBe(1);
    expect(tokens.needsLease(1001)).toBe(false);
    expect(tokens.fits(1001)).toBe(false);
  });

  it('shared: a store that does not answer leaves the minute counted by this process alone, and says so', async () => {
    const store = counters();
    store.down = true;
    const limit = new MinuteLimit(10, () => 0, { id: 'requests:m#0', minutes: store });
    expect(await callWhileRoom(limit, 1000)).toBe(10);
    expect(store.errors.length).toBe(1); // once a minute, not once a call
  });
});

describe.skipIf(!hasRedis)('a model requestsPerMinute shared by two replicas on one Redis (openai SDK → gateways → replay-upstream)', () => {
  let redis: Running | undefined;
  let upstream: ReplayUpstream | undefined;
  const gateways: Gateway[] = [];
  afterAll(async () => {
    for (const g of gateways) await g.close().catch(() => undefined);
    await upstream?.close();
    await redis?.stop();
  });

  it("sends the best model no more calls in a minute than its limit, over both replicas; the rest spill over to the next-best", async () => {
    redis = await startRedis();
    const dir = mkdtempSync(join(tmpdir(), 'sy-minutes-'));
    const { meta, rows } = syntheticRows({ prompts: 120 });
    writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] ${r.id}` }))));
    upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
    const upstreamURL = await upstream.listen();
    const prompt = (rows.find((r) => r.split === 'test') as (typeof rows)[number]).prompt;
    const { artifact, choice: best } = await fitKnnRoute(meta, rows, dir, prompt);
    const models = Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: upstreamURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok, ...(m.id === best ? { requestsPerMinute: 20 } : {}) }]));
    const t = Date.parse('2026-11-22T10:00:05Z');
    const clients: OpenAI[] = [];
    for (let k = 0; k < 2; k++) {
      const config = parseGatewayConfig({ server: { port: 0 }, retries: 0, store: { backend: 'redis', url: redis.ready, keyPrefix: 'minutes-test:' }, models, routes: { auto: { router: artifact, lambda: 0 } } });
      const g = await Gateway.create(config, { store: new RedisStore({ url: redis.ready, keyPrefix: 'minutes-test:' }), logger: pino({ level: 'silent' }), now: () => t });
      gateways.push(g);
      clients.push(new OpenAI({ baseURL: await g.listen(), apiKey: 'sk-test', maxRetries: 0 }));
    }
    const answeredBy: string[] = [];
    for (let k = 0; k < 40; k++) {
      const { response } = await (clients[k % 2] as OpenAI).chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }).withResponse();
      answeredBy.push(response.headers.get('x-switchyard-model') as string);
    }
    const toBest = answeredBy.filter((m) => m === best).length;
    expect(toBest).toBeLessThanOrEqual(20); // counted per process, each replica would have sent 20
    expect(toBest).toBeGreaterThanOrEqual(18); // one share (1 call) each may be left unused
    expect(answeredBy.slice(0, 10).every((m) => m === best)).toBe(true);
    expect(answeredBy.slice(-5).every((m) => m !== best)).toBe(true);
  });
});
