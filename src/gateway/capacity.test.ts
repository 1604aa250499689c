/**
 * Capacity: a model's `maxInFlight`, `requestsPerMinute` and `tokensPerMinute` (a full model's
 * requests spill over to the route's next-best model; one named directly gets 429 with retry-after) and the gateway's `server.maxInFlight` (503
 * `overloaded`), end to end with the openai SDK against replay upstreams.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticRows } from '../../test/helpers/synthetic.js';
import { fitKnnRoute } from '../../test/helpers/fitted-router.js';
import { waitFor } from '../../test/helpers/wait.js';
import { createRng } from '../core/random.js';
import { loadDataset } from '../data/load.js';
import { writeDataset } from '../data/write.js';
import { parseGatewayConfig, type GatewayConfig } from './config.js';
import { ModelUpstreams } from './deployments.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

describe('deployments with maxInFlight', () => {
  it('picks only deployments with room, and says when every one is full', () => {
    const u = new ModelUpstreams({ baseURL: 'http://a/v1', maxInFlight: 2, deployments: [{ baseURL: 'http://a/v1', weight: 1 }, { baseURL: 'http://b/v1', weight: 1, maxInFlight: 1 }] } as never, { failureThreshold: 3, cooldownMs: 1000 }, () => 0);
    const rng = createRng(3);
    u.acquire(1);
    for (let k = 0; k < 20; k++) expect(u.pick(rng, new Set())).toBe(0); // b is full (its own cap, 1)
    u.acquire(0);
    expect(u.full()).toBe(false);
    u.acquire(0);
    expect(u.full()).toBe(true); // a took the model's cap, 2
    expect(u.pick(rng, new Set())).toBeUndefined();
    expect(u.inFlight).toBe(3);
    u.release(1);
    expect(u.pick(rng, new Set())).toBe(1);
  });
});

describe('deployments with requestsPerMinute', () => {
  it('skip a deployment over its calls this minute until the next minute, and say how long to wait', () => {
    let t = Date.parse('2026-11-22T10:00:15Z');
    const u = new ModelUpstreams({ baseURL: 'http://a/v1', requestsPerMinute: 2, deployments: [{ baseURL: 'http://a/v1', weight: 1 }, { baseURL: 'http://b/v1', weight: 1, requestsPerMinute: 1 }] } as never, { failureThreshold: 3, cooldownMs: 1000 }, () => t);
    const rng = createRng(9);
    const made: number[] = [];
    for (let k = 0; k < 3; k++) {
      const d = u.pick(rng, new Set()) as number;
      u.acquire(d);
      u.release(d); // answered at once: only the minute's count holds it back
      made.push(d);
    }
    expect(made.sort()).toEqual([0, 0, 1]); // a: 2 a minute, b: 1
    expect(u.pick(rng, new Set())).toBeUndefined();
    expect(u.full()).toBe(true);
    expect(u.rateLimited()).toBe(true);
    expect(u.retryAfterS).toBe(45);
    t += 45_000; // the next minute
    expect(u.full()).toBe(false);
    expect(u.pick(rng, new Set())).toBeDefined();
  });
});

describe('deployments with tokensPerMinute', () => {
  it("count a call's tokens when it starts and what its answer used beyond them when it ends; a call larger than the limit never fits", () => {
    let t = Date.parse('2026-11-22T10:00:15Z');
    const u = new ModelUpstreams({ baseURL: 'http://a/v1', tokensPerMinute: 1000 } as never, { failureThreshold: 3, cooldownMs: 1000 }, () => t);
    const rng = createRng(2);
    expect(u.limitsTokens).toBe(true);
    expect(u.pick(rng, new Set(), 600)).toBe(0);
    u.acquire(0, 600); // prompt + asked completion tokens
    u.release(0);
    expect(u.pick(rng, new Set(), 400)).toBe(0); // 600 + 400 fit in 1,000
    expect(u.pick(rng, new Set(), 401)).toBeUndefined();
    expect(u.full(401)).toBe(true);
    expect(u.rateLimited(401)).toBe(true);
    u.settle(0, 600, 500); // used less than counted: nothing given back (providers count on admission)
    expect(u.pick(rng, new Set(), 400)).toBe(0);
    u.settle(0, 600, 900); // used 300 beyond what was counted
    expect(u.pick(rng, new Set(), 100)).toBe(0);
    expect(u.pick(rng, new Set(), 101)).toBeUndefined();
    t += 45_000; // the next minute
    expect(u.pick(rng, new Set(), 1000)).toBe(0);
    expect(u.pick(rng, new Set(), 1001)).toBeUndefined(); // more than a whole minute's tokens: never
    expect(new ModelUpstreams({ baseURL: 'http://a/v1' } as never, { failureThreshold: 3, cooldownMs: 1000 }, () => t).limitsTokens).toBe(false);
  });
});

describe('deployments balanced least-busy', () => {
  it('send a call to the deployment with the fewest calls in flight for its weight', () => {
    const u = new ModelUpstreams({ baseURL: 'http://a/v1', balance: 'least-busy', deployments: [{ baseURL: 'http://a/v1', weight: 3 }, { baseURL: 'http://b/v1', weight: 1 }] } as never, { failureThreshold: 3, cooldownMs: 1000 }, () => 0);
    const rng = createRng(5);
    const counts = [0, 0];
    // a: 3 calls held for weight 3, b: none → b until it holds one (then both at 1 per weight: drawn by weight)
    for (let k = 0; k < 3; k++) u.acquire(0);
    for (let k = 0; k < 20; k++) expect(u.pick(rng, new Set())).toBe(1);
    u.acquire(1);
    for (let k = 0; k < 400; k++) {
      const d = u.pick(rng, new Set()) as number;
      counts[d] = (counts[d] as number) + 1;
    }
    expect(counts[0]).toBeGreaterThan(250); // weight 3 : 1 at equal load
    expect(counts[1]).toBeGreaterThan(50);
    // weighted (the default) ignores what is in flight
    const w = new ModelUpstreams({ baseURL: 'http://a/v1', deployments: [{ baseURL: 'http://a/v1', weight: 1 }, { baseURL: 'http://b/v1', weight: 1 }] } as never, { failureThreshold: 3, cooldownMs: 1000 }, () => 0);
    for (let k = 0; k < 5; k++) w.acquire(0);
    expect(Array.from({ length: 50 }, () => w.pick(rng, new Set()))).toContain(0);
  });
});

describe('capacity (openai SDK → gateway → replay-upstream)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-cap-'));
  const { meta, rows } = syntheticRows({ prompts: 120 });
  writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] ${r.id}` }))));
  const prompt = (rows.find((r) => r.split === 'test') as (typeof rows)[number]).prompt;
  const logger = pino({ level: 'silent' });
  let fast: ReplayUpstream;
  let slow: ReplayUpstream;
  let fastURL = '';
  let slowURL = '';
  let artifact = '';
  let best = '';
  const gateways: Gateway[] = [];

  beforeAll(async () => {
    const data = await ReplayData.load(loadDataset(dir));
    fast = new ReplayUpstream(data);
    slow = new ReplayUpstream(data, { latencyMs: 400 });
    [fastURL, slowURL] = [await fast.listen(), await slow.listen()];
    ({ artifact, choice: best } = await fitKnnRoute(meta, rows, dir, prompt));
  });
  afterAll(async () => {
    for (const g of gateways) await g.close().catch(() => undefined);
    await fast.close();
    await slow.close();
  });

  /** The router's first choice is slow and takes one call at a time; the others are fast. */
  const start = async (server: Record<string, unknown> = {}): Promise<{ url: string; client: OpenAI }> => {
    const models = Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: m.id === best ? slowURL : fastURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok, ...(m.id === best ? { maxInFlight: 1 } : {}) }]));
    const config: GatewayConfig = parseGatewayConfig({ server: { port: 0, ...server }, retries: 0, models, routes: { auto: { router: artifact, lambda: 0 } } });
    const g = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger });
    gateways.push(g);
    const url = await g.listen();
    return { url, client: new OpenAI({ baseURL: url, apiKey: 'sk-test', maxRetries: 0 }) };
  };
  const ask = (client: OpenAI, model = 'auto') => client.chat.completions.create({ model, messages: [{ role: 'user', content: prompt }] }).withResponse();

  it("spills a full model's requests over to the next-best model, and takes them back once it has room", async () => {
    const { url, client } = await start();
    const arrived = slow.received;
    const first = ask(client);
    await waitFor(() => slow.received > arrived, "the first call to hold the slow model's one slot");
    const metrics = await (await fetch(url.replace(/\/v1$/, '/metrics'))).text();
    expect(metrics).toContain(`switchyard_model_in_flight{model="${best}"} 1`);
    const others = await Promise.all([ask(client), ask(client)]);
    for (const o of others) {
      expect(o.response.headers.get('x-switchyard-model')).not.toBe(best);
      expect(o.response.headers.get('x-switchyard-fallback-from')).toBe(best);
    }
    expect((await first).response.headers.get('x-switchyard-model')).toBe(best);
    // named directly while full: 429 with retry-after (the SDKs retry it)
    const holding = slow.received;
    const held = ask(client);
    await waitFor(() => slow.received > holding, 'a call to hold the slot');
    const direct = await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: best, messages: [{ role: 'user', content: prompt }] }) });
    expect(direct.status).toBe(429);
    expect(direct.headers.get('retry-after')).toBe('1');
    expect(((await direct.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'upstream_unavailable', message: expect.stringContaining('maxInFlight') });
    await held;
    const again = await ask(client); // the slot is free again
    expect(again.response.headers.get('x-switchyard-model')).toBe(best);
    expect(again.response.headers.get('x-switchyard-fallback-from')).toBeNull();
  });

  it('with queueMs, a call waits in line for a full model instead of spilling over, and leaves the line when its client goes away', async () => {
    const models = Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: m.id === best ? slowURL : fastURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok, ...(m.id === best ? { maxInFlight: 1, queueMs: 5000 } : {}) }]));
    const g = await Gateway.create(parseGatewayConfig({ server: { port: 0 }, retries: 0, models, routes: { auto: { router: artifact, lambda: 0 } } }), { store: new SqliteStore(':memory:'), logger });
    gateways.push(g);
    const url = await g.listen();
    const client = new OpenAI({ baseURL: url, apiKey: 'sk-test', maxRetries: 0 });
    const scrape = async (): Promise<string> => (await fetch(url.replace(/\/v1$/, '/metrics'))).text();
    const arrived = slow.received;
    const first = ask(client);
    await waitFor(() => slow.received > arrived, 'the first call to hold the slot');
    const second = ask(client); // routed: waits for the slow model's one slot rather than spilling over
    const third = ask(client, best); // named directly: waits too, instead of a 429
    await waitFor(async () => (await scrape()).includes(`switchyard_model_waiting{model="${best}"} 2`), 'two calls waiting in line');
    expect(slow.received).toBe(arrived + 1); // neither went to the model meanwhile
    for (const r of await Promise.all([first, second, third])) {
      expect(r.response.headers.get('x-switchyard-model')).toBe(best);
      expect(r.response.headers.get('x-switchyard-fallback-from')).toBeNull();
    }
    // a client that goes away while waiting leaves the line
    const holding = slow.received;
    const held = ask(client);
    await waitFor(() => slow.received > holding, 'a call to hold the slot');
    const abort = new AbortController();
    const leaving = client.chat.completions.create({ model: best, messages: [{ role: 'user', content: prompt }] }, { signal: abort.signal }).catch(() => 'gone');
    await waitFor(async () => (await scrape()).includes(`switchyard_model_waiting{model="${best}"} 1`), 'a call waiting in line');
    abort.abort();
    expect(await leaving).toBe('gone');
    await waitFor(async () => (await scrape()).includes(`switchyard_model_waiting{model="${best}"} 0`), 'the line to be empty', 2000);
    expect(slow.received).toBe(holding + 1); // the call that left never reached the model
    await held;
    expect(await scrape()).toContain(`switchyard_model_in_flight{model="${best}"} 0`);
  });

  it("spills requests over to the next-best model once the best one's tokensPerMinute is used up, until the next minute", async () => {
    let t = Date.parse('2026-11-22T10:00:15Z');
    const models = Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: fastURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok, ...(m.id === best ? { tokensPerMinute: 1500 } : {}) }]));
    const g = await Gateway.create(parseGatewayConfig({ server: { port: 0 }, retries: 0, models, routes: { auto: { router: artifact, lambda: 0 } } }), { store: new SqliteStore(':memory:'), logger, now: () => t });
    gateways.push(g);
    const url = await g.listen();
    const client = new OpenAI({ baseURL: url, apiKey: 'sk-test', maxRetries: 0 });
    // each request asks for up to 1,000 completion tokens: the best model takes one a minute
    const asking = (maxTokens: number) => client.chat.completions.create({ model: 'auto', max_tokens: maxTokens, messages: [{ role: 'user', content: prompt }] }).withResponse();
    expect((await asking(1000)).response.headers.get('x-switchyard-model')).toBe(best);
    const spilled = await asking(1000);
    expect(spilled.response.headers.get('x-switchyard-model')).not.toBe(best);
    expect(spilled.response.headers.get('x-switchyard-fallback-from')).toBe(best);
    const metrics = await (await fetch(url.replace(/\/v1$/, '/metrics'))).text();
    expect(metrics).toContain(`switchyard_model_minute_limit{model="${best}",limit="tokens"} 1500`);
    const line = metrics.split('\n').find((l) => l.startsWith(`switchyard_model_minute_used{model="${best}",limit="tokens"} `));
    const used = Number(line?.split(' ')[1]);
    expect(used).toBeGreaterThan(1000); // the first request's prompt + 1,000 asked
    expect(used).toBeLessThanOrEqual(1500);
    // named directly: 429, to be retried at the next minute
    const direct = await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: best, max_tokens: 1000, messages: [{ role: 'user', content: prompt }] }) });
    expect(direct.status).toBe(429);
    expect(direct.headers.get('retry-after')).toBe('45');
    expect(((await direct.json()) as { error: { message: string } }).error.message).toContain('tokensPerMinute');
    t += 45_000;
    expect((await asking(1000)).response.headers.get('x-switchyard-model')).toBe(best);
    // a request asking for more than the best model's whole minute goes to another at once
    t += 60_000;
    expect((await asking(5000)).response.headers.get('x-switchyard-model')).not.toBe(best);
  });

  it('sheds requests beyond server.maxInFlight with 503 overloaded, while probes still answer', async () => {
    const { url, client } = await start({ maxInFlight: 1 });
    const arrived = slow.received;
    const first = ask(client, best);
    await waitFor(() => slow.received > arrived, 'the first call to reach the model');
    await expect(ask(client)).rejects.toMatchObject({ status: 503, code: 'overloaded' });
    expect((await fetch(url.replace(/\/v1$/, '/health'))).status).toBe(200);
    await first;
    expect((await ask(client)).response.status).toBe(200);
  });

  it('leaks no capacity: after requests that fail, break off midway or whose clients go away, every model is back to none in flight', async () => {
    const data = await ReplayData.load(loadDataset(dir));
    const flaky = new ReplayUpstream(data, { chunkDelayMs: 3, latencyMs: 5, faultRate: 0.3, faults: ['cut', 'reset', '503', '429'], seed: 4 });
    const flakyURL = await flaky.listen();
    try {
      const models = Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: flakyURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok, maxInFlight: 3 }]));
      const g = await Gateway.create(parseGatewayConfig({ server: { port: 0 }, retries: 1, models, routes: { auto: { router: artifact, lambda: 0.5 } } }), { store: new SqliteStore(':memory:'), logger, sleep: async () => undefined });
      gateways.push(g);
      const url = await g.listen();
      const client = new OpenAI({ baseURL: url, apiKey: 'sk-test', maxRetries: 0 });
      const rng = createRng(12);
      const outcomes = { ok: 0, failed: 0 };
      let next = 0;
      await Promise.all(
        Array.from({ length: 12 }, async () => {
          while (next < 80) {
            const k = next++;
            const abort = new AbortController();
            if (rng.next() < 0.3) setTimeout(() => abort.abort(), Math.floor(rng.next() * 15));
            try {
              if (k % 2 === 0) {
                const stream = await client.chat.completions.create({ model: 'auto', stream: true, messages: [{ role: 'user', content: prompt }] }, { signal: abort.signal });
                for await (const _ of stream) void _;
              } else await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }, { signal: abort.signal });
              outcomes.ok++;
            } catch {
              outcomes.failed++;
            }
          }
        }),
      );
      expect(outcomes.ok).toBeGreaterThan(10);
      expect(outcomes.failed).toBeGreaterThan(5);
      const counts = async (): Promise<Array<[string | undefined, number]>> => {
        const metrics = await (await fetch(url.replace(/\/v1$/, '/metrics'))).text();
        return [...metrics.matchAll(/^switchyard_model_in_flight\{model="([^"]+)"\} (\S+)$/gm)].map((m) => [m[1], Number(m[2])]);
      };
      // cancelled calls settle within moments; a leak never does (checked after the wait either way)
      await waitFor(async () => (await counts()).every(([, n]) => n === 0), 'no call in flight', 3000).catch(() => undefined);
      const inFlight = await counts();
      expect(inFlight.length).toBe(meta.models.length);
      expect(inFlight.filter(([, n]) => n !== 0)).toEqual([]);
    } finally {
      await flaky.close();
    }
  });
});
