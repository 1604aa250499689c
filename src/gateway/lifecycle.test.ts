/**
 * The gateway's lifecycle around a request: graceful shutdown (requests in flight finish, the rest are
 * cut and recorded, state is saved), health probes, and a client that goes away mid-request (its
 * upstream call is cancelled and the request recorded as 499, never fallen back or billed as served).
 * Official openai SDK → gateway → replay-upstream with injected latency.
 */
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasRedis, startRedis } from '../../test/helpers/processes.js';
import { syntheticRows } from '../../test/helpers/synthetic.js';
import { waitFor } from '../../test/helpers/wait.js';
import { loadDataset } from '../data/load.js';
import { writeDataset } from '../data/write.js';
import { parseGatewayConfig } from './config.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { Gateway } from './server.js';
import { RedisStore } from './store/redis-store.js';
import { SqliteStore } from './store/sqlite-store.js';
import type { DecisionRecord } from './store/store.js';

if (!hasRedis) console.warn('SKIP: redis-server is not installed (apt-get install -y redis-server), so the Redis readiness test cannot run');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('gateway lifecycle: drain on shutdown, health probes, clients that go away', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-life-'));
  const { meta, rows } = syntheticRows({ prompts: 40 });
  // long answers, so that a slow stream has many chunks
  const responses = rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] ${'word '.repeat(40)}end of ${r.id}` })));
  writeDataset(dir, meta, rows, responses);
  const prompt = (rows[0] as (typeof rows)[number]).prompt;
  const model = meta.models[0]?.id as string;
  const other = meta.models[1]?.id as string;
  let slow: ReplayUpstream; // answers after 400 ms
  let hanging: ReplayUpstream; // answers after 10 s
  let trickle: ReplayUpstream; // streams a chunk every 100 ms
  const urls: Record<string, string> = {};
  const gateways: Gateway[] = [];

  beforeAll(async () => {
    const data = await ReplayData.load(loadDataset(dir));
    slow = new ReplayUpstream(data, { latencyMs: 400 });
    hanging = new ReplayUpstream(data, { latencyMs: 10_000 });
    trickle = new ReplayUpstream(data, { chunkDelayMs: 100 });
    urls['slow'] = await slow.listen();
    urls['hanging'] = await hanging.listen();
    urls['trickle'] = await trickle.listen();
  });
  afterAll(async () => {
    for (const g of gateways) await g.close().catch(() => undefined);
    for (const u of [slow, hanging, trickle]) await u.close();
  });

  /** A gateway whose first model is served by `upstream` and the second by the slow one; decisions go to a SQLite file. */
  const open = async (upstream: string, drainMs = 5000): Promise<{ gateway: Gateway; client: OpenAI; url: string; file: string }> => {
    const file = join(mkdtempSync(join(dir, 'db-')), 'sy.db');
    const models = { [model]: { baseURL: urls[upstream] as string, inputPricePerMTok: 1, outputPricePerMTok: 2 }, [other]: { baseURL: urls['slow'] as string, inputPricePerMTok: 1, outputPricePerMTok: 2 } };
    const config = parseGatewayConfig({ server: { port: 0, drainMs }, retries: 2, models, routes: {} });
    const gateway = await Gateway.create(config, { store: new SqliteStore(file), logger: pino({ enabled: false }) });
    gateways.push(gateway);
    const url = await gateway.listen();
    return { gateway, client: new OpenAI({ baseURL: url, apiKey: 'sk-test', maxRetries: 0 }), url, file };
  };
  const decisions = async (file: string): Promise<DecisionRecord[]> => {
    const store = new SqliteStore(file);
    try {
      return await store.listDecisions();
    } finally {
      await store.close();
    }
  };
  const ask = (client: OpenAI, signal?: AbortSignal) => client.chat.completions.create({ model, messages: [{ role: 'user', content: prompt }] }, signal ? { signal } : {});

  it('answers health and readiness probes', async () => {
    const { url } = await open('slow');
    for (const path of ['/health', '/ready']) {
      const res = await fetch(new URL(path, url.replace(/\/v1$/, '/')));
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: 'ok' });
    }
  });

  it('drains on shutdown: a request in flight is answered and recorded, new connections are refused', async () => {
    const { gateway, client, file } = await open('slow');
    const before = slow.received;
    const inFlight = ask(client);
    await waitFor(() => slow.received > before, 'the upstream to have the request');
    const t0 = performance.now();
    const closing = gateway.close();
    await expect(ask(client)).rejects.toThrow(/connection/i); // no longer accepting
    const answer = await inFlight;
    expect(answer.choices[0]?.message.content).toMatch(/end of/);
    await closing;
    expect(performance.now() - t0).toBeLessThan(3000); // closed once idle, not after the whole drain window
    const recorded = await decisions(file);
    expect(recorded.map((d) => d.status)).toEqual([200]);
    expect(recorded[0]?.costUsd).toBeGreaterThan(0);
  });

  it('closes the connection of a request answered while draining', async () => {
    const { gateway, url } = await open('slow');
    const conn = new Client(new URL(url).origin);
    const before = slow.received;
    const call = conn.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: prompt }] }) });
    await waitFor(() => slow.received > before, 'the upstream to have the request');
    const closing = gateway.close();
    const answered = await call;
    expect(answered.statusCode).toBe(200);
    expect(answered.headers['connection']).toBe('close'); // keep-alive clients reconnect to another replica
    await answered.body.text();
    await closing;
    await conn.close();
  });

  it('answers a client that connected just before the stop and sends its request after it began, closing its connection', async () => {
    const { gateway, url, file } = await open('slow');
    const { port } = new URL(url);
    const socket = connect(Number(port), '127.0.0.1');
    let text = '';
    let cut = false;
    socket.on('data', (d) => (text += d.toString()));
    socket.on('close', () => (cut = !text.includes('HTTP/1.1 200')));
    socket.on('error', () => undefined);
    await new Promise<void>((r) => socket.once('connect', () => r()));
    // a probe on a later connection: once it is answered, the gateway has accepted the first one too
    expect((await fetch(url.replace(/\/v1$/, '/health'))).status).toBe(200);
    const closing = gateway.close();
    const body = JSON.stringify({ model, messages: [{ role: 'user', content: prompt }] });
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    await closing;
    await waitFor(() => text.includes('end of') || cut, 'the answer or the cut');
    expect(cut).toBe(false);
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text).toMatch(/connection: close/i);
    expect((await decisions(file)).map((d) => d.status)).toEqual([200]);
    socket.destroy();
  });

  it('cuts what is still running when the drain runs out: recorded as 503, its upstream call cancelled', async () => {
    const { gateway, client, file } = await open('hanging', 200);
    const before = hanging.received;
    const inFlight = ask(client).then(
      () => 'answered',
      (e: unknown) => (e as Error).constructor.name,
    );
    await waitFor(() => hanging.received > before, 'the upstream to have the request');
    const t0 = performance.now();
    await gateway.close();
    expect(performance.now() - t0).toBeLessThan(2500); // the 10 s upstream was not waited for
    expect(await inFlight).toBe('APIConnectionError');
    const recorded = await decisions(file);
    expect(recorded.map((d) => [d.status, d.answered])).toEqual([[503, model]]);
    expect(recorded[0]?.costUsd).toBeGreaterThan(0); // the prompt was sent: its input tokens are billed
  });

  it('cancels the upstream call of a JSON request whose client went away: 499, no fallback, no retry', async () => {
    const { client, file } = await open('hanging');
    const abort = new AbortController();
    const before = hanging.received;
    const asked = ask(client, abort.signal).catch((e: unknown) => e);
    await waitFor(() => hanging.received > before, 'the upstream to have the request');
    abort.abort();
    expect(await asked).toBeInstanceOf(Error);
    let recorded: DecisionRecord[] = [];
    for (let k = 0; k < 40 && recorded.length === 0; k++) {
      await sleep(50);
      recorded = await decisions(file);
    }
    // recorded within ~2 s: the 10 s upstream call was cancelled, not waited for, and nothing else was called
    expect(recorded.map((d) => [d.status, d.answered])).toEqual([[499, model]]);
  });

  it.skipIf(!hasRedis)('is not ready while its Redis store does not answer', async () => {
    const redis = await startRedis();
    const store = new RedisStore({ url: redis.ready, keyPrefix: 'ready:' });
    await store.ready();
    const config = parseGatewayConfig({ server: { port: 0 }, models: { [model]: { baseURL: urls['slow'] as string, inputPricePerMTok: 1, outputPricePerMTok: 2 } }, routes: {} });
    const gateway = await Gateway.create(config, { store, logger: pino({ enabled: false }) });
    gateways.push(gateway);
    const readyURL = new URL('/ready', await gateway.listen());
    expect((await fetch(readyURL)).status).toBe(200);
    await redis.stop();
    const res = await fetch(readyURL);
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: 'store_unavailable' });
  });

  it.skipIf(!hasRedis)('keeps answering while its Redis store is down, writes the records when it is back, and answers what needs the store with 503', async () => {
    const { hashKey } = await import('./auth.js');
    const { freePort } = await import('../../test/helpers/processes.js');
    const port = await freePort();
    let redis = await startRedis(port);
    const keys = [{ name: 'team', sha256: hashKey('sk-team'), dailyBudgetUsd: 100 }];
    const start = async (whenDown: 'serve' | 'refuse'): Promise<{ gateway: Gateway; client: OpenAI }> => {
      const store = new RedisStore({ url: redis.ready, keyPrefix: `down-${whenDown}:` });
      await store.ready();
      const config = parseGatewayConfig({ server: { port: 0 }, store: { backend: 'redis', whenDown }, auth: { keys }, models: { [model]: { baseURL: urls['slow'] as string, inputPricePerMTok: 1, outputPricePerMTok: 2 } }, routes: {} });
      const gateway = await Gateway.create(config, { store, logger: pino({ enabled: false }) });
      gateways.push(gateway);
      return { gateway, client: new OpenAI({ baseURL: await gateway.listen(), apiKey: 'sk-team', maxRetries: 0 }) };
    };
    const serving = await start('serve');
    const refusing = await start('refuse');
    const ask = (c: OpenAI) => c.chat.completions.create({ model, messages: [{ role: 'user', content: prompt }] }).withResponse();
    expect((await ask(serving.client)).response.status).toBe(200);
    await redis.stop();
    // the store is down: the answer still comes (the budget cannot be checked; the key is), its record waits in memory
    const t0 = performance.now();
    const during = await ask(serving.client);
    expect(during.response.status).toBe(200);
    expect(performance.now() - t0).toBeLessThan(2000); // the 400 ms upstream, not a hang on the store
    const id = during.response.headers.get('x-request-id') as string;
    expect(serving.gateway.store.pendingWrites).toBeGreaterThan(0);
    const metrics = await (await fetch(new URL('/metrics', serving.client.baseURL.replace(/\/v1$/, '')))).text();
    expect(metrics).toMatch(/switchyard_store_errors_total\{operation="\w+"\} [1-9]/);
    expect(metrics).toMatch(/switchyard_store_pending_writes [1-9]/);
    await expect(new OpenAI({ baseURL: serving.client.baseURL, apiKey: 'sk-nobody', maxRetries: 0 }).chat.completions.create({ model, messages: [{ role: 'user', content: prompt }] })).rejects.toMatchObject({ status: 401 });
    // what needs the store is refused, not failed: feedback, and every request with whenDown: refuse
    const fb = await fetch(new URL('/v1/feedback', serving.client.baseURL.replace(/\/v1$/, '')), { method: 'POST', headers: { authorization: 'Bearer sk-team', 'content-type': 'application/json' }, body: JSON.stringify({ request_id: id, score: 1 }) });
    expect(fb.status).toBe(503);
    expect(fb.headers.get('retry-after')).toBe('1');
    expect(((await fb.json()) as { error: { code: string } }).error.code).toBe('store_unavailable');
    await expect(ask(refusing.client)).rejects.toMatchObject({ status: 503, code: 'store_unavailable' });
    // Redis is back: the waiting records are written (retried every second), and feedback finds the decision
    redis = await startRedis(port);
    let found: DecisionRecord | undefined;
    for (let k = 0; k < 60 && !found; k++) {
      await sleep(100);
      found = await serving.gateway.store.getDecision(id).catch(() => undefined);
    }
    expect(found).toMatchObject({ requestId: id, status: 200, answered: model });
    expect(serving.gateway.store.pendingWrites).toBe(0);
    expect(await serving.gateway.store.spend('team', 0)).toBeGreaterThan(0);
    await redis.stop();
  });

  it.skipIf(!hasRedis)('counts a Redis that hangs (SIGSTOP) as down after store.timeoutMs: answers instead of waiting, and writes the records once it answers again', async () => {
    const redis = await startRedis();
    try {
      const store = new RedisStore({ url: redis.ready, keyPrefix: 'hung:', commandTimeoutMs: 300 });
      await store.ready();
      const config = parseGatewayConfig({ server: { port: 0 }, store: { backend: 'redis', timeoutMs: 300 }, models: { [model]: { baseURL: urls['slow'] as string, inputPricePerMTok: 1, outputPricePerMTok: 2 } }, routes: {} });
      const gateway = await Gateway.create(config, { store, logger: pino({ enabled: false }) });
      gateways.push(gateway);
      const client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'sk-test', maxRetries: 0, timeout: 5000 });
      const ask = () => client.chat.completions.create({ model, messages: [{ role: 'user', content: prompt }] }).withResponse();
      expect((await ask()).response.status).toBe(200);
      redis.proc.kill('SIGSTOP'); // alive, connected, silent: a network dropping packets looks the same
      const hung = await ask(); // answered once the store's write times out (not after the client's 5 s)
      expect(hung.response.status).toBe(200);
      expect((await ask()).response.status).toBe(200); // the store counts as down now: no wait at all
      expect(gateway.store.pendingWrites).toBeGreaterThan(0);
      redis.proc.kill('SIGCONT');
      const id = hung.response.headers.get('x-request-id') as string;
      let found: DecisionRecord | undefined;
      for (let k = 0; k < 60 && !found; k++) {
        await sleep(100);
        found = await gateway.store.getDecision(id).catch(() => undefined);
      }
      expect(found).toMatchObject({ requestId: id, status: 200 });
    } finally {
      redis.proc.kill('SIGCONT');
      await redis.stop();
    }
  });

  it.skipIf(!hasRedis)('stopped while its Redis store is down, keeps the unwritten records in the outbox and writes them at the next start', async () => {
    const { freePort } = await import('../../test/helpers/processes.js');
    const { hashKey } = await import('./auth.js');
    const port = await freePort();
    let redis = await startRedis(port);
    const outbox = join(mkdtempSync(join(dir, 'outbox-')), 'switchyard-outbox.jsonl');
    const keys = [{ name: 'team', sha256: hashKey('sk-team'), dailyBudgetUsd: 100 }];
    const config = parseGatewayConfig({ server: { port: 0 }, store: { backend: 'redis', outbox }, auth: { keys }, models: { [model]: { baseURL: urls['slow'] as string, inputPricePerMTok: 1, outputPricePerMTok: 2 } }, routes: {} });
    const start = async (): Promise<{ gateway: Gateway; client: OpenAI }> => {
      const store = new RedisStore({ url: redis.ready, keyPrefix: 'outbox:' });
      await store.ready();
      const gateway = await Gateway.create(config, { store, logger: pino({ enabled: false }) });
      gateways.push(gateway);
      return { gateway, client: new OpenAI({ baseURL: await gateway.listen(), apiKey: 'sk-team', maxRetries: 0 }) };
    };
    const first = await start();
    await redis.stop();
    const answered = await first.client.chat.completions.create({ model, messages: [{ role: 'user', content: prompt }] }).withResponse();
    const id = answered.response.headers.get('x-request-id') as string;
    await first.gateway.close(); // Redis still down: decision and spend go to the outbox
    expect(first.gateway.store.spilled).toBeGreaterThanOrEqual(2);
    expect(first.gateway.store.pendingWrites).toBe(0);
    redis = await startRedis(port); // an empty Redis (no persistence in tests)
    const second = await start();
    let found: DecisionRecord | undefined;
    for (let k = 0; k < 40 && !found; k++) {
      found = await second.gateway.store.getDecision(id).catch(() => undefined);
      if (!found) await sleep(50);
    }
    expect(found).toMatchObject({ requestId: id, status: 200, answered: model, keyId: 'team' });
    expect(await second.gateway.store.spend('team', 0)).toBeGreaterThan(0);
    await second.gateway.close();
    await redis.stop();
  });

  it('cancels a stream whose client went away: 499 with the cost of what was streamed, not a 502', async () => {
    const { client, file } = await open('trickle');
    const abort = new AbortController();
    const stream = await client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: prompt }] }, { signal: abort.signal });
    let chunks = 0;
    try {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content && ++chunks === 5) abort.abort();
      }
    } catch {
      // the SDK reports the abort
    }
    let recorded: DecisionRecord[] = [];
    for (let k = 0; k < 40 && recorded.length === 0; k++) {
      await sleep(50);
      recorded = await decisions(file);
    }
    // the whole answer takes ~4 s at 100 ms a chunk: a record within ~2 s means the stream was cancelled
    expect(recorded.map((d) => [d.status, d.answered])).toEqual([[499, model]]);
    const promptOnly = (recorded[0]?.costUsd ?? 0) - 5 * 2e-6; // at least the 5 chunks seen, at $2/M output tokens
    expect(promptOnly).toBeGreaterThan(0);
  });
});
