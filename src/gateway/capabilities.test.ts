/**
 * Capabilities: a routed request that needs tools, an image, a JSON schema or audio goes only to a
 * model that supports it (`models.X.supports`), even where the router would pick a cheaper one; a
 * request no model can answer is refused with 400 `unsupported_capability` naming what is missing.
 * Official openai SDK → gateway (trained router at λ = 1, the cheapest) → replay-upstream.
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
import { requiredCapabilities, supportsOf } from './capabilities.js';
import { parseGatewayConfig } from './config.js';
import type { ChatRequest } from './http.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

const chat = (extra: Record<string, unknown>, content: unknown = 'hi'): ChatRequest => ({ model: 'auto', messages: [{ role: 'user', content }], ...extra });

describe('requiredCapabilities', () => {
  it('reads what a chat request needs from its tools, content parts, response_format and modalities', () => {
    expect(requiredCapabilities(chat({}))).toEqual([]);
    expect(requiredCapabilities(chat({ tools: [] }))).toEqual([]);
    expect(requiredCapabilities(chat({ tools: [{ type: 'function', function: { name: 'f' } }] }))).toEqual(['tools']);
    expect(requiredCapabilities(chat({ functions: [{ name: 'f' }] }))).toEqual(['tools']);
    expect(requiredCapabilities(chat({}, [{ type: 'text', text: 'what is this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }]))).toEqual(['vision']);
    expect(requiredCapabilities(chat({ response_format: { type: 'json_schema', json_schema: { name: 's', schema: {} } } }))).toEqual(['json_schema']);
    expect(requiredCapabilities(chat({ response_format: { type: 'json_object' } }))).toEqual([]); // plain JSON mode: every model
    expect(requiredCapabilities(chat({ modalities: ['text', 'audio'] }, [{ type: 'input_audio', input_audio: { data: 'AAAA', format: 'wav' } }]))).toEqual(['audio']);
    expect(requiredCapabilities(chat({ tools: [{ type: 'function' }] }, [{ type: 'image_url', image_url: { url: 'x' } }]))).toEqual(['tools', 'vision']);
    expect(requiredCapabilities(chat({ n: 3 }))).toEqual(['multiple_choices']);
    expect(requiredCapabilities(chat({ n: 1 }))).toEqual([]);
    expect(requiredCapabilities(chat({ logprobs: true, top_logprobs: 3 }))).toEqual(['logprobs']);
    expect(requiredCapabilities(chat({ top_logprobs: 2 }))).toEqual(['logprobs']);
    expect(requiredCapabilities(chat({ logprobs: false, top_logprobs: 0 }))).toEqual([]);
  });

  it("counts a provider's limits under the model's own supports", () => {
    expect(supportsOf({ provider: 'anthropic' })).toEqual({ multiple_choices: false, logprobs: false }); // one choice per answer, no log probabilities
    expect(supportsOf({ provider: 'anthropic', supports: { vision: false } })).toEqual({ multiple_choices: false, logprobs: false, vision: false });
    expect(supportsOf({ provider: 'anthropic', supports: { multiple_choices: true } })).toEqual({ multiple_choices: true, logprobs: false });
    expect(supportsOf({ provider: 'openai-compatible' })).toBeUndefined();
  });
});

describe('routing by capability (openai SDK → gateway → replay-upstream)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-caps-'));
  const { meta, rows } = syntheticRows({ prompts: 120 });
  writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] an answer to ${r.id}` }))));
  const prompt = (rows.find((r) => r.split === 'test') as (typeof rows)[number]).prompt;
  let upstream: ReplayUpstream;
  let gateway: Gateway;
  let client: OpenAI;
  let cheapest = '';
  let ranked: string[] = [];

  beforeAll(async () => {
    upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
    const upstreamURL = await upstream.listen();
    const router = createRouter('linear:encoder=hashing:dim=256');
    await router.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
    const artifact = join(dir, 'linear.json');
    writeFileSync(artifact, JSON.stringify(router.toArtifact()));
    const decision = (await router.route([{ text: prompt }], { lambda: 1 }))[0];
    ranked = [...(decision?.candidates ?? [])].sort((a, b) => (b.utility ?? 0) - (a.utility ?? 0)).map((c) => c.model);
    cheapest = decision?.models[0] as string;
    // the router's first choice has no tools, images or JSON schema; its second no images; the rest all
    const supports: Record<string, Record<string, boolean>> = { [cheapest]: { tools: false, vision: false, json_schema: false }, [ranked[1] as string]: { vision: false } };
    const config = parseGatewayConfig({
      server: { port: 0 },
      store: { outbox: false },
      retries: 0,
      models: Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: upstreamURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok, ...(supports[m.id] ? { supports: supports[m.id] } : {}) }])),
      routes: { auto: { router: artifact, lambda: 1 }, small: { router: artifact, lambda: 1, models: [cheapest] } },
    });
    gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ enabled: false }) });
    client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'sk-test', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await upstream.close();
  });

  const tool = { type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object', properties: {} } } };
  const image = { type: 'image_url' as const, image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } };
  const answeredBy = async (body: Omit<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming, 'model'>, model = 'auto'): Promise<string | null> =>
    (await client.chat.completions.create({ model, ...body }).withResponse()).response.headers.get('x-switchyard-model');

  it('sends a request only to a model that supports what it needs, in the order the router ranks them', async () => {
    expect(ranked.length).toBeGreaterThanOrEqual(3);
    expect(await answeredBy({ messages: [{ role: 'user', content: prompt }] })).toBe(cheapest); // needs nothing: the router's choice
    expect(await answeredBy({ messages: [{ role: 'user', content: prompt }], tools: [tool] })).toBe(ranked[1]);
    expect(await answeredBy({ messages: [{ role: 'user', content: [{ type: 'text', text: prompt }, image] }] })).toBe(ranked[2]);
    expect(await answeredBy({ messages: [{ role: 'user', content: prompt }], response_format: { type: 'json_schema', json_schema: { name: 'a', schema: { type: 'object' } } } })).toBe(ranked[1]);
    const recorded = await gateway.store.listDecisions({ limit: 10 });
    expect(recorded.every((d) => d.status === 200)).toBe(true);
  });

  it('refuses with 400 unsupported_capability, naming the models and what they lack, when none can answer', async () => {
    const refused = await client.chat.completions.create({ model: 'small', messages: [{ role: 'user', content: prompt }], tools: [tool] }).catch((e: unknown) => e as { status: number; code: string; message: string });
    expect(refused).toMatchObject({ status: 400, code: 'unsupported_capability' });
    expect((refused as { message: string }).message).toContain(`route small has no model that supports it: ${cheapest} (no tools)`);
    const named = await client.chat.completions.create({ model: cheapest, messages: [{ role: 'user', content: [{ type: 'text', text: prompt }, image] }], tools: [tool] }).catch((e: unknown) => e as { status: number; code: string; message: string });
    expect(named).toMatchObject({ status: 400, code: 'unsupported_capability' });
    expect((named as { message: string }).message).toContain(`${cheapest} (no tools, no vision)`);
    // a model named directly that supports it answers
    expect(await answeredBy({ messages: [{ role: 'user', content: prompt }], tools: [tool] }, ranked[1])).toBe(ranked[1]);
  });

  it('keeps a request for several choices or log probabilities away from a provider that gives neither (replay here)', async () => {
    const config = parseGatewayConfig({ server: { port: 0 }, store: { outbox: false }, models: { [cheapest]: { provider: 'replay', data: dir, inputPricePerMTok: 1, outputPricePerMTok: 1 } } });
    const g = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ enabled: false }) });
    try {
      const c = new OpenAI({ baseURL: await g.listen(), apiKey: 'sk-test', maxRetries: 0 });
      const refused = await c.chat.completions.create({ model: cheapest, messages: [{ role: 'user', content: prompt }], n: 2 }).catch((e: unknown) => e as { status: number; code: string; message: string });
      expect(refused).toMatchObject({ status: 400, code: 'unsupported_capability' });
      expect((refused as { message: string }).message).toContain(`multiple_choices (\`n\` > 1)`);
      const noLogprobs = await c.chat.completions.create({ model: cheapest, messages: [{ role: 'user', content: prompt }], logprobs: true, top_logprobs: 2 }).catch((e: unknown) => e as { status: number; code: string; message: string });
      expect(noLogprobs).toMatchObject({ status: 400, code: 'unsupported_capability' });
      expect((noLogprobs as { message: string }).message).toContain(`${cheapest} (no logprobs)`);
      expect((await c.chat.completions.create({ model: cheapest, messages: [{ role: 'user', content: prompt }] })).choices).toHaveLength(1);
    } finally {
      await g.close();
    }
  });

  it('rejects a config that misspells a capability, naming the path', () => {
    expect(() => parseGatewayConfig({ models: { m: { baseURL: 'http://127.0.0.1:1/v1', inputPricePerMTok: 1, outputPricePerMTok: 1, supports: { tool: false } } } })).toThrow(/supports[\s\S]*tool/);
  });
});
