/**
 * Slow models (`routes.X.latency`): the window of recent times to first byte, and a route that sets
 * a model slow now apart — the router chooses among the others, the slow one is tried last — until
 * its slow calls are older than the window. Official openai SDK → gateway (trained router at λ = 0)
 * → replay-upstreams, the router's choice behind one that answers late; `GET /v1/admin/models` shows it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticRows } from '../../test/helpers/synthetic.js';
import { buildMatrix, loadDataset } from '../data/load.js';
import { writeDataset } from '../data/write.js';
import { createRouter } from '../routers/registry.js';
import { hashKey } from './auth.js';
import { parseGatewayConfig } from './config.js';
import { FirstByteTimes, LatencyConfigSchema, setSlowApart, slowness } from './latency.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

describe('FirstByteTimes and slowness', () => {
  const config = LatencyConfigSchema.parse({ maxFirstByteMs: 100, quantile: 0.9, windowS: 10, minCalls: 3 });

  it('judges a model by the quantile of its calls within the window, once it has enough of them', () => {
    const t = new FirstByteTimes();
    t.record(500, 0);
    t.record(500, 1000);
    expect(slowness(t, config, 2000)).toBeUndefined(); // 2 calls: not judged
    t.record(20, 2000);
    expect(slowness(t, config, 2000)).toBe('p90 first byte 500 ms over its last 3 calls > 100 ms');
    // the first slow call leaves the window: 500 and 20 remain, too few to judge
    expect(slowness(t, config, 10_500)).toBeUndefined();
    for (let k = 0; k < 9; k++) t.record(30, 11_000);
    expect(slowness(t, config, 11_000)).toBeUndefined(); // p90 of [20, 30 × 9, 500] is 30
    expect(t.quantile(1, 11_000 - 10_000)).toEqual({ ms: 500, calls: 11 });
  });

  it('reuses a quantile within a step until a sixteenth of its calls are new, and is exact while few', () => {
    const t = new FirstByteTimes();
    for (let k = 0; k < 64; k++) t.record(10, 1000);
    expect(t.quantile(1, 0)).toEqual({ ms: 10, calls: 64 });
    for (let k = 0; k < 3; k++) t.record(900, 1000);
    expect(t.quantile(1, 0)).toEqual({ ms: 10, calls: 64 }); // 3 new of 64: the last answer stands
    t.record(900, 1000);
    expect(t.quantile(1, 0)).toEqual({ ms: 900, calls: 68 }); // 4 = 64 / 16: computed again
    t.record(5, 1000);
    expect(t.quantile(1, 300)).toEqual({ ms: 900, calls: 69 }); // another step of `since`: computed again
    const few = new FirstByteTimes();
    few.record(10, 0);
    expect(few.quantile(1, 0)?.ms).toBe(10);
    few.record(20, 0);
    expect(few.quantile(1, 0)?.ms).toBe(20);
  });

  it('sets apart only the slow models, and none when all are slow', () => {
    const times = new Map([['a', new FirstByteTimes()], ['b', new FirstByteTimes()]]);
    for (let k = 0; k < 3; k++) times.get('a')?.record(400, 0);
    const split = setSlowApart(['a', 'b', 'c'], (id) => times.get(id), config, 0);
    expect(split.fast).toEqual(['b', 'c']);
    expect(split.slow.map((s) => s.model)).toEqual(['a']);
    for (let k = 0; k < 3; k++) times.get('b')?.record(400, 0);
    expect(setSlowApart(['a', 'b'], (id) => times.get(id), config, 0)).toEqual({ fast: ['a', 'b'], slow: [] });
  });
});

describe('a route with latency: a slow model is tried last (openai SDK → gateway → replay-upstreams)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-slow-'));
  const { meta, rows } = syntheticRows({ prompts: 120 });
  writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] an answer to ${r.id}` }))));
  const prompt = (rows.find((r) => r.split === 'test') as (typeof rows)[number]).prompt;
  const upstreams: ReplayUpstream[] = [];
  let gateway: Gateway;
  let client: OpenAI;
  let best = '';
  let second = '';
  let clock = 1_800_000_000_000;

  beforeAll(async () => {
    const data = await ReplayData.load(loadDataset(dir));
    const fast = new ReplayUpstream(data);
    const late = new ReplayUpstream(data, { latencyMs: 120 });
    upstreams.push(fast, late);
    const [fastURL, lateURL] = [await fast.listen(), await late.listen()];
    const router = createRouter('linear:encoder=hashing:dim=256');
    await router.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
    const artifact = join(dir, 'linear.json');
    writeFileSync(artifact, JSON.stringify(router.toArtifact()));
    const decision = (await router.route([{ text: prompt }], { lambda: 0 }))[0];
    best = decision?.models[0] as string;
    second = [...(decision?.candidates ?? [])].sort((a, b) => (b.utility ?? 0) - (a.utility ?? 0)).map((c) => c.model).find((m) => m !== best) as string;
    const config = parseGatewayConfig({
      server: { port: 0 },
      store: { outbox: false },
      retries: 0,
      models: Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: m.id === best ? lateURL : fastURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }])),
      routes: { auto: { router: artifact, lambda: 0, latency: { maxFirstByteMs: 60, minCalls: 3, windowS: 30 } } },
      auth: { adminKeys: [{ name: 'ops', sha256: hashKey('sk-admin'), role: 'read' }] },
    });
    gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ enabled: false }), now: () => clock });
    client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'sk-test', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    for (const u of upstreams) await u.close();
  });

  const escaped = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const answeredBy = async (): Promise<string | null> => (await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }).withResponse()).response.headers.get('x-switchyard-model');

  it('chooses among the others while the best model answers late, and chooses it again once its slow calls are out of the window', async () => {
    for (let k = 0; k < 3; k++) expect(await answeredBy()).toBe(best); // not judged before 3 calls
    expect(await answeredBy()).toBe(second);
    const [last] = await gateway.store.listDecisions({ limit: 1 });
    expect(last?.reason).toMatch(new RegExp(`tried last, slow now: ${escaped(best)} \\(p90 first byte \\d+ ms over its last 3 calls > 60 ms\\)`));
    expect(await gateway.metrics.registry.metrics()).toMatch(new RegExp(`switchyard_slow_models_total\\{route="auto",model="${escaped(best)}"\\} 1`));
    const p90 = new RegExp(`switchyard_model_first_byte_seconds\\{model="${escaped(best)}",quantile="0.9"\\} (\\S+)`).exec(await gateway.metrics.registry.metrics());
    expect(Number(p90?.[1])).toBeGreaterThan(0.06); // what it is judged by, in /metrics too
    // the admin API shows it: its recent first-byte times, and the route that counts it slow
    const status = (await (await fetch(`${client.baseURL}/admin/models`, { headers: { authorization: 'Bearer sk-admin' } })).json()) as { data: Array<{ id: string; circuit: string; first_byte_ms_last_minute: { calls: number; p90: number }; slow_in_routes: Array<{ route: string }>; routes: string[] }> };
    const shown = status.data.find((m) => m.id === best);
    expect(shown).toMatchObject({ circuit: 'closed', slow_in_routes: [{ route: 'auto' }], routes: ['auto'] });
    expect(shown?.first_byte_ms_last_minute.calls).toBe(3);
    expect(shown?.first_byte_ms_last_minute.p90).toBeGreaterThan(60);
    expect(status.data.find((m) => m.id === second)).toMatchObject({ slow_in_routes: [], first_byte_ms_last_minute: { calls: 1 } });
    clock += 31_000; // its slow calls leave the window: it is the router's choice again
    expect(await answeredBy()).toBe(best);
  });
});
