/**
 * Soft routing through the gateway: a `cross-attention:soft=2` route calls two proposers (replay-upstream,
 * recorded answers) and an aggregator (a local server speaking the OpenAI wire format) writes the answer.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStream } from '../../test/helpers/streams.js';
import { syntheticRows } from '../../test/helpers/synthetic.js';
import { buildMatrix, loadDataset } from '../data/load.js';
import { writeDataset } from '../data/write.js';
import { createRouter } from '../routers/registry.js';
import { parseGatewayConfig } from './config.js';
import { AGGREGATE_INSTRUCTION } from './mixture.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

describe('soft routing (mixture-of-agents) in the gateway', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-moa-'));
  const { meta, rows } = syntheticRows({ prompts: 160, seed: 4 });
  writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] answer to ${r.id}` }))));
  const prompt = rows.filter((r) => r.split === 'test')[1]?.prompt as string;
  const seen: Array<{ messages: Array<{ role: string; content: string }>; stream?: boolean }> = [];
  let upstream: ReplayUpstream;
  let upstreamURL = '';
  let aggregator: Server;
  let gateway: Gateway;
  let client: OpenAI;
  let artifact = '';
  let expected: string[] = [];
  const models = (upURL: string, aggURL: string): Record<string, unknown> => ({
    ...Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: upURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }])),
    merger: { baseURL: aggURL, inputPricePerMTok: 1, outputPricePerMTok: 2 },
  });

  beforeAll(async () => {
    upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
    const upURL = await upstream.listen();
    upstreamURL = upURL;
    aggregator = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const r = JSON.parse(body) as (typeof seen)[number];
        seen.push(r);
        const usage = { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 };
        if (r.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          const chunk = (delta: object, extra: object = {}) => `data: ${JSON.stringify({ id: 'agg', object: 'chat.completion.chunk', created: 1, model: 'merger', choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`;
          res.end(`${chunk({ role: 'assistant', content: 'merged ' })}${chunk({ content: 'answer' })}data: ${JSON.stringify({ id: 'agg', object: 'chat.completion.chunk', created: 1, model: 'merger', choices: [], usage })}\n\ndata: [DONE]\n\n`);
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 'agg', object: 'chat.completion', created: 1, model: 'merger', choices: [{ index: 0, message: { role: 'assistant', content: 'merged answer' }, finish_reason: 'stop' }], usage }));
      });
    });
    await new Promise<void>((r) => aggregator.listen(0, '127.0.0.1', r));
    const aggURL = `http://127.0.0.1:${(aggregator.address() as AddressInfo).port}/v1`;
    const router = createRouter('cross-attention:encoder=hashing:dim=256;epochs=4;soft=2');
    await router.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
    artifact = join(dir, 'soft.json');
    writeFileSync(artifact, JSON.stringify(router.toArtifact()));
    expected = [...((await router.route([{ text: prompt }], { lambda: 0.3 }))[0]?.models ?? [])];
    const config = parseGatewayConfig({ server: { port: 0 }, models: models(upURL, aggURL), routes: { soft: { router: artifact, lambda: 0.3, aggregate: { model: 'merger' } } } });
    gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }) });
    client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await upstream.close();
    aggregator.close();
  });

  it('calls the top-2 proposers, gives their answers to the aggregator, and bills every call', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'soft', messages: [{ role: 'user', content: prompt }] }).withResponse();
    expect(expected).toHaveLength(2);
    expect(data.choices[0]?.message.content).toBe('merged answer');
    expect(response.headers.get('x-switchyard-model')).toBe('merger');
    expect(response.headers.get('x-switchyard-proposers')?.split(',').sort()).toEqual([...expected].sort());
    const system = seen[0]?.messages[0];
    expect(system?.role).toBe('system');
    expect(system?.content.startsWith(AGGREGATE_INSTRUCTION)).toBe(true);
    const id = rows.find((r) => r.prompt === prompt)?.id as string;
    for (const m of expected) expect(system?.content).toContain(`[${m}] answer to ${id}`);
    expect(seen[0]?.messages.at(-1)).toEqual({ role: 'user', content: prompt });
    const mergerCost = (1000 * 1 + 500 * 2) / 1e6;
    const total = Number(response.headers.get('x-switchyard-cost-usd'));
    expect(total).toBeGreaterThan(mergerCost);
    const decision = await gateway.store.getDecision(response.headers.get('x-request-id') as string);
    expect(decision?.costUsd).toBeCloseTo(total, 9);
    expect(decision?.reason).toMatch(/merger aggregated the answers of/);
  });

  it('answers with the first choice alone when the aggregator model cannot do what the request needs', async () => {
    const config = parseGatewayConfig({ server: { port: 0 }, models: { ...models(upstreamURL, 'http://127.0.0.1:9/v1'), merger: { baseURL: 'http://127.0.0.1:9/v1', inputPricePerMTok: 1, outputPricePerMTok: 2, supports: { tools: false } } }, routes: { soft: { router: artifact, lambda: 0.3, aggregate: { model: 'merger' } } } });
    const g = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }) });
    try {
      const c = new OpenAI({ baseURL: await g.listen(), apiKey: 'unused', maxRetries: 0 });
      const tools = [{ type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }];
      const { response } = await c.chat.completions.create({ model: 'soft', messages: [{ role: 'user', content: prompt }], tools }).withResponse();
      expect(response.headers.get('x-switchyard-model')).toBe(expected[0]);
      expect(response.headers.get('x-switchyard-proposers')).toBeNull();
      expect((await g.store.getDecision(response.headers.get('x-request-id') as string))?.reason).toMatch(/the aggregator merger has no tools, so the first choice answers alone/);
    } finally {
      await g.close();
    }
  });

  it('streams the aggregator\'s answer', async () => {
    const { text } = await readStream(await client.chat.completions.create({ model: 'soft', stream: true, messages: [{ role: 'user', content: prompt }] }));
    expect(text).toBe('merged answer');
    expect(seen.at(-1)?.stream).toBe(true);
  });

  it('with a response scorer, answers with the proposal it ranks first, streamed or not', async () => {
    const { readAnswers } = await import('../eval/mixture-scores.js');
    const { ResponseScorer } = await import('../routers/post-generation/response-scorer.js');
    const { fit } = await readAnswers(loadDataset(dir).view('train'));
    const scorerFile = join(dir, 'scorer.json');
    writeFileSync(scorerFile, JSON.stringify((await ResponseScorer.fit(fit, { seed: 1 })).toArtifact()));
    const scorer = ResponseScorer.fromArtifact(JSON.parse(readFileSync(scorerFile, 'utf8')));
    const config = parseGatewayConfig({ server: { port: 0 }, models: models(upstreamURL, 'http://127.0.0.1:9/v1'), routes: { pick: { router: artifact, lambda: 0.3, aggregate: { scorer: scorerFile } } } });
    const g = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }) });
    try {
      const c = new OpenAI({ baseURL: await g.listen(), apiKey: 'unused', maxRetries: 0 });
      const id = rows.find((r) => r.prompt === prompt)?.id as string;
      const scores = await scorer.score(expected.map((m) => ({ prompt, model: m, response: `[${m}] answer to ${id}` })));
      const best = expected[scores[0]! >= scores[1]! ? 0 : 1] as string;
      const { data, response } = await c.chat.completions.create({ model: 'pick', messages: [{ role: 'user', content: prompt }] }).withResponse();
      expect(response.headers.get('x-switchyard-model')).toBe(best);
      expect(data.model).toBe(best);
      expect(data.choices[0]?.message.content).toBe(`[${best}] answer to ${id}`);
      const decision = await g.store.getDecision(response.headers.get('x-request-id') as string);
      expect(decision?.costUsd).toBeCloseTo(Number(response.headers.get('x-switchyard-cost-usd')), 9);
      expect(decision?.reason).toMatch(/the response scorer picked/);
      const read = await readStream(await c.chat.completions.create({ model: 'pick', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: prompt }] }));
      expect(read.text).toBe(`[${best}] answer to ${id}`);
      expect(read.completionTokens).toBeGreaterThan(0);
    } finally {
      await g.close();
    }
  });

  it('retries a proposer that fails once (retryable), so its answer still counts', async () => {
    const flaky = expected[0] as string;
    const calls: string[] = [];
    let failed = false;
    // every upstream call goes through this fetch: the first call to `flaky` answers 503
    const fetchOnce: typeof fetch = async (input, init) => {
      const model = (JSON.parse(String(init?.body)) as { model: string }).model;
      calls.push(model);
      if (model === flaky && !failed) {
        failed = true;
        return new Response(JSON.stringify({ error: { message: 'overloaded', type: 'server_error', code: 'overloaded' } }), { status: 503, headers: { 'content-type': 'application/json' } });
      }
      return fetch(input, init);
    };
    const aggURL = `http://127.0.0.1:${(aggregator.address() as AddressInfo).port}/v1`;
    const config = parseGatewayConfig({ server: { port: 0 }, retries: 1, models: models(upstreamURL, aggURL), routes: { soft: { router: artifact, lambda: 0.3, aggregate: { model: 'merger' } } } });
    const delays: number[] = [];
    const g = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }), fetch: fetchOnce, sleep: async (ms) => void delays.push(ms) });
    try {
      const c = new OpenAI({ baseURL: await g.listen(), apiKey: 'unused', maxRetries: 0 });
      const { response } = await c.chat.completions.create({ model: 'soft', messages: [{ role: 'user', content: prompt }] }).withResponse();
      expect(response.headers.get('x-switchyard-proposers')?.split(',').sort()).toEqual([...expected].sort());
      expect(calls.filter((m) => m === flaky)).toHaveLength(2);
      expect(delays).toHaveLength(1); // one backoff, from the retry policy
    } finally {
      await g.close();
    }
  });

  it('refuses a soft route without an aggregator, naming the field', async () => {
    const config = parseGatewayConfig({ server: { port: 0 }, models: models('http://127.0.0.1:9/v1', 'http://127.0.0.1:9/v1'), routes: { soft: { router: artifact } } });
    await expect(Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }) })).rejects.toThrow(/routes\.soft\.aggregate/);
    expect(() => parseGatewayConfig({ models: models('http://127.0.0.1:9/v1', 'http://127.0.0.1:9/v1'), routes: { soft: { router: artifact, aggregate: { model: 'merger', scorer: 'x.json' } } } })).toThrow(/exactly one of/);
  });
});
