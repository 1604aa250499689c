/** The gateway end to end: official openai SDK → gateway (trained router) → replay-upstream processes. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStream } from '../../test/helpers/streams.js';
import { syntheticRows } from '../../test/helpers/synthetic.js';
import { fitKnnRoute } from '../../test/helpers/fitted-router.js';
import { buildMatrix, loadDataset } from '../data/load.js';
import { writeDataset } from '../data/write.js';
import { CostModel } from '../routers/cost-model.js';
import { createRouter } from '../routers/registry.js';
import { parseGatewayConfig, readGatewayConfig, type GatewayConfig } from './config.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { hashKey } from './auth.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

describe('gateway (openai SDK → gateway → replay-upstream)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-gw-'));
  const { meta, rows } = syntheticRows({ prompts: 200 });
  const responses = rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] answer to ${r.id}` })));
  writeDataset(dir, meta, rows, responses);
  const test = rows.filter((r) => r.split === 'test');
  const prompt = (test[2] as (typeof rows)[number]).prompt;
  let good: ReplayUpstream;
  let bad: ReplayUpstream;
  let cutter: ReplayUpstream;
  let hanging: ReplayUpstream;
  let slow: ReplayUpstream;
  let goodURL = '';
  let badURL = '';
  let cutURL = '';
  let hangURL = '';
  let slowURL = '';
  let artifactFile = '';
  let chosenAtHalf = '';
  const gateways: Gateway[] = [];
  const logLines: string[] = [];
  const logger = pino({}, { write: (line: string) => void logLines.push(line) });

  const configFor = (over: Record<string, unknown> = {}, broken?: string): GatewayConfig => {
    const models = Object.fromEntries(meta.models.map((m) => [m.id, { provider: 'openai-compatible', baseURL: m.id === broken ? badURL : goodURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }]));
    return parseGatewayConfig({ server: { port: 0 }, retries: 1, models, routes: { auto: { router: artifactFile, lambda: 0.5 } }, ...over });
  };
  const open = async (config: GatewayConfig, store = new SqliteStore(':memory:')): Promise<{ gateway: Gateway; client: OpenAI; url: string }> => {
    const gateway = await Gateway.create(config, { sleep: async () => undefined, store, logger });
    gateways.push(gateway);
    const url = await gateway.listen();
    return { gateway, client: new OpenAI({ baseURL: url, apiKey: 'sk-test', maxRetries: 0 }), url };
  };
  const start = async (broken?: string): Promise<OpenAI> => (await open(configFor({}, broken))).client;

  beforeAll(async () => {
    const data = await ReplayData.load(loadDataset(dir));
    good = new ReplayUpstream(data);
    bad = new ReplayUpstream(data, { faultRate: 1, faults: ['503'] });
    cutter = new ReplayUpstream(data, { faultRate: 1, faults: ['cut'] });
    goodURL = await good.listen();
    badURL = await bad.listen();
    cutURL = await cutter.listen();
    hanging = new ReplayUpstream(data, { faultRate: 1, faults: ['timeout'] });
    hangURL = await hanging.listen();
    slow = new ReplayUpstream(data, { chunkDelayMs: 400 }); // headers at once, then a slow trickle
    slowURL = await slow.listen();
    ({ artifact: artifactFile, choice: chosenAtHalf } = await fitKnnRoute(meta, rows, dir, prompt, 0.5));
  });
  afterAll(async () => {
    for (const g of gateways) await g.close().catch(() => undefined);
    await good.close();
    await bad.close();
    await cutter.close();
    await hanging.close();
    await slow.close();
  });

  it('routes a request by the trained router and says which model answered, at what cost', async () => {
    const client = await start();
    const { data, response } = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }).withResponse();
    const model = response.headers.get('x-switchyard-model');
    expect(model).toBe(chosenAtHalf);
    expect(data.model).toBe(model);
    expect(data.choices[0]?.message.content).toBe(`[${model}] answer to ${test[2]?.id}`);
    expect(response.headers.get('x-switchyard-route')).toBe('auto');
    expect(Number(response.headers.get('x-switchyard-cost-usd'))).toBeGreaterThan(0);
    expect(Number(response.headers.get('x-switchyard-overhead-ms'))).toBeGreaterThanOrEqual(0);
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);
    expect((await client.models.list()).data.map((m) => m.id)).toContain('auto');
    expect(await client.models.retrieve('auto')).toMatchObject({ id: 'auto', object: 'model', owned_by: 'switchyard-route', models: meta.models.map((m) => m.id) });
    const card = meta.models.find((m) => m.id === model);
    expect(await client.models.retrieve(model as string)).toMatchObject({ id: model, owned_by: 'switchyard', pricing: { input_usd_per_mtok: card?.inputPricePerMTok, output_usd_per_mtok: card?.outputPricePerMTok } });
    await expect(client.models.retrieve('gpt-9')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    const malformed = await fetch(`${client.baseURL}/models/%E0%A4%A`); // a malformed escape: not found, not a 500
    expect(malformed.status).toBe(404);
  });

  it('streams through the gateway, adding the usage chunk only when asked', async () => {
    const client = await start();
    const collect = async (includeUsage: boolean): Promise<{ text: string; usage: boolean; model: string }> => {
      const read = await readStream(await client.chat.completions.create({ model: 'auto', stream: true, ...(includeUsage ? { stream_options: { include_usage: true } } : {}), messages: [{ role: 'user', content: prompt }] }));
      return { text: read.text, usage: read.sawUsage, model: read.model };
    };
    const plain = await collect(false);
    expect(plain.text).toBe(`[${chosenAtHalf}] answer to ${test[2]?.id}`);
    expect(plain.usage).toBe(false);
    expect(plain.model).toBe(chosenAtHalf);
    expect((await collect(true)).usage).toBe(true);
  });

  it('falls back to the next-best model when the chosen one keeps failing', async () => {
    const client = await start(chosenAtHalf);
    const { data, response } = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }).withResponse();
    expect(response.headers.get('x-switchyard-model')).not.toBe(chosenAtHalf);
    expect(response.headers.get('x-switchyard-fallback-from')).toBe(chosenAtHalf);
    expect(data.choices[0]?.message.content).toMatch(/answer to/);
  });

  it('times out an upstream that never answers (first byte, then total) and falls back', async () => {
    const models = Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: m.id === chosenAtHalf ? hangURL : goodURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }]));
    const ask = async (timeouts: { firstByteMs: number; totalMs: number }): Promise<{ model: string | null; ms: number }> => {
      const { client } = await open(parseGatewayConfig({ server: { port: 0 }, retries: 0, timeouts, models, routes: { auto: { router: artifactFile, lambda: 0.5 } } }));
      const t0 = performance.now();
      const { response } = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }).withResponse();
      return { model: response.headers.get('x-switchyard-fallback-from'), ms: performance.now() - t0 };
    };
    for (const timeouts of [{ firstByteMs: 150, totalMs: 10_000 }, { firstByteMs: 10_000, totalMs: 150 }]) {
      const { model, ms } = await ask(timeouts);
      expect(model).toBe(chosenAtHalf); // the hanging first choice was given up on
      expect(ms).toBeGreaterThanOrEqual(140);
      expect(ms).toBeLessThan(900); // timers precise to the millisecond, not a coarse tick
    }
  });

  it('gives a model its own timeouts over the config\'s', async () => {
    const models = Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: slowURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok, timeouts: { totalMs: 10_000 } }]));
    const { client } = await open(parseGatewayConfig({ server: { port: 0 }, timeouts: { firstByteMs: 5000, totalMs: 250 }, models, routes: { auto: { router: artifactFile, lambda: 0.5 } } }));
    const read = await readStream(await client.chat.completions.create({ model: 'auto', stream: true, messages: [{ role: 'user', content: prompt }] }));
    expect(read.text).toMatch(/answer to/); // the slow trickle outlives the config's 250 ms: the model's 10 s apply
  });

  it('ends a stream still running at the total timeout with an error event', async () => {
    const models = Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: slowURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }]));
    const { client } = await open(parseGatewayConfig({ server: { port: 0 }, timeouts: { firstByteMs: 5000, totalMs: 250 }, models, routes: { auto: { router: artifactFile, lambda: 0.5 } } }));
    const t0 = performance.now();
    const stream = await client.chat.completions.create({ model: 'auto', stream: true, messages: [{ role: 'user', content: prompt }] });
    let text = '';
    await expect(
      (async () => {
        for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
      })(),
    ).rejects.toThrow(/upstream stream broke: total timeout/);
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(`[${chosenAtHalf}] answer to ${test[2]?.id}`.startsWith(text)).toBe(true);
    expect(text.length).toBeLessThan(`[${chosenAtHalf}] answer to ${test[2]?.id}`.length);
  });

  it('falls back when a JSON answer breaks off midway (nothing reached the client yet)', async () => {
    const models = Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: m.id === chosenAtHalf ? cutURL : goodURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }]));
    const { client } = await open(parseGatewayConfig({ server: { port: 0 }, retries: 0, models, routes: { auto: { router: artifactFile, lambda: 0.5 } } }));
    const { data, response } = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }).withResponse();
    expect(response.headers.get('x-switchyard-fallback-from')).toBe(chosenAtHalf);
    expect(data.choices[0]?.message.content).toMatch(/answer to/);
  });

  it('ends a stream that breaks after bytes were sent with an error event, never a silent success', async () => {
    const models = Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: cutURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }]));
    const { gateway, client } = await open(parseGatewayConfig({ server: { port: 0 }, models, routes: { auto: { router: artifactFile, lambda: 0.5 } } }));
    const { data: stream, response } = await client.chat.completions.create({ model: 'auto', stream: true, messages: [{ role: 'user', content: prompt }] }).withResponse();
    let text = '';
    await expect(
      (async () => {
        for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
      })(),
    ).rejects.toThrow(/upstream stream broke/);
    expect(`[${chosenAtHalf}] answer to ${test[2]?.id}`.startsWith(text)).toBe(true);
    const decision = await gateway.store.getDecision(response.headers.get('x-request-id') as string);
    expect(decision).toMatchObject({ status: 502, answered: chosenAtHalf }); // the failed stream is in the decision log
  });

  it('takes λ per request from x-switchyard-lambda and names bad input with OpenAI-shaped errors', async () => {
    const client = await start();
    const cheap = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }, { headers: { 'x-switchyard-lambda': '1' } }).withResponse();
    const price = (id: string | null): number => meta.models.find((m) => m.id === id)?.inputPricePerMTok ?? Infinity;
    expect(price(cheap.response.headers.get('x-switchyard-model'))).toBeLessThanOrEqual(price(chosenAtHalf));
    await expect(client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }, { headers: { 'x-switchyard-lambda': '7' } })).rejects.toMatchObject({ status: 400, code: 'invalid_request' });
    await expect(client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: prompt }] })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    await expect(client.chat.completions.create({ model: 'auto', messages: [] })).rejects.toMatchObject({ status: 400 });
  });

  it('limits each end user (the request\'s user) per key: one user over budget is refused, the others are not', async () => {
    const config = configFor({ auth: { keys: [{ name: 'app', sha256: hashKey('sk-app') }], endUsers: { dailyBudgetUsd: 1e-9, requestsPerMinute: 3 } } });
    const { url } = await open(config);
    const client = new OpenAI({ baseURL: url, apiKey: 'sk-app', maxRetries: 0 });
    const ask = (user?: string, headers: Record<string, string> = {}) => client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }], ...(user ? { user } : {}) }, { headers });
    await ask('alice'); // spends more than the tiny budget…
    await expect(ask('alice')).rejects.toMatchObject({ status: 429, code: 'budget_exceeded', message: expect.stringContaining('end user "alice" of key "app"') });
    await expect(ask(undefined, { 'x-switchyard-tags': 'user=alice' })).rejects.toMatchObject({ status: 429 }); // the same user, named by the tag
    await ask('bob');
    for (let k = 0; k < 4; k++) await ask(); // requests naming no user are not limited by endUsers
  });

  it("holds a key's minLambda: its routed requests use at least that λ, whatever the route or the request asks", async () => {
    const config = configFor({ auth: { keys: [{ name: 'free', sha256: hashKey('sk-free'), minLambda: 1 }, { name: 'paid', sha256: hashKey('sk-paid') }] } });
    const { gateway, url } = await open(config);
    const ask = async (apiKey: string, headers: Record<string, string> = {}) => {
      const { response } = await new OpenAI({ baseURL: url, apiKey, maxRetries: 0 }).chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }, { headers }).withResponse();
      return { lambda: response.headers.get('x-switchyard-lambda'), model: response.headers.get('x-switchyard-model'), decision: await gateway.store.getDecision(response.headers.get('x-request-id') as string) };
    };
    const paid = await ask('sk-paid');
    expect(paid).toMatchObject({ lambda: '0.5', model: chosenAtHalf });
    const free = await ask('sk-free');
    const asked = await ask('sk-free', { 'x-switchyard-lambda': '0' }); // a request cannot lower it
    const atOne = await ask('sk-paid', { 'x-switchyard-lambda': '1' });
    for (const r of [free, asked]) expect(r).toMatchObject({ lambda: '1', model: atOne.model, decision: { lambda: 1, keyId: 'free' } });
  });

  it("resolves a per-request budget or target quality to λ on the router's operating curve", async () => {
    const { gateway, client } = await open(configFor());
    const lambdaFor = async (headers: Record<string, string>): Promise<number | undefined> => {
      const { response } = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }, { headers }).withResponse();
      const lambda = (await gateway.store.getDecision(response.headers.get('x-request-id') as string))?.lambda;
      expect(response.headers.get('x-switchyard-lambda')).toBe(String(lambda)); // the λ used, echoed
      return lambda;
    };
    expect(await lambdaFor({ 'x-switchyard-budget-usd': '0' })).toBe(1); // nothing is that cheap: the cheapest end
    expect(await lambdaFor({ 'x-switchyard-budget-usd': '1000' })).toBe(0); // anything goes: the best
    expect(await lambdaFor({ 'x-switchyard-target-quality': '0' })).toBe(1);
    await expect(client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }, { headers: { 'x-switchyard-budget-usd': '0.1', 'x-switchyard-lambda': '0' } })).rejects.toMatchObject({ status: 400, code: 'invalid_request' });
  });

  it('runs a candidate router in shadow: its choice is recorded beside the live one, never called, and summarised', async () => {
    const { summariseDecisions } = await import('./decision-summary.js');
    const cheap = meta.models[meta.models.length - 1]?.id as string;
    const fixed = createRouter(`fixed:model=${cheap}`);
    await fixed.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
    const shadowFile = join(dir, 'shadow-fixed.json');
    writeFileSync(shadowFile, JSON.stringify(fixed.toArtifact()));
    const { gateway, client } = await open(configFor({ routes: { auto: { router: artifactFile, lambda: 0.5, shadow: shadowFile } } }));
    const ids: string[] = [];
    for (const r of test.slice(0, 6)) {
      const a = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: r.prompt }] }).withResponse();
      expect(a.response.headers.get('x-switchyard-model')).toBeTruthy();
      ids.push(a.response.headers.get('x-request-id') as string);
    }
    const decisions = await Promise.all(ids.map(async (id) => (await gateway.store.getDecision(id)) as NonNullable<Awaited<ReturnType<typeof gateway.store.getDecision>>>));
    for (const d of decisions) expect(d.shadow?.model).toBe(cheap);
    expect(decisions.every((d) => d.answered === d.chosen)).toBe(true); // the shadow's choice was not called
    const [summary] = summariseDecisions(decisions, []);
    expect(summary?.shadow).toMatchObject({ requests: 6, agreement: decisions.filter((d) => d.chosen === cheap).length / 6, shares: { [cheap]: 1 } });
    expect(summary?.shadow?.compared).toBe(6);
  });

  it("records the request's spend tags — its user, its metadata, the x-switchyard-tags header — and refuses a malformed header", async () => {
    const { gateway, client } = await open(configFor());
    const r = await client.chat.completions
      .create({ model: 'auto', user: 'u-42', metadata: { feature: 'search' }, messages: [{ role: 'user', content: prompt }] }, { headers: { 'x-switchyard-tags': 'team=growth, feature=autocomplete' } })
      .withResponse();
    const d = await gateway.store.getDecision(r.response.headers.get('x-request-id') as string);
    expect(d?.tags).toEqual({ user: 'u-42', feature: 'autocomplete', team: 'growth' }); // the header wins over metadata
    await expect(client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }, { headers: { 'x-switchyard-tags': 'team growth' } })).rejects.toMatchObject({ status: 400, code: 'invalid_request', message: expect.stringContaining('x-switchyard-tags: expected key=value pairs') });
    const plain = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }).withResponse();
    expect((await gateway.store.getDecision(plain.response.headers.get('x-request-id') as string))?.tags).toBeUndefined();
  });

  it('takes an image sent inline (a 3 MB data URL) within the default body limit, routing on the text beside it', async () => {
    const { client } = await open(configFor());
    const image = `data:image/png;base64,${Buffer.alloc(3 << 20, 7).toString('base64')}`;
    const r = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: [{ type: 'text', text: prompt }, { type: 'image_url', image_url: { url: image } }] }] }).withResponse();
    expect(r.response.status).toBe(200);
    expect(r.response.headers.get('x-switchyard-model')).toBe(chosenAtHalf); // the router saw the text
  });

  it('refuses a body over the size limit with 413, and keeps serving on that connection', async () => {
    const { client, url } = await open(configFor({ server: { port: 0, bodyLimitBytes: 4096 } }));
    const big = 'x'.repeat(200_000);
    await expect(client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: big }] })).rejects.toMatchObject({ status: 413, code: 'invalid_request' });
    const raw = await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'not json' });
    expect(raw.status).toBe(400);
    expect(((await raw.json()) as { error: { code: string } }).error.code).toBe('invalid_request');
    const ok = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] });
    expect(ok.choices[0]?.message.content).toMatch(/answer to/);
  });

  it('records every decision (route, candidates, chosen, cost, latency) and refuses keys over budget', async () => {
    const config = configFor({ auth: { keys: [{ name: 'team-a', sha256: hashKey('sk-team-a'), dailyBudgetUsd: 1e-9 }] } });
    const { gateway, url } = await open(config);
    const anonymous = new OpenAI({ baseURL: url, apiKey: 'sk-unknown', maxRetries: 0 });
    await expect(anonymous.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] })).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
    const team = new OpenAI({ baseURL: url, apiKey: 'sk-team-a', maxRetries: 0 });
    const first = await team.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }).withResponse();
    const id = first.response.headers.get('x-request-id') as string;
    const d = await gateway.store.getDecision(id);
    expect(d).toMatchObject({ route: 'auto', keyId: 'team-a', chosen: chosenAtHalf, answered: chosenAtHalf, status: 200, prompt: null });
    expect(d?.candidates.length).toBe(meta.models.length);
    expect(d?.costUsd).toBeGreaterThan(0);
    await expect(team.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] })).rejects.toMatchObject({ status: 429, code: 'budget_exceeded' });
    expect((await gateway.store.listDecisions({ route: 'auto' })).map((x) => x.requestId)).toContain(id);
    // the key can still see what it spent (GET /v1/usage, through the SDK's generic get)
    const usage = await team.get<{ key: string; day: { spent_usd: number; budget_usd: number; remaining_usd: number }; month: { spent_usd: number; budget_usd: null } }>('/usage');
    expect(usage).toMatchObject({ object: 'switchyard.usage', key: 'team-a', day: { budget_usd: 1e-9, remaining_usd: 0 }, month: { budget_usd: null, remaining_usd: null }, limits: { requests_per_minute: null } });
    expect(usage.day.spent_usd).toBeCloseTo(d?.costUsd ?? NaN, 15);
    expect(usage.month.spent_usd).toBeCloseTo(d?.costUsd ?? NaN, 15);
    await expect(anonymous.get('/usage')).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
    // per-key spend and budgets for Prometheus alerts
    const metrics = await (await fetch(url.replace(/\/v1$/, '/metrics'))).text();
    expect(Number(/^switchyard_key_cost_usd_total\{key="team-a"\} (\S+)$/m.exec(metrics)?.[1])).toBeCloseTo(d?.costUsd ?? NaN, 15);
    expect(metrics).toMatch(/^switchyard_key_budget_usd\{key="team-a",period="day"\} 1e-9$/m);
  });

  it('limits a key to the routes and models of its models list (403 model_not_allowed), and lists only those to it', async () => {
    const cheap = meta.models[1]?.id as string;
    const config = configFor({ auth: { keys: [{ name: 'interns', sha256: hashKey('sk-interns'), models: ['auto', cheap] }, { name: 'staff', sha256: hashKey('sk-staff') }] } });
    const { url } = await open(config);
    const interns = new OpenAI({ baseURL: url, apiKey: 'sk-interns', maxRetries: 0 });
    expect((await interns.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }).withResponse()).response.status).toBe(200);
    expect((await interns.chat.completions.create({ model: cheap, messages: [{ role: 'user', content: prompt }] }).withResponse()).response.status).toBe(200);
    const big = meta.models[0]?.id as string;
    await expect(interns.chat.completions.create({ model: big, messages: [{ role: 'user', content: prompt }] })).rejects.toMatchObject({ status: 403, code: 'model_not_allowed', message: expect.stringContaining('may use auto, ' + cheap) });
    await expect(interns.embeddings.create({ model: big, input: 'hi' })).rejects.toMatchObject({ status: 403, code: 'model_not_allowed' });
    expect((await interns.models.list()).data.map((m) => m.id).sort()).toEqual(['auto', cheap].sort());
    expect(await interns.models.retrieve(cheap)).toMatchObject({ id: cheap });
    await expect(interns.models.retrieve(big)).rejects.toMatchObject({ status: 404, code: 'model_not_found' }); // not there for this key, as in its list
    const staff = new OpenAI({ baseURL: url, apiKey: 'sk-staff', maxRetries: 0 });
    expect((await staff.chat.completions.create({ model: big, messages: [{ role: 'user', content: prompt }] }).withResponse()).response.status).toBe(200);
    expect((await staff.models.list()).data.length).toBe(1 + meta.models.length);
  });

  it("lets a key score only its own requests (auth.feedback: own), every key's with auth.feedback: any", async () => {
    const keys = [{ name: 'tenant-a', sha256: hashKey('sk-a') }, { name: 'tenant-b', sha256: hashKey('sk-b') }];
    for (const mode of ['own', 'any'] as const) {
      const { url } = await open(configFor({ auth: { keys, feedback: mode } }));
      const as = (key: string) => new OpenAI({ baseURL: url, apiKey: key, maxRetries: 0 });
      const { response } = await as('sk-a').chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }).withResponse();
      const id = response.headers.get('x-request-id') as string;
      const score = (key: string) => as(key).post('/feedback', { body: { request_id: id, score: 0.5 } });
      if (mode === 'own') await expect(score('sk-b')).rejects.toMatchObject({ status: 404, code: 'request_not_found', message: expect.stringContaining('made with this API key') });
      else expect(await score('sk-b')).toMatchObject({ recorded: true });
      expect(await score('sk-a')).toMatchObject({ recorded: true });
    }
  });

  it('limits a key to its requests per minute, with retry-after, and lets it in again the next minute', async () => {
    let now = Date.parse('2026-11-22T10:00:30Z');
    const config = configFor({ auth: { keys: [{ name: 'team-b', sha256: hashKey('sk-team-b'), requestsPerMinute: 2 }] } });
    const gateway = await Gateway.create(config, { sleep: async () => undefined, store: new SqliteStore(':memory:'), logger, now: () => now });
    gateways.push(gateway);
    const team = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'sk-team-b', maxRetries: 0 });
    const ask = () => team.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }).withResponse();
    await ask();
    await ask();
    const refused = (await ask().then(
      () => undefined,
      (e: unknown) => e,
    )) as InstanceType<typeof OpenAI.APIError> | undefined;
    expect(refused).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(refused?.headers?.get('retry-after')).toBe('30'); // the minute ends in 30 s
    now += 30_000;
    expect((await ask()).response.status).toBe(200);
    const metrics = await (await fetch(new URL('/metrics', team.baseURL))).text();
    expect(metrics).toMatch(/^switchyard_errors_total\{code="rate_limited",status="429"\} 1$/m);
  });

  it('limits a key to its tokens per minute, counted on admission (prompt + max_tokens), and not for refused requests', async () => {
    let now = Date.parse('2026-11-22T10:00:45Z');
    const P = CostModel.countTokens(prompt);
    const config = configFor({ auth: { keys: [{ name: 'team-c', sha256: hashKey('sk-team-c'), tokensPerMinute: 2 * P + 600 }] } });
    const gateway = await Gateway.create(config, { sleep: async () => undefined, store: new SqliteStore(':memory:'), logger, now: () => now });
    gateways.push(gateway);
    const team = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'sk-team-c', maxRetries: 0 });
    const ask = (maxTokens: number) => team.chat.completions.create({ model: 'auto', max_tokens: maxTokens, messages: [{ role: 'user', content: prompt }] }).withResponse();
    const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect((await ask(250)).response.status).toBe(200); // P + 250 of 2P + 600
    const tooBig = await refusal(ask(5000));
    expect(tooBig).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(tooBig?.message).toContain(`this request needs ~${P + 5000} tokens; key "team-c" may use ${2 * P + 600} a minute`);
    expect((await ask(250)).response.status).toBe(200); // 2P + 500: the refused request took nothing
    const over = await refusal(ask(250));
    expect(over).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(over?.headers?.get('retry-after')).toBe('15');
    now += 15_000; // a new minute
    expect((await ask(250)).response.status).toBe(200);
  });

  it('deletes decisions, feedback and spend older than store.retentionDays when it starts (and hourly)', async () => {
    const store = new SqliteStore(':memory:');
    const day = 86_400_000;
    const record = (id: string, time: number) => ({ requestId: id, time, route: 'auto', keyId: 'k', lambda: 0.5, chosen: 'a', answered: 'a', reason: 'r', candidates: [], costUsd: 1, latencyMs: 1, status: 200, prompt: null });
    await store.recordDecision(record('req-old', Date.now() - 10 * day));
    await store.recordDecision(record('req-new', Date.now() - day));
    await store.addSpend('k', 1, Date.now() - 10 * day, 'req-old');
    await open(configFor({ store: { path: ':memory:', retentionDays: 7 } }), store);
    for (let k = 0; k < 50 && (await store.getDecision('req-old')) !== undefined; k++) await new Promise((r) => setTimeout(r, 20));
    expect(await store.getDecision('req-old')).toBeUndefined();
    expect(await store.getDecision('req-new')).toBeDefined();
    expect(await store.spend('k', 0)).toBe(1); // spend is kept 40 days whatever the retention: monthly budgets need it
  });

  it('feedback updates a bandit route, changes its later choices, and survives a restart', async () => {
    const bandit = createRouter('ucb1:bootstrap=false');
    await bandit.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
    const banditFile = join(dir, 'ucb1.json');
    writeFileSync(banditFile, JSON.stringify(bandit.toArtifact()));
    const dbFile = join(dir, 'state.db');
    const config = configFor({ routes: { learn: { router: banditFile, lambda: 0 } } });
    const { gateway, client, url } = await open(config, new SqliteStore(dbFile));
    const ask = async (c: OpenAI): Promise<{ model: string; id: string }> => {
      const r = await c.chat.completions.create({ model: 'learn', messages: [{ role: 'user', content: prompt }] }).withResponse();
      return { model: r.response.headers.get('x-switchyard-model') as string, id: r.response.headers.get('x-request-id') as string };
    };
    const feedback = (id: string, score: number) =>
      fetch(`${url}/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ request_id: id, score }) }).then(async (r) => ({ status: r.status, body: await r.json() }));
    // every model is tried once (untried arms first); only small-3 earns a good score
    const seen: string[] = [];
    for (let k = 0; k < 8; k++) {
      const r = await ask(client);
      seen.push(r.model);
      const fb = await feedback(r.id, r.model === 'small-3' ? 1 : 0);
      expect(fb.body).toMatchObject({ recorded: true, router_updated: true });
    }
    expect(new Set(seen).size).toBe(meta.models.length);
    const best = await ask(client);
    expect(best.model).toBe('small-3');
    // a request is learned from once: a client's retry, or a second score, is recorded but does not move the router
    expect((await feedback(best.id, 1)).body).toMatchObject({ recorded: true, router_updated: true });
    for (let k = 0; k < 3; k++) expect((await feedback(best.id, 0)).body).toMatchObject({ recorded: true, router_updated: false });
    expect((await ask(client)).model).toBe('small-3'); // three zeros would have moved it, had they counted
    expect((await feedback('req_nope', 1)).status).toBe(404);
    expect((await feedback(seen[0] ?? '', 2)).status).toBe(400);
    await gateway.close();
    // a new gateway on the same store resumes the learned state
    const again = await open(config, new SqliteStore(dbFile));
    expect((await ask(again.client)).model).toBe('small-3');
  });

  it('exposes Prometheus metrics and logs one JSON line per request, without keys or prompts', async () => {
    const { url, client } = await open(configFor({}, chosenAtHalf));
    logLines.length = 0;
    const answered = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] });
    let streamed = 0;
    for await (const c of await client.chat.completions.create({ model: 'auto', stream: true, messages: [{ role: 'user', content: prompt }] })) streamed += c.usage?.completion_tokens ?? 0;
    const text = await (await fetch(url.replace(/\/v1$/, '/metrics'))).text();
    expect(text).toMatch(/switchyard_requests_total\{route="auto",model="[^"]+",status="200"\} 2/);
    // tokens by answering model and type: the JSON answer's usage plus the stream's (its usage chunk, asked for upstream)
    const tokens = (type: string): number => Number(new RegExp(`^switchyard_tokens_total\\{model="${answered.model}",type="${type}"\\} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(tokens('input')).toBe(2 * (answered.usage?.prompt_tokens ?? NaN));
    expect(tokens('output')).toBe(2 * (answered.usage?.completion_tokens ?? NaN));
    expect(streamed).toBe(0); // the client did not ask for the usage chunk: the gateway read it and kept it back
    expect(text).toMatch(new RegExp(`switchyard_fallbacks_total\\{route="auto",from="${chosenAtHalf}"`));
    expect(text).toMatch(new RegExp(`switchyard_circuit_state\\{model="${chosenAtHalf}"\\} 0`));
    expect(text).toMatch(/switchyard_overhead_duration_seconds_bucket/);
    expect(text).toMatch(/switchyard_cost_usd_total/);
    const line = JSON.parse(logLines.find((l) => l.includes('"msg":"request"')) as string);
    expect(line).toMatchObject({ route: 'auto', chosen: chosenAtHalf, status: 200 });
    expect(logLines.join('\n')).not.toContain(prompt);
    expect(logLines.join('\n')).not.toContain('sk-test');
  });

  it('serves recorded answers in process with the replay provider', async () => {
    const models = Object.fromEntries(meta.models.map((m) => [m.id, { provider: 'replay', data: dir, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }]));
    const { client } = await open(parseGatewayConfig({ server: { port: 0 }, models, routes: { auto: { router: artifactFile, lambda: 0.5 } } }));
    const { data, response } = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }).withResponse();
    expect(response.headers.get('x-switchyard-model')).toBe(chosenAtHalf);
    expect(data.choices[0]?.message.content).toBe(`[${chosenAtHalf}] answer to ${test[2]?.id}`);
    const stream = await client.chat.completions.create({ model: 'auto', stream: true, messages: [{ role: 'user', content: prompt }] });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    expect(text).toBe(`[${chosenAtHalf}] answer to ${test[2]?.id}`);
    await expect(client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'never recorded' }] })).rejects.toMatchObject({ status: 404, code: 'upstream_error' });
    expect(() => parseGatewayConfig({ models: { r: { provider: 'replay', inputPricePerMTok: 1, outputPricePerMTok: 1 } } })).toThrow(/data/);
  });

  it('speaks Anthropic Messages to an anthropic provider, translated both ways, streaming included', async () => {
    const models = Object.fromEntries(meta.models.map((m) => [m.id, { provider: 'anthropic', baseURL: goodURL, apiKeyEnv: 'TEST_ANTHROPIC_KEY', inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }]));
    const { client } = await open(parseGatewayConfig({ server: { port: 0 }, models, routes: { auto: { router: artifactFile, lambda: 0.5 } } }));
    const { data, response } = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: prompt }] }).withResponse();
    expect(data.choices[0]?.message.content).toBe(`[${chosenAtHalf}] answer to ${test[2]?.id}`);
    expect(data.choices[0]?.finish_reason).toBe('stop');
    expect(data.usage?.prompt_tokens).toBe(test[2]?.outcomes[chosenAtHalf]?.inputTokens);
    expect(Number(response.headers.get('x-switchyard-cost-usd'))).toBeGreaterThan(0);
    const stream = await client.chat.completions.create({ model: 'auto', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: prompt }] });
    let text = '';
    let usage = false;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? '';
      if (c.usage) usage = true;
    }
    expect(text).toBe(`[${chosenAtHalf}] answer to ${test[2]?.id}`);
    expect(usage).toBe(true);
  });

  it('translates OpenAI requests to Anthropic and Anthropic answers back', async () => {
    const { toAnthropicRequest, fromAnthropicMessage } = await import('./providers/anthropic-wire.js');
    const a = toAnthropicRequest({ model: 'x', messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'a' }, { role: 'user', content: [{ type: 'text', text: 'b' }] }, { role: 'assistant', content: 'c' }], stop: 'END', temperature: 0.2 }, 'claude-x');
    expect(a).toEqual({ model: 'claude-x', max_tokens: 4096, system: 'S', messages: [{ role: 'user', content: 'a\n\nb' }, { role: 'assistant', content: 'c' }], temperature: 0.2, stop_sequences: ['END'] });
    const o = fromAnthropicMessage({ id: 'msg_1', model: 'claude-x', content: [{ type: 'text', text: 'hi' }], stop_reason: 'max_tokens', usage: { input_tokens: 3, output_tokens: 4 } }, 'm', 1);
    expect(o).toMatchObject({ model: 'm', choices: [{ message: { content: 'hi' }, finish_reason: 'length' }], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } });
  });

  it('refuses an invalid config with every problem and its path', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'models:\n  m1:\n    baseURL: not-a-url\n    inputPricePerMTok: -1\n    outputPricePerMTok: 1\nroutes:\n  auto:\n    router: knn.json\n    lambda: 2\n');
    let message = '';
    try {
      readGatewayConfig(file);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/models\.m1\.baseURL/);
    expect(message).toMatch(/models\.m1\.inputPricePerMTok/);
    expect(message).toMatch(/routes\.auto\.lambda/);
  });
});
