/**
 * Claude's prompt cache through the gateway: the official openai and Anthropic SDKs → gateway → a
 * local server that speaks the Anthropic Messages format (it records what it is sent and refuses more
 * than 4 marks, as Anthropic does); beside it an OpenAI-format endpoint that refuses `cache_control`,
 * as an API that does not know it may.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatCompletion, startJsonServer, type JsonServer } from '../../../test/helpers/json-server.js';
import { parseGatewayConfig } from '../config.js';
import { Gateway } from '../server.js';
import { SqliteStore } from '../store/sqlite-store.js';
import type { AnthropicRequest } from './anthropic-wire.js';

const WEATHER_TOOL = { type: 'function' as const, function: { name: 'get_weather', description: 'Current weather in a city', parameters: { type: 'object', properties: { location: { type: 'string' } } } } };
const SYSTEM = 'You are a meteorologist. '.repeat(200);
const MARK = { type: 'ephemeral' };

/** Every `cache_control` in a request, by where it is. */
function marks(r: AnthropicRequest): string[] {
  const out: string[] = [];
  r.tools?.forEach((t, k) => t.cache_control && out.push(`tools.${k}`));
  if (Array.isArray(r.system)) r.system.forEach((b, k) => b.cache_control && out.push(`system.${k}`));
  r.messages.forEach((m, k) => Array.isArray(m.content) && m.content.forEach((b, j) => 'cache_control' in b && b.cache_control && out.push(`messages.${k}.${j}`)));
  return out;
}

describe('anthropic provider: the prompt cache', () => {
  const seen: AnthropicRequest[] = [];
  const openaiSeen: unknown[] = [];
  let anthropic: JsonServer;
  let openai: JsonServer;
  let gateway: Gateway;
  let client: OpenAI;

  beforeAll(async () => {
    anthropic = await startJsonServer((body, reply) => {
      const r = body as unknown as AnthropicRequest;
      seen.push(r);
      if (marks(r).length > 4) return reply(400, { type: 'error', error: { type: 'invalid_request_error', message: 'A maximum of 4 blocks with cache_control may be provided.' } });
      // a read of the cached system prompt, as Anthropic reports it
      // and a one-hour write of a block marked with that ttl
      const hour = JSON.stringify(r.messages).includes('"ttl":"1h"') ? 1000 : 0;
      const usage = { input_tokens: 12, output_tokens: 5, cache_read_input_tokens: Array.isArray(r.system) ? 1200 : 0, cache_creation_input_tokens: hour, ...(hour > 0 ? { cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: hour } } : {}) };
      reply(200, { id: 'msg_1', type: 'message', role: 'assistant', model: r.model, content: [{ type: 'text', text: 'Sunny.' }], stop_reason: 'end_turn', usage });
    });
    openai = await startJsonServer((body, reply) => {
      openaiSeen.push(body);
      if (JSON.stringify(body).includes('cache_control')) return reply(400, { error: { message: 'Unrecognized request argument supplied: cache_control', type: 'invalid_request_error' } });
      reply(200, chatCompletion('From GPT.'));
    });
    const claude = { provider: 'anthropic', baseURL: anthropic.url, inputPricePerMTok: 3, outputPricePerMTok: 15, cachedInputPricePerMTok: 0.3 };
    const config = parseGatewayConfig({
      server: { port: 0 },
      models: { claude: { ...claude, promptCache: true }, 'claude-plain': claude, gpt: { baseURL: openai.url, inputPricePerMTok: 1, outputPricePerMTok: 2 } },
    });
    gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }) });
    client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await Promise.all([anthropic.close(), openai.close()]);
  });

  const last = (): AnthropicRequest => seen[seen.length - 1] as AnthropicRequest;

  it('marks the tools and the system prompt of a first turn, and a going conversation up to its last message (promptCache)', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'claude', tools: [WEATHER_TOOL], messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'Weather in Paris?' }] }).withResponse();
    expect(marks(last())).toEqual(['tools.0', 'system.0']);
    expect(last().system).toEqual([{ type: 'text', text: SYSTEM, cache_control: MARK }]);
    expect(last().messages).toEqual([{ role: 'user', content: 'Weather in Paris?' }]); // a prompt asked once pays no cache write
    // the cached tokens come back as OpenAI reports them, and cost the cached price
    expect(data.usage).toMatchObject({ prompt_tokens: 1212, prompt_tokens_details: { cached_tokens: 1200 } });
    expect(Number(response.headers.get('x-switchyard-cost-usd'))).toBeCloseTo((12 * 3 + 1200 * 0.3 + 5 * 15) / 1e6, 12);

    await client.chat.completions.create({ model: 'claude', messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'Weather in Paris?' }, { role: 'assistant', content: 'Sunny.' }, { role: 'user', content: 'And tomorrow?' }] });
    expect(marks(last())).toEqual(['system.0', 'messages.2.0']);
    expect(last().messages[2]).toEqual({ role: 'user', content: [{ type: 'text', text: 'And tomorrow?', cache_control: MARK }] });
  });

  it("passes a client's own marks (cache_control on content parts and tools) and adds none; a model without promptCache gets only those", async () => {
    const parts = [{ type: 'text', text: SYSTEM, cache_control: MARK }, { type: 'text', text: 'Be brief.' }] as unknown as OpenAI.ChatCompletionContentPartText[];
    await client.chat.completions.create({ model: 'claude', messages: [{ role: 'system', content: parts }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello.' }, { role: 'user', content: 'Weather?' }] });
    expect(marks(last())).toEqual(['system.0']);
    expect(last().system).toEqual([{ type: 'text', text: SYSTEM, cache_control: MARK }, { type: 'text', text: 'Be brief.' }]);
    await client.chat.completions.create({ model: 'claude-plain', tools: [WEATHER_TOOL], messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello.' }, { role: 'user', content: 'Weather?' }] });
    expect(marks(last())).toEqual([]);
    expect(typeof last().system).toBe('string');
    const tool = { ...WEATHER_TOOL, cache_control: MARK } as OpenAI.ChatCompletionTool;
    await client.chat.completions.create({ model: 'claude-plain', tools: [tool], messages: [{ role: 'user', content: [{ type: 'text', text: 'Weather?', cache_control: MARK } as OpenAI.ChatCompletionContentPartText] }] });
    expect(marks(last())).toEqual(['tools.0', 'messages.0.0']);
  });

  it('leaves the marks out for a model that is not anthropic', async () => {
    const tool = { ...WEATHER_TOOL, cache_control: MARK } as OpenAI.ChatCompletionTool;
    const c = await client.chat.completions.create({ model: 'gpt', tools: [tool], messages: [{ role: 'system', content: [{ type: 'text', text: SYSTEM, cache_control: MARK } as OpenAI.ChatCompletionContentPartText] }, { role: 'user', content: 'Weather?' }] });
    expect(c.choices[0]?.message.content).toBe('From GPT.');
    expect(openaiSeen.at(-1)).toMatchObject({ tools: [WEATHER_TOOL], messages: [{ role: 'system', content: [{ type: 'text', text: SYSTEM }] }, { role: 'user', content: 'Weather?' }] });
  });

  it("keeps an Anthropic client's marks through /v1/messages: system block, tool, and the last tool result", async () => {
    const anthropicClient = new Anthropic({ baseURL: client.baseURL.replace(/\/v1$/, ''), apiKey: 'unused', maxRetries: 0 });
    const weather = { name: 'get_weather', description: 'Current weather in a city', input_schema: { type: 'object' as const, properties: { location: { type: 'string' } } }, cache_control: { type: 'ephemeral' as const } };
    await anthropicClient.messages.create({
      model: 'claude-plain',
      max_tokens: 100,
      system: [{ type: 'text', text: SYSTEM, cache_control: { type: 'ephemeral' } }, { type: 'text', text: 'Today is Monday.' }],
      tools: [weather],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '15 °C', cache_control: { type: 'ephemeral' } }] },
      ],
    });
    expect(marks(last())).toEqual(['tools.0', 'system.0', 'messages.2.0']);
    expect(last().system).toEqual([{ type: 'text', text: SYSTEM, cache_control: MARK }, { type: 'text', text: 'Today is Monday.' }]);
    expect(last().messages[2]).toEqual({ role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '15 °C', cache_control: MARK }] });
    // a marked text block keeps its mark, and the count of its tokens
    await anthropicClient.messages.create({ model: 'claude-plain', max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'text', text: SYSTEM, cache_control: { type: 'ephemeral', ttl: '1h' } }, { type: 'text', text: 'Summarise.' }] }] });
    expect(last().messages[0]).toEqual({ role: 'user', content: [{ type: 'text', text: SYSTEM, cache_control: { type: 'ephemeral', ttl: '1h' } }, { type: 'text', text: 'Summarise.' }] });
    const counted = await anthropicClient.messages.countTokens({ model: 'claude-plain', messages: [{ role: 'user', content: [{ type: 'text', text: SYSTEM, cache_control: { type: 'ephemeral' } }] }] });
    expect(counted.input_tokens).toBeGreaterThan(1000);
  });

  it('gives an Anthropic client its cache usage as Anthropic reports it, and bills one-hour writes at twice the input price', async () => {
    const anthropicClient = new Anthropic({ baseURL: client.baseURL.replace(/\/v1$/, ''), apiKey: 'unused', maxRetries: 0 });
    const read = await anthropicClient.messages.create({ model: 'claude-plain', max_tokens: 100, system: [{ type: 'text', text: SYSTEM, cache_control: { type: 'ephemeral' } }], messages: [{ role: 'user', content: 'Weather?' }] });
    // before: input_tokens 1212 (the cached tokens counted in) and no cache fields
    expect(read.usage).toMatchObject({ input_tokens: 12, cache_read_input_tokens: 1200, cache_creation_input_tokens: 0, output_tokens: 5 });

    const { data, response } = await client.chat.completions
      .create({ model: 'claude-plain', messages: [{ role: 'user', content: [{ type: 'text', text: SYSTEM, cache_control: { type: 'ephemeral', ttl: '1h' } } as OpenAI.ChatCompletionContentPartText] }] })
      .withResponse();
    expect(data.usage).toMatchObject({ prompt_tokens: 1012, cache_creation_input_tokens: 1000, cache_creation: { ephemeral_1h_input_tokens: 1000 } });
    expect(Number(response.headers.get('x-switchyard-cost-usd'))).toBeCloseTo((12 * 3 + 1000 * 3 * 2 + 5 * 15) / 1e6, 12); // not 1.25× the input price
    const written = await anthropicClient.messages.create({ model: 'claude-plain', max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'text', text: SYSTEM, cache_control: { type: 'ephemeral', ttl: '1h' } }] }] });
    expect(written.usage).toMatchObject({ input_tokens: 12, cache_creation_input_tokens: 1000, cache_creation: { ephemeral_1h_input_tokens: 1000 } });
  });

  it('refuses promptCache on a model that is not anthropic', () => {
    expect(() => parseGatewayConfig({ models: { gpt: { baseURL: 'http://x/v1', promptCache: true, inputPricePerMTok: 1, outputPricePerMTok: 1 } } })).toThrow(/promptCache is for anthropic models/);
  });
});
