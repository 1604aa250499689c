/**
 * A model's maxInFlight shared by replicas: the slots' leases (against the SQLite store, which holds
 * slots as Redis does), and two gateway replicas on one redis-server (the test starts it) driven by
 * the openai SDK, with a counting proxy in front of the slow model measuring its calls in flight.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hasRedis, startRedis, type Running } from '../../test/helpers/processes.js';
import { syntheticRows } from '../../test/helpers/synthetic.js';
import { fitKnnRoute } from '../../test/helpers/fitted-router.js';
import { loadDataset } from '../data/load.js';
import { writeDataset } from '../data/write.js';
import { parseGatewayConfig } from './config.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { Gateway } from './server.js';
import { SharedSlots, type SlotStore } from './shared-slots.js';
import { createRng } from '../core/random.js';
import { ModelUpstreams } from './deployments.js';
import { callModel, pickWaiting } from './model-call.js';
import { RedisStore } from './store/redis-store.js';
import { SqliteStore } from './store/sqlite-store.js';

if (!hasRedis) console.warn('SKIP: redis-server is not installed (apt-get install -y redis-server), so maxInFlight shared by two replicas cannot run');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('shared slots', () => {
  it('hands out at most the limit, and a slot given back goes to the next call', async () => {
    const store = new SqliteStore(':memory:');
    const slots = new SharedSlots(store, () => undefined);
    const taken = await Promise.all([1, 2, 3].map(() => slots.take('m#0', 2)));
    expect(taken.filter((t) => typeof t === 'string')).toHaveLength(2);
    expect(taken).toContain(false);
    expect(slots.holding).toBe(2);
    slots.give('m#0', taken[0] as string);
    await sleep(5);
    expect(typeof (await slots.take('m#0', 2))).toBe('string');
    slots.close();
    await store.close();
  });

  it('keeps renewing the slots of calls that last longer than a lease, and lets the lease of a process that stopped end', async () => {
    const store = new SqliteStore(':memory:');
    const alive = new SharedSlots(store, () => undefined, 600);
    const dead = new SharedSlots(store, () => undefined, 600);
    expect(typeof (await alive.take('m#0', 2))).toBe('string');
    expect(typeof (await dead.take('m#0', 2))).toBe('string');
    dead.close(); // a replica that died: it renews nothing more
    await sleep(1400); // over two leases (renewals every 200 ms: 400 ms of slack for a loaded machine)
    expect(await alive.take('m#0', 2)).toMatch(/:/); // the dead replica's slot came free; the live one's call still holds its own
    expect(await alive.take('m#0', 2)).toBe(false);
    alive.close();
    await store.close();
  });

  it('while calls wait under queueMs for slots the other replicas hold, one of them asks the store at a time, not each', async () => {
    let asked = 0;
    const full: SlotStore = { takeSlot: async () => (asked++, false), releaseSlot: async () => undefined, renewSlots: async () => undefined };
    const slots = new SharedSlots(full, () => undefined);
    const model = { baseURL: 'http://127.0.0.1:9/v1', inputPricePerMTok: 1, outputPricePerMTok: 1, maxInFlight: 1, queueMs: 500 };
    const upstreams = new ModelUpstreams(model as never, { failureThreshold: 3, cooldownMs: 1000 }, Date.now, { id: 'm', slots, minutes: { reserve: async () => 0, onError: () => undefined } });
    const deps = { post: (() => Promise.reject(new Error('never called'))) as never, env: {}, upstreams, retry: { maxRetries: 0, rng: createRng(0), now: Date.now, sleep: async () => undefined } };
    const calls = await Promise.all(Array.from({ length: 10 }, () => callModel(model as never, 'm', {}, { firstByteMs: 100, totalMs: 100 }, deps)));
    expect(calls.every((c) => c.kind === 'failed' && c.busy === true)).toBe(true); // 429 after queueMs: the slots never came free
    // each call asks once when it starts; then ~one ask every 50 ms over the 500 ms, not ten (each waiting call on its own: ~100)
    expect(asked).toBeGreaterThanOrEqual(10 + 5);
    expect(asked).toBeLessThanOrEqual(10 + 15);
    slots.close();
  });

  it('takes the slot when the other replicas\' hold lapses between its look and its check, instead of giving up', async () => {
    const full: SlotStore = { takeSlot: async () => false, releaseSlot: async () => undefined, renewSlots: async () => undefined };
    const slots = new SharedSlots(full, () => undefined);
    const model = { baseURL: 'http://127.0.0.1:9/v1', inputPricePerMTok: 1, outputPricePerMTok: 1, maxInFlight: 1, queueMs: 5000 };
    const upstreams = new ModelUpstreams(model as never, { failureThreshold: 3, cooldownMs: 1000 }, Date.now, { id: 'm', slots, minutes: { reserve: async () => 0, onError: () => undefined } });
    expect(await upstreams.claim(0)).toBe(false); // held elsewhere: marked full for a moment
    // the clock as the wait reads it: its deadline and its pick see the mark, the check after sees it lapsed
    const base = performance.now();
    let reads = 0;
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => (reads++ < 2 ? base : base + 10_000));
    try {
      expect(await pickWaiting(upstreams, createRng(0), new Set(), 0, 5000, undefined)).toBe(0);
    } finally {
      clock.mockRestore();
      slots.close();
    }
  });

  it('says null (count here alone) when the store does not answer, and reports why', async () => {
    const errors: unknown[] = [];
    const broken: SlotStore = { takeSlot: () => Promise.reject(new Error('down')), releaseSlot: () => Promise.reject(new Error('down')), renewSlots: () => Promise.resolve() };
    const slots = new SharedSlots(broken, (e) => errors.push(e));
    expect(await slots.take('m#0', 1)).toBeNull();
    expect(errors).toHaveLength(1);
    slots.close();
  });
});

describe.skipIf(!hasRedis)('a model maxInFlight shared by two replicas on one Redis (openai SDK → gateways → counting proxy → replay-upstream)', () => {
  let redis: Running | undefined;
  const upstreams: ReplayUpstream[] = [];
  let counting: Server | undefined;
  const gateways: Gateway[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'sy-slots-'));
  const { meta, rows } = syntheticRows({ prompts: 120 });
  const prompt = (rows.find((r) => r.split === 'test') as (typeof rows)[number]).prompt;
  let artifact = '';
  let best = '';
  let fastURL = '';
  let countingURL = '';
  /** Calls in flight at the slow model now, and the most seen at once. */
  const seen = { now: 0, most: 0 };

  beforeAll(async () => {
    redis = await startRedis();
    writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] ${r.id}` }))));
    const data = await ReplayData.load(loadDataset(dir));
    const fast = new ReplayUpstream(data);
    const slow = new ReplayUpstream(data, { latencyMs: 300 });
    upstreams.push(fast, slow);
    fastURL = await fast.listen();
    const slowURL = await slow.listen();
    // counts the slow model's calls in flight, whichever replica sends them
    counting = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.now++;
        seen.most = Math.max(seen.most, seen.now);
        void fetch(`${slowURL}${(req.url ?? '').replace(/^\/v1/, '')}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.concat(chunks) })
          .then(async (up) => {
            const text = await up.text();
            seen.now--;
            res.writeHead(up.status, { 'content-type': 'application/json' }).end(text);
          })
          .catch(() => {
            seen.now--;
            res.writeHead(502).end();
          });
      });
    });
    await new Promise<void>((r) => counting?.listen(0, '127.0.0.1', r));
    countingURL = `http://127.0.0.1:${(counting.address() as AddressInfo).port}/v1`;
    ({ artifact, choice: best } = await fitKnnRoute(meta, rows, dir, prompt));
  });
  afterAll(async () => {
    for (const g of gateways) await g.close().catch(() => undefined);
    for (const u of upstreams) await u.close();
    counting?.close();
    await redis?.stop();
  });

  /** Two replicas sharing one Redis; the router's first choice is slow, behind the counting proxy, with `limits`. */
  const replicas = async (prefix: string, limits: Record<string, number>): Promise<OpenAI[]> => {
    const url = (redis as Running).ready;
    const models = Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: m.id === best ? countingURL : fastURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok, ...(m.id === best ? limits : {}) }]));
    const clients: OpenAI[] = [];
    for (let k = 0; k < 2; k++) {
      const config = parseGatewayConfig({ server: { port: 0 }, retries: 0, store: { backend: 'redis', url, keyPrefix: prefix }, models, routes: { auto: { router: artifact, lambda: 0 } } });
      const g = await Gateway.create(config, { store: new RedisStore({ url, keyPrefix: prefix }), logger: pino({ level: 'silent' }) });
      gateways.push(g);
      clients.push(new OpenAI({ baseURL: await g.listen(), apiKey: 'sk-test', maxRetries: 0 }));
    }
    return clients;
  };

  it('sends the model no more calls at once than its maxInFlight, over both replicas; the rest spill over to the next-best', async () => {
    const clients = await replicas('slots-a:', { maxInFlight: 2 });
    seen.most = 0;
    const answers = await Promise.all(Array.from({ length: 6 }, (_, k) => (clients[k % 2] as OpenAI).chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }).withResponse()));
    const toBest = answers.filter((a) => a.response.headers.get('x-switchyard-model') === best);
    expect(seen.most).toBe(2); // counted per process, each replica would have sent 2
    expect(toBest).toHaveLength(2);
    for (const a of answers.filter((x) => !toBest.includes(x))) expect(a.response.headers.get('x-switchyard-fallback-from')).toBe(best);
    // the slots are given back: the model takes calls again
    const again = await (clients[1] as OpenAI).chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }).withResponse();
    expect(again.response.headers.get('x-switchyard-model')).toBe(best);
  });

  it('with queueMs, calls at both replicas wait in line for the one slot and are answered by the model one at a time', async () => {
    const clients = await replicas('slots-b:', { maxInFlight: 1, queueMs: 10_000 });
    seen.most = 0;
    const answers = await Promise.all(Array.from({ length: 4 }, (_, k) => (clients[k % 2] as OpenAI).chat.completions.create({ model: best, messages: [{ role: 'user', content: prompt }] }).withResponse()));
    expect(answers.every((a) => a.response.headers.get('x-switchyard-model') === best)).toBe(true);
    expect(seen.most).toBe(1);
  });
});
