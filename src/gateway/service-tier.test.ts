/**
 * Service tiers: an answer served at OpenAI's `flex` (or another tier the config prices) is billed at
 * that tier's multiple of the model's prices, plain and streamed, through chat, Responses and
 * Messages; a tier the config does not price is billed at the standard prices and warned about; the
 * Anthropic provider carries the tier both ways.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJsonServer, type JsonServer } from '../../test/helpers/json-server.js';
import { parseGatewayConfig, type ModelConfig } from './config.js';
import { fromAnthropicMessage, toAnthropicRequest, AnthropicStreamTranslator } from './providers/anthropic-wire.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';
import { costOf, serviceTierFactor } from './usage-cost.js';

const usage = { prompt_tokens: 1000, completion_tokens: 100, total_tokens: 1100 };
/** gpt-5 at $1.25 / $10 per M tokens: the standard price of `usage`. */
const STANDARD = (1000 * 1.25 + 100 * 10) / 1e6;

describe('service tier prices', () => {
  const config = parseGatewayConfig({
    models: {
      'gpt-5': { baseURL: 'http://x.invalid/v1', inputPricePerMTok: 1.25, outputPricePerMTok: 10, serviceTiers: { priority: 2 } },
      plain: { baseURL: 'http://x.invalid/v1', inputPricePerMTok: 1.25, outputPricePerMTok: 10 },
    },
  });
  const gpt5 = config.models['gpt-5'] as ModelConfig;
  const plain = config.models['plain'] as ModelConfig;

  it('bills flex at half price by default, a configured tier at its multiple, the standard tiers and none at the prices', () => {
    expect(plain.serviceTiers).toEqual({ flex: 0.5 });
    expect(gpt5.serviceTiers).toEqual({ flex: 0.5, priority: 2 });
    expect(costOf(usage, plain, 'flex')).toBeCloseTo(STANDARD / 2, 15);
    expect(costOf(usage, gpt5, 'priority')).toBeCloseTo(STANDARD * 2, 15);
    for (const standard of ['default', 'standard', 'auto', undefined, null, '']) expect(costOf(usage, gpt5, standard)).toBeCloseTo(STANDARD, 15);
    // cached input and long-context tiers scale alike
    const m: ModelConfig = { ...gpt5, cachedInputPricePerMTok: 0.125 };
    expect(costOf({ ...usage, prompt_tokens_details: { cached_tokens: 400 } }, m, 'flex')).toBeCloseTo((600 * 1.25 + 400 * 0.125 + 100 * 10) / 1e6 / 2, 15);
    const long: ModelConfig = { ...gpt5, priceTiers: [{ aboveInputTokens: 500, inputPricePerMTok: 2.5, outputPricePerMTok: 15, cachedInputPricePerMTok: 0.25, cacheWritePricePerMTok: 2.5 }] };
    expect(costOf({ ...usage, prompt_tokens_details: { cached_tokens: 400 } }, long, 'priority')).toBeCloseTo(((600 * 2.5 + 400 * 0.25 + 100 * 15) / 1e6) * 2, 15);
  });

  it('leaves a tier the config does not price at the standard prices, and says it does not know it', () => {
    expect(serviceTierFactor(plain, 'priority')).toBeUndefined();
    expect(costOf(usage, plain, 'priority')).toBeCloseTo(STANDARD, 15);
    expect(serviceTierFactor(plain, 'FLEX')).toBe(0.5); // as a provider may spell it
    expect(parseGatewayConfig({ models: { m: { baseURL: 'http://x.invalid/v1', inputPricePerMTok: 1, outputPricePerMTok: 1, serviceTiers: { flex: 1 } } } }).models['m']?.serviceTiers).toEqual({ flex: 1 }); // a provider whose flex is not cheaper
    expect(() => parseGatewayConfig({ models: { m: { baseURL: 'http://x.invalid/v1', inputPricePerMTok: 1, outputPricePerMTok: 1, serviceTiers: { Priority: 2 } } } })).toThrow(/serviceTiers/);
    expect(() => parseGatewayConfig({ models: { m: { baseURL: 'http://x.invalid/v1', inputPricePerMTok: 1, outputPricePerMTok: 1, serviceTiers: { priority: -1 } } } })).toThrow(/serviceTiers/);
  });

  it('carries the tier between OpenAI\'s and Anthropic\'s words, plain and streamed', () => {
    const ask = (service_tier: string | undefined): unknown => toAnthropicRequest({ model: 'claude', messages: [{ role: 'user', content: 'hi' }], service_tier }, 'claude')['service_tier'];
    expect([ask('default'), ask('auto'), ask('priority'), ask('flex'), ask(undefined)]).toEqual(['standard_only', 'auto', 'auto', undefined, undefined]);
    const answer = (tier: string): unknown => fromAnthropicMessage({ id: 'm', model: 'claude', content: [{ type: 'text', text: 'hi' }], stop_reason: 'end_turn', usage: { input_tokens: 3, output_tokens: 1, service_tier: tier } }, 'claude', 1)['service_tier'];
    expect([answer('standard'), answer('priority')]).toEqual(['default', 'priority']);
    const t = new AnthropicStreamTranslator('claude', 1);
    t.translate(`event: message_start\ndata: ${JSON.stringify({ type: 'message_start', message: { id: 'm', usage: { input_tokens: 3, output_tokens: 1, service_tier: 'priority' } } })}`);
    const [, last] = t.translate(`event: message_delta\ndata: ${JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 2 } })}`);
    expect(JSON.parse((last as string).slice(6))).toMatchObject({ service_tier: 'priority', usage: { prompt_tokens: 3, completion_tokens: 2 } });
  });
});

describe('the gateway bills the tier an answer reports', () => {
  let upstream: JsonServer;
  let gateway: Gateway;
  let client: OpenAI;
  const seen: Array<unknown> = [];
  const warnings: string[] = [];
  beforeAll(async () => {
    // an OpenAI upstream: answers at the tier asked (flex, priority), else at `default`, as OpenAI reports it
    upstream = await startJsonServer((body, reply) => {
      seen.push(body['service_tier']);
      const asked = body['service_tier'];
      const tier = asked === 'flex' || asked === 'priority' ? asked : 'default';
      const answer = { id: 'c', created: 1, model: 'gpt-5', service_tier: tier };
      if (!body['stream']) return reply(200, { ...answer, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage });
      const chunk = (c: Record<string, unknown>): string => `data: ${JSON.stringify({ ...answer, object: 'chat.completion.chunk', ...c })}\n\n`;
      reply(200, chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'ok' }, finish_reason: null }] }) + chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) + chunk({ choices: [], usage }) + 'data: [DONE]\n\n', 'text/event-stream');
    });
    const config = parseGatewayConfig({ server: { port: 0 }, models: { 'gpt-5': { baseURL: upstream.url, inputPricePerMTok: 1.25, outputPricePerMTok: 10 } } });
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger });
    client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await upstream.close();
  });

  const lastCost = async (): Promise<number> => (await gateway.store.listDecisions({ limit: 1 }))[0]?.costUsd ?? Number.NaN;

  it('bills a flex answer at half price (before: the standard price), plain and streamed, and passes the tier on', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }], service_tier: 'flex' }).withResponse();
    expect(data.service_tier).toBe('flex');
    expect(Number(response.headers.get('x-switchyard-cost-usd'))).toBeCloseTo(STANDARD / 2, 12);
    expect(await lastCost()).toBeCloseTo(STANDARD / 2, 12);
    const stream = await client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }], service_tier: 'flex', stream: true });
    for await (const _ of stream);
    expect(await lastCost()).toBeCloseTo(STANDARD / 2, 12);
    const plain = await client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(Number(plain.response.headers.get('x-switchyard-cost-usd'))).toBeCloseTo(STANDARD, 12);
    expect(seen.slice(0, 3)).toEqual(['flex', 'flex', undefined]);
  });

  it('takes the tier through the Responses API and the Messages API, and reports it in each one\'s words', async () => {
    const r = await client.responses.create({ model: 'gpt-5', input: 'hi', service_tier: 'flex' });
    expect(r.service_tier).toBe('flex');
    expect(await lastCost()).toBeCloseTo(STANDARD / 2, 12);
    const anthropic = new Anthropic({ baseURL: client.baseURL.replace(/\/v1$/, ''), apiKey: 'unused', maxRetries: 0 });
    const m = await anthropic.messages.create({ model: 'gpt-5', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }], service_tier: 'standard_only' });
    expect(seen[seen.length - 1]).toBe('default');
    expect(m.usage.service_tier).toBe('standard');
  });

  it('bills a tier the config does not price at the standard prices and warns once', async () => {
    const { response } = await client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }], service_tier: 'priority' }).withResponse();
    expect(Number(response.headers.get('x-switchyard-cost-usd'))).toBeCloseTo(STANDARD, 12);
    await client.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'hi' }], service_tier: 'priority' });
    const warned = warnings.filter((w) => w.includes('service tier'));
    expect(warned).toHaveLength(1);
    expect(JSON.parse(warned[0] as string)).toMatchObject({ model: 'gpt-5', serviceTier: 'priority' });
  });

  it('lists each model\'s tier multiples with its prices', async () => {
    const card = (await client.models.retrieve('gpt-5')) as unknown as { pricing: Record<string, unknown> };
    expect(card.pricing['service_tier_multipliers']).toEqual({ flex: 0.5 });
  });
});
