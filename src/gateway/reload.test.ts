/**
 * Gateway.reload with models changed: added, removed, repriced, moved — without a restart, with the
 * requests in flight finishing on the models they started with, and circuit breakers kept for the
 * models whose config did not change. Official openai SDK → gateway → replay-upstream servers.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticRows } from '../../test/helpers/synthetic.js';
import { waitFor } from '../../test/helpers/wait.js';
import { loadDataset } from '../data/load.js';
import { writeDataset } from '../data/write.js';
import { parseGatewayConfig } from './config.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

describe('reloading models without a restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-reload-'));
  const { meta, rows } = syntheticRows({ prompts: 20 });
  writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] an answer to ${r.id}` }))));
  const prompt = (rows[0] as (typeof rows)[number]).prompt;
  const [a, b] = [meta.models[0]?.id as string, meta.models[1]?.id as string];
  const servers: ReplayUpstream[] = [];
  const url: Record<'fast' | 'slow' | 'broken', string> = { fast: '', slow: '', broken: '' };
  let gateway: Gateway;
  let client: OpenAI;
  let base: string;

  const config = (models: Record<string, { at: keyof typeof url; price?: number }>) =>
    parseGatewayConfig({
      server: { port: 0 },
      store: { outbox: false },
      retries: 0,
      models: Object.fromEntries(Object.entries(models).map(([id, m]) => [id, { baseURL: url[m.at], inputPricePerMTok: m.price ?? 1, outputPricePerMTok: m.price ?? 1 }])),
      routes: {},
    });
  const ask = (model: string) => client.chat.completions.create({ model, messages: [{ role: 'user', content: prompt }] }).withResponse();
  const circuit = async (model: string): Promise<string | undefined> => (await (await fetch(`${base}/metrics`)).text()).match(new RegExp(`switchyard_circuit_state\\{model="${model}"\\} (\\d)`))?.[1];

  beforeAll(async () => {
    const data = await ReplayData.load(loadDataset(dir));
    const make = async (key: keyof typeof url, s: ReplayUpstream): Promise<void> => {
      servers.push(s);
      url[key] = await s.listen();
    };
    await make('fast', new ReplayUpstream(data));
    await make('slow', new ReplayUpstream(data, { latencyMs: 400 }));
    await make('broken', new ReplayUpstream(data, { faultRate: 1, faults: ['500'] }));
    gateway = await Gateway.create(config({ [a]: { at: 'fast' } }), { store: new SqliteStore(':memory:'), logger: pino({ enabled: false }) });
    const v1 = await gateway.listen();
    base = v1.replace(/\/v1$/, '');
    client = new OpenAI({ baseURL: v1, apiKey: 'sk-test', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    for (const s of servers) await s.close();
  });

  it('adds, reprices and removes models; a request in flight finishes on the model it started with', async () => {
    await expect(ask(b)).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    expect(await gateway.reload(config({ [a]: { at: 'fast' }, [b]: { at: 'slow', price: 10 } }))).toMatchObject({ models: { added: [b], removed: [], changed: [] } });
    const viaB = await ask(b);
    expect(viaB.data.model).toBe(b);
    const costAt10 = Number(viaB.response.headers.get('x-switchyard-cost-usd'));
    expect((await client.models.list()).data.map((m) => m.id)).toEqual([a, b]);

    // repriced while a request on it is in flight (the slow upstream takes 400 ms), then removed
    const slow = servers[1] as ReplayUpstream;
    let arrived = slow.received;
    const inFlight = ask(b);
    await waitFor(() => slow.received > arrived, 'the slow upstream to have the request');
    expect((await gateway.reload(config({ [a]: { at: 'fast' }, [b]: { at: 'slow', price: 20 } }))).models.changed).toEqual([b]);
    expect(Number((await inFlight).response.headers.get('x-switchyard-cost-usd'))).toBeCloseTo(costAt10, 12); // the prices it started with
    expect(Number((await ask(b)).response.headers.get('x-switchyard-cost-usd'))).toBeCloseTo(2 * costAt10, 12);
    arrived = slow.received;
    const removing = ask(b);
    await waitFor(() => slow.received > arrived, 'the slow upstream to have the request');
    expect((await gateway.reload(config({ [a]: { at: 'fast' } }))).models.removed).toEqual([b]);
    expect((await removing).data.model).toBe(b); // started before the reload: answered
    await expect(ask(b)).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    expect((await client.models.list()).data.map((m) => m.id)).toEqual([a]);
    expect(await circuit(b)).toBeUndefined(); // no longer reported
  });

  it('keeps the circuit breaker of a model whose config did not change, and starts a fresh one for a model that moved', async () => {
    await gateway.reload(config({ [a]: { at: 'broken' } }));
    for (let k = 0; k < 5; k++) await expect(ask(a)).rejects.toMatchObject({ status: 502 });
    expect(await circuit(a)).toBe('2'); // open after 5 failures
    await gateway.reload(config({ [a]: { at: 'broken' }, [b]: { at: 'fast' } }));
    expect(await circuit(a)).toBe('2'); // unchanged model: still open
    expect(await circuit(b)).toBe('0');
    await gateway.reload(config({ [a]: { at: 'fast' }, [b]: { at: 'fast' } }));
    expect(await circuit(a)).toBe('0'); // moved to a working endpoint: a fresh breaker
    expect((await ask(a)).data.model).toBe(a);
  });

  it('applies timeouts, retries, the answer cache and logging too; says what still needs a restart', async () => {
    const base = config({ [a]: { at: 'fast' } });
    await gateway.reload(base);
    const on = { ...base, cache: { ...base.cache, enabled: true }, retries: 3, timeouts: { ...base.timeouts, totalMs: 60_000 } };
    expect((await gateway.reload(on)).ignored).toEqual([]);
    expect(gateway.config.retries).toBe(3);
    expect(gateway.config.timeouts.totalMs).toBe(60_000);
    await ask(a);
    expect((await ask(a)).response.headers.get('x-switchyard-cache')).toBe('hit'); // the cache is on without a restart
    const moved = { ...on, server: { ...on.server, port: 1 }, timeouts: { ...on.timeouts, connectMs: 1 } };
    expect((await gateway.reload(moved)).ignored).toEqual(['server', 'timeouts.connectMs']);
    expect(gateway.config.timeouts.connectMs).toBe(base.timeouts.connectMs); // kept: the pools use it
    const off = await gateway.reload({ ...on, cache: { ...on.cache, enabled: false } });
    expect(off.ignored).toEqual([]);
    expect((await ask(a)).response.headers.get('x-switchyard-cache')).toBeNull();
  });

  it('keeps the transport of a model that did not change (an in-process replay model) when another one changes', async () => {
    const replay = { provider: 'replay', data: dir, inputPricePerMTok: 1, outputPricePerMTok: 1 };
    const withReplay = (price: number) => parseGatewayConfig({ server: { port: 0 }, store: { outbox: false }, retries: 0, models: { [a]: replay, [b]: { baseURL: url.fast, inputPricePerMTok: price, outputPricePerMTok: price } }, routes: {} });
    await gateway.reload(withReplay(1));
    expect((await ask(a)).data.choices[0]?.message.content).toMatch(/an answer to/);
    expect((await gateway.reload(withReplay(5))).models).toEqual({ added: [], removed: [], changed: [b] });
    expect((await ask(a)).data.choices[0]?.message.content).toMatch(/an answer to/); // still served in process
    expect((await ask(b)).data.model).toBe(b);
  });

  it('keeps the running models and routes when a route of the new config does not load', async () => {
    await gateway.reload(config({ [a]: { at: 'fast' }, [b]: { at: 'fast' } }));
    const bad = { ...config({ [a]: { at: 'fast' } }), routes: { auto: { router: join(dir, 'missing.json'), lambda: 0.5, schedule: [] } } } as unknown as ReturnType<typeof config>;
    await expect(gateway.reload(bad)).rejects.toThrow(/missing\.json/);
    expect((await client.models.list()).data.map((m) => m.id)).toEqual([a, b]);
  });
});
