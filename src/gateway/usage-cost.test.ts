/**
 * Prompt-cache-aware costs: cached input tokens at the cache-read price, cache writes at the
 * cache-write price (prices from @pydantic/genai-prices unless the config sets them), Anthropic's
 * cache usage carried into the OpenAI form, and the gateway's cost header reflecting both.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJsonServer, type JsonServer } from '../../test/helpers/json-server.js';
import { parseGatewayConfig, type ModelConfig } from './config.js';
import { lookupPrices, resolvePrices } from './prices.js';
import { AnthropicStreamTranslator, fromAnthropicMessage } from './providers/anthropic-wire.js';
import { GatewayMetrics } from './metrics.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';
import { costOf, outputTokensOf } from './usage-cost.js';

describe('prompt-cache prices and costs', () => {
  it('takes cache prices from the price table, scales them to a configured input price, else uses the input price', () => {
    expect(lookupPrices('gpt-4o')).toMatchObject({ inputPricePerMTok: 2.5, cachedInputPricePerMTok: 1.25 });
    const haiku = lookupPrices('claude-3-5-haiku-latest', 'anthropic');
    expect(haiku?.cachedInputPricePerMTok).toBeLessThan(haiku?.inputPricePerMTok as number);
    expect(haiku?.cacheWritePricePerMTok).toBeGreaterThan(haiku?.inputPricePerMTok as number);
    expect(resolvePrices('gpt-4o', { inputPricePerMTok: 2, outputPricePerMTok: 8 })).toMatchObject({ cachedInputPricePerMTok: 1 }); // the table's 50% at the configured price
    expect(resolvePrices('my-finetune', { inputPricePerMTok: 3, outputPricePerMTok: 6 })).toMatchObject({ cachedInputPricePerMTok: 3, cacheWritePricePerMTok: 3 });
    expect(resolvePrices('gpt-4o', { inputPricePerMTok: 2, outputPricePerMTok: 8, cachedInputPricePerMTok: 0.2 }).cachedInputPricePerMTok).toBe(0.2);
  });

  it('takes a tiered model\'s ordinary prices, and its long-context prices as tiers (before: the long-context price for everything, cache reads at the input price)', () => {
    const sonnet = lookupPrices('claude-sonnet-4-5', 'anthropic');
    expect(sonnet).toMatchObject({ inputPricePerMTok: 3, outputPricePerMTok: 15, cachedInputPricePerMTok: 0.3, cacheWritePricePerMTok: 3.75 });
    expect(sonnet?.priceTiers).toEqual([{ aboveInputTokens: 200_000, inputPricePerMTok: 6, outputPricePerMTok: 22.5, cachedInputPricePerMTok: 0.6, cacheWritePricePerMTok: 7.5 }]);
    expect(lookupPrices('gemini-2.5-pro', 'google')).toMatchObject({ inputPricePerMTok: 1.25, outputPricePerMTok: 10, priceTiers: [{ aboveInputTokens: 200_000, inputPricePerMTok: 2.5, outputPricePerMTok: 15 }] });
    expect(lookupPrices('gpt-4o')?.priceTiers).toBeUndefined();
    // priced in the config (a 10% discount): the table's tiers at the same discount, or the config's own, or none
    const discounted = resolvePrices('claude-sonnet-4-5', { inputPricePerMTok: 2.7, outputPricePerMTok: 13.5, priceProvider: 'anthropic' });
    expect(discounted.priceTiers?.[0]?.inputPricePerMTok).toBeCloseTo(5.4, 12);
    expect(discounted.priceTiers?.[0]?.outputPricePerMTok).toBeCloseTo(20.25, 12);
    expect(discounted.priceTiers?.[0]?.cachedInputPricePerMTok).toBeCloseTo(0.54, 12);
    expect(resolvePrices('claude-sonnet-4-5', { priceProvider: 'anthropic', priceTiers: [] }).priceTiers).toBeUndefined();
  });

  it('bills a prompt above a tier at the tier\'s prices for all its tokens, input and output', () => {
    const config = parseGatewayConfig({ models: { sonnet: { baseURL: 'http://x.invalid/v1', upstreamModel: 'claude-sonnet-4-5', priceProvider: 'anthropic' } } });
    const m = config.models['sonnet'] as ModelConfig;
    expect(costOf({ prompt_tokens: 200_000, completion_tokens: 1000 }, m)).toBeCloseTo((200_000 * 3 + 1000 * 15) / 1e6, 12);
    expect(costOf({ prompt_tokens: 200_001, completion_tokens: 1000 }, m)).toBeCloseTo((200_001 * 6 + 1000 * 22.5) / 1e6, 12);
    expect(costOf({ prompt_tokens: 250_000, completion_tokens: 0, prompt_tokens_details: { cached_tokens: 240_000 } }, m)).toBeCloseTo((10_000 * 6 + 240_000 * 0.6) / 1e6, 12);
    // the config's own tiers (cache prices default to the tier's input price), validated
    const own = parseGatewayConfig({ models: { x: { baseURL: 'http://x.invalid/v1', inputPricePerMTok: 1, outputPricePerMTok: 2, priceTiers: [{ aboveInputTokens: 1000, inputPricePerMTok: 3, outputPricePerMTok: 4 }] } } });
    expect(costOf({ prompt_tokens: 2000, completion_tokens: 10, prompt_tokens_details: { cached_tokens: 1000 } }, own.models['x'] as ModelConfig)).toBeCloseTo((2000 * 3 + 10 * 4) / 1e6, 12);
    expect(() => parseGatewayConfig({ models: { x: { baseURL: 'http://x.invalid/v1', inputPricePerMTok: 1, outputPricePerMTok: 2, priceTiers: [{ aboveInputTokens: 9, inputPricePerMTok: 3, outputPricePerMTok: 4 }, { aboveInputTokens: 5, inputPricePerMTok: 5, outputPricePerMTok: 6 }] } } })).toThrow(/ascending aboveInputTokens/);
  });

  it('bills cached and written input tokens at their prices, the rest at the input price', () => {
    const m: ModelConfig = { provider: 'openai-compatible', baseURL: 'http://x.invalid/v1', inputPricePerMTok: 4, outputPricePerMTok: 10, cachedInputPricePerMTok: 1, cacheWritePricePerMTok: 5 };
    expect(costOf({ prompt_tokens: 1000, completion_tokens: 100 }, m)).toBeCloseTo((1000 * 4 + 100 * 10) / 1e6, 15);
    expect(costOf({ prompt_tokens: 1000, completion_tokens: 100, prompt_tokens_details: { cached_tokens: 800 } }, m)).toBeCloseTo((200 * 4 + 800 * 1 + 100 * 10) / 1e6, 15);
    expect(costOf({ prompt_tokens: 1000, completion_tokens: 0, prompt_tokens_details: { cached_tokens: 300 }, cache_creation_input_tokens: 500 }, m)).toBeCloseTo((200 * 4 + 300 * 1 + 500 * 5) / 1e6, 15);
    expect(costOf({ prompt_tokens: 10, prompt_tokens_details: { cached_tokens: 50 } }, m)).toBeCloseTo((10 * 1) / 1e6, 15); // never more cached than sent
    const { cachedInputPricePerMTok: _c, cacheWritePricePerMTok: _w, ...plain } = m;
    expect(costOf({ prompt_tokens: 1000, prompt_tokens_details: { cached_tokens: 800 } }, plain)).toBeCloseTo((1000 * 4) / 1e6, 15);
  });

  it('carries Anthropic\'s cache reads and writes into the OpenAI usage, plain and streamed', () => {
    const usage = { input_tokens: 20, output_tokens: 7, cache_read_input_tokens: 1000, cache_creation_input_tokens: 300 };
    const c = fromAnthropicMessage({ id: 'msg_1', model: 'claude', content: [{ type: 'text', text: 'hi' }], stop_reason: 'end_turn', usage }, 'claude', 1);
    expect(c['usage']).toEqual({ prompt_tokens: 1320, completion_tokens: 7, total_tokens: 1327, prompt_tokens_details: { cached_tokens: 1000 }, cache_creation_input_tokens: 300 });
    const t = new AnthropicStreamTranslator('claude', 1);
    t.translate(`event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'msg_2', usage: { input_tokens: 20, output_tokens: 1, cache_read_input_tokens: 1000 } } })}`);
    const [, last] = t.translate(`event: message_delta\ndata: ${JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9 } })}`);
    expect(JSON.parse((last as string).slice(6))['usage']).toEqual({ prompt_tokens: 1020, completion_tokens: 9, total_tokens: 1029, prompt_tokens_details: { cached_tokens: 1000 }, cache_creation_input_tokens: 0 });
  });
});

describe('audio tokens', () => {
  it('takes audio prices from the table (scaled to configured prices), or the config\'s, or none', () => {
    expect(lookupPrices('gpt-audio', 'openai')).toMatchObject({ inputPricePerMTok: 2.5, outputPricePerMTok: 10, audioInputPricePerMTok: 32, audioOutputPricePerMTok: 64 });
    expect(lookupPrices('gemini-2.5-flash', 'google')).toMatchObject({ inputPricePerMTok: 0.3, audioInputPricePerMTok: 1 });
    expect(lookupPrices('gpt-4o')?.audioInputPricePerMTok).toBeUndefined();
    // a 20% discount on text is one on audio too; the config's own audio prices win
    expect(resolvePrices('gpt-audio', { inputPricePerMTok: 2, outputPricePerMTok: 8, priceProvider: 'openai' })).toMatchObject({ audioInputPricePerMTok: 25.6, audioOutputPricePerMTok: 51.2 });
    expect(resolvePrices('gpt-audio', { priceProvider: 'openai', audioInputPricePerMTok: 30 })).toMatchObject({ audioInputPricePerMTok: 30, audioOutputPricePerMTok: 64 });
    expect(resolvePrices('my-model', { inputPricePerMTok: 1, outputPricePerMTok: 2 }).audioInputPricePerMTok).toBeUndefined();
  });

  it('bills audio in and out at the audio prices (before: at the text prices, 13x and 6x less for gpt-audio), text and cache reads at theirs', () => {
    const m = parseGatewayConfig({ models: { 'gpt-audio': { baseURL: 'http://x.invalid/v1', priceProvider: 'openai' } } }).models['gpt-audio'] as ModelConfig;
    // OpenAI's usage for a spoken question answered in speech
    const usage = { prompt_tokens: 120, completion_tokens: 300, total_tokens: 420, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 100 }, completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 250 } };
    expect(costOf(usage, m)).toBeCloseTo((20 * 2.5 + 100 * 32 + 50 * 10 + 250 * 64) / 1e6, 12);
    // cached tokens are billed at the cache price and never counted as uncached audio
    expect(costOf({ ...usage, prompt_tokens_details: { cached_tokens: 60, audio_tokens: 100 } }, { ...m, cachedInputPricePerMTok: 1.25 })).toBeCloseTo((60 * 1.25 + 60 * 32 + 50 * 10 + 250 * 64) / 1e6, 12);
    // a model without audio prices: audio costs what text does
    const text = parseGatewayConfig({ models: { t: { baseURL: 'http://x.invalid/v1', inputPricePerMTok: 1, outputPricePerMTok: 2 } } }).models['t'] as ModelConfig;
    expect(costOf(usage, text)).toBeCloseTo((120 * 1 + 300 * 2) / 1e6, 12);
  });

  it('counts audio tokens apart in switchyard_tokens_total', async () => {
    const metrics = new GatewayMetrics(() => new Map(), () => [], () => 0);
    metrics.countTokens('gpt-audio', { prompt_tokens: 120, completion_tokens: 300, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 100 }, completion_tokens_details: { audio_tokens: 250 } });
    const text = await metrics.registry.metrics();
    for (const [type, n] of [['input', 120], ['audio_input', 100], ['output', 300], ['audio_output', 250]] as const) expect(text).toContain(`switchyard_tokens_total{model="gpt-audio",type="${type}"} ${n}`);
    expect(text).not.toContain('type="cached_input"');
  });
});

describe('the gateway bills cached input at the cache price', () => {
  let upstream: Server;
  let gateway: Gateway;
  let url = '';
  beforeAll(async () => {
    upstream = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 2000, completion_tokens: 10, total_tokens: 2010, prompt_tokens_details: { cached_tokens: 1536 } } }));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const config = parseGatewayConfig({ server: { port: 0 }, models: { 'gpt-4o': { baseURL: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1` } } });
    gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }) });
    url = await gateway.listen();
  });
  afterAll(async () => {
    await gateway.close();
    upstream.close();
  });

  it('prices a 2,000-token prompt with 1,536 cached tokens at $2.50 / $1.25 per M (gpt-4o\'s table prices)', async () => {
    const client = new OpenAI({ baseURL: url, apiKey: 'unused', maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(Number(response.headers.get('x-switchyard-cost-usd'))).toBeCloseTo((464 * 2.5 + 1536 * 1.25 + 10 * 10) / 1e6, 12);
  });
});

describe('thinking an API counts only in total_tokens (Google Gemini\'s OpenAI endpoint)', () => {
  let upstream: JsonServer;
  let gateway: Gateway;
  let client: OpenAI;
  // Gemini 2.5 Flash through https://generativelanguage.googleapis.com/v1beta/openai: 572 thinking tokens in total_tokens only
  const usage = { prompt_tokens: 20, completion_tokens: 424, total_tokens: 1016 };
  beforeAll(async () => {
    upstream = await startJsonServer((body, reply) => {
      const answer = { id: 'g', created: 1, model: 'gemini-2.5-flash' };
      if (!body['stream']) return reply(200, { ...answer, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: '36' }, finish_reason: 'stop' }], usage });
      const chunk = (c: Record<string, unknown>): string => `data: ${JSON.stringify({ ...answer, object: 'chat.completion.chunk', ...c })}\n\n`;
      reply(200, chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: '36' }, finish_reason: null }] }) + chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) + chunk({ choices: [], usage }) + 'data: [DONE]\n\n', 'text/event-stream');
    });
    const config = parseGatewayConfig({ server: { port: 0 }, models: { gemini: { baseURL: upstream.url, inputPricePerMTok: 0.3, outputPricePerMTok: 2.5 } } });
    gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }) });
    client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await upstream.close();
  });

  it('bills the thinking as output, and answers completion_tokens as OpenAI counts them (reasoning included), plain and streamed', async () => {
    const price = (20 * 0.3 + 996 * 2.5) / 1e6; // before: 424 output tokens, $1.07e-3 instead of $2.50e-3
    const { data, response } = await client.chat.completions.create({ model: 'gemini', messages: [{ role: 'user', content: '15% of 240?' }] }).withResponse();
    expect(data.usage).toMatchObject({ prompt_tokens: 20, completion_tokens: 996, total_tokens: 1016, completion_tokens_details: { reasoning_tokens: 572 } });
    expect(Number(response.headers.get('x-switchyard-cost-usd'))).toBeCloseTo(price, 12);
    const stream = await client.chat.completions.create({ model: 'gemini', messages: [{ role: 'user', content: '15% of 240?' }], stream: true, stream_options: { include_usage: true } });
    let streamed: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) streamed = chunk.usage ?? streamed;
    expect(streamed).toMatchObject({ completion_tokens: 996, completion_tokens_details: { reasoning_tokens: 572 } });
    expect(outputTokensOf({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 })).toBe(5); // an API that counts as OpenAI does: as it came
    expect(outputTokensOf({ prompt_tokens: 10, completion_tokens: 5 })).toBe(5);
  });
});
