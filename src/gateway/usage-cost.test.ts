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
import { parseGatewayConfig, type ModelConfig } from './config.js';
import { lookupPrices, resolvePrices } from './prices.js';
import { AnthropicStreamTranslator, fromAnthropicMessage } from './providers/anthropic-wire.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';
import { costOf } from './usage-cost.js';

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
