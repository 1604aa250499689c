/**
 * `reasoning_effort` → Claude's extended thinking: the official openai SDK → gateway → a local server
 * that speaks the Anthropic Messages wire format and refuses, with a 400, what Anthropic refuses with
 * thinking on (budget bounds, temperature, forced tools, a tool-use loop without its signed thinking
 * block, a budget to a model that only thinks adaptively). An OpenAI-format endpoint beside it refuses
 * thinking fields in messages, as some OpenAI-compatible APIs do. The official Anthropic SDK drives
 * the same through the gateway's /v1/messages.
 */
import { createHmac } from 'node:crypto';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatCompletion, startAnthropicServer, startJsonServer, type JsonServer } from '../../../test/helpers/json-server.js';
import { parseGatewayConfig } from '../config.js';
import { Gateway } from '../server.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { decodeThinking, knownThinking, thinkingOf } from './anthropic-thinking.js';
import { toAnthropicRequest, type AnthropicRequest, type OpenAIChatRequest } from './anthropic-wire.js';

const WEATHER_TOOL = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Current weather in a city', parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } },
};

const sign = (thinking: string): string => createHmac('sha256', 'anthropic-side-secret').update(thinking).digest('base64');

type Block = { type: string; thinking?: string; signature?: string };

/** What Anthropic answers 400 to, with thinking on; undefined when the request is well formed. */
function refusal(r: AnthropicRequest): string | undefined {
  for (const m of r.messages) for (const b of typeof m.content === 'string' ? [] : (m.content as Block[])) if (b.type === 'thinking' && b.signature !== sign(b.thinking ?? '')) return 'Invalid `signature` in `thinking` block';
  const t = r.thinking;
  if (t === undefined) return undefined;
  if (r.model === 'claude-adaptive-upstream' && t.type === 'enabled') return 'thinking.type.enabled is not supported for this model. Use thinking.type.adaptive and output_config.effort';
  if (r.model === 'claude-budget-upstream' && t.type === 'adaptive') return 'adaptive thinking is not supported on this model';
  if (t.type === 'enabled' && (t.budget_tokens < 1024 || t.budget_tokens >= r.max_tokens)) return '`max_tokens` must be greater than `thinking.budget_tokens`, which must be ≥ 1024';
  if (r.temperature !== undefined && r.temperature !== 1) return '`temperature` may only be set to 1 when thinking is enabled';
  if (r.top_p !== undefined && r.top_p < 0.95) return '`top_p` must be ≥ 0.95 when thinking is enabled';
  if (r.tool_choice?.type === 'any' || r.tool_choice?.type === 'tool') return 'Thinking may not be enabled when tool_choice forces tool use.';
  const last = r.messages[r.messages.length - 1];
  const before = r.messages[r.messages.length - 2];
  const looping = typeof last?.content !== 'string' && (last?.content as Block[] | undefined)?.some((b) => b.type === 'tool_result');
  if (looping && (typeof before?.content === 'string' || (before?.content as Block[] | undefined)?.[0]?.type !== 'thinking'))
    return `messages.${r.messages.length - 2}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`tool_use\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block.`;
  return undefined;
}

const ev = (type: string, data: Record<string, unknown>): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

function answer(r: AnthropicRequest): { content: Array<Record<string, unknown>>; stop_reason: string } {
  const thought = 'The user wants the weather; I should call the tool.';
  const thinking = r.thinking ? [{ type: 'thinking', thinking: thought, signature: sign(thought) }] : [];
  const answered = r.messages.some((m) => typeof m.content !== 'string' && m.content.some((b) => b.type === 'tool_result'));
  if (r.tools?.length && !answered) return { content: [...thinking, { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'Paris' } }], stop_reason: 'tool_use' };
  return { content: [...thinking, { type: 'text', text: answered ? 'It is 15 °C in Paris.' : 'Forty-two.' }], stop_reason: 'end_turn' };
}

function streamOf(r: AnthropicRequest): string {
  const a = answer(r);
  const out = [ev('message_start', { message: { id: 'msg_s', type: 'message', role: 'assistant', model: r.model, content: [], stop_reason: null, usage: { input_tokens: 20, output_tokens: 1 } } })];
  a.content.forEach((b, index) => {
    if (b['type'] === 'thinking') {
      out.push(ev('content_block_start', { index, content_block: { type: 'thinking', thinking: '' } }));
      for (const piece of String(b['thinking']).split(/(?<= )/)) out.push(ev('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: piece } }));
      out.push(ev('content_block_delta', { index, delta: { type: 'signature_delta', signature: b['signature'] } }));
    } else if (b['type'] === 'tool_use') {
      out.push(ev('content_block_start', { index, content_block: { type: 'tool_use', id: b['id'], name: b['name'], input: {} } }));
      out.push(ev('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(b['input']) } }));
    } else {
      out.push(ev('content_block_start', { index, content_block: { type: 'text', text: '' } }));
      out.push(ev('content_block_delta', { index, delta: { type: 'text_delta', text: b['text'] } }));
    }
    out.push(ev('content_block_stop', { index }));
  });
  out.push(ev('message_delta', { delta: { stop_reason: a.stop_reason, stop_sequence: null }, usage: { output_tokens: 60 } }), ev('message_stop', {}));
  return out.join('');
}

describe('anthropic provider: reasoning_effort as extended thinking', () => {
  const seen: AnthropicRequest[] = [];
  const openaiSeen: Array<Record<string, unknown>> = [];
  let anthropic: JsonServer;
  let openai: JsonServer;
  let gateway: Gateway;
  let client: OpenAI;

  beforeAll(async () => {
    anthropic = await startAnthropicServer(seen, { refusal, stream: streamOf, answer, usage: { input_tokens: 20, output_tokens: 60 } });
    // an OpenAI-compatible API that refuses fields it does not know on a message, as Cerebras does
    openai = await startJsonServer((body, reply) => {
      openaiSeen.push(body);
      const bad = (body['messages'] as Array<Record<string, unknown>>).findIndex((m) => 'thinking_blocks' in m || 'reasoning_content' in m);
      if (bad >= 0) return reply(400, { error: { message: `messages.${bad}.assistant: property is unsupported`, type: 'invalid_request_error' } });
      reply(200, chatCompletion('From GPT.'));
    });
    const claude = { provider: 'anthropic', baseURL: anthropic.url, apiKeyEnv: 'TEST_ANTHROPIC_KEY', inputPricePerMTok: 3, outputPricePerMTok: 15 };
    const config = parseGatewayConfig({
      server: { port: 0 },
      models: {
        'claude-budget': { ...claude, upstreamModel: 'claude-budget-upstream', thinking: 'budget' },
        'claude-adaptive': { ...claude, upstreamModel: 'claude-adaptive-upstream', thinking: 'adaptive', maxOutputTokens: 32000 },
        'claude-plain': { ...claude, upstreamModel: 'claude-plain-upstream' },
        gpt: { baseURL: openai.url, inputPricePerMTok: 1, outputPricePerMTok: 2 },
      },
    });
    gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }), env: { TEST_ANTHROPIC_KEY: 'sk-ant-test' } });
    client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await Promise.all([anthropic.close(), openai.close()]);
  });

  const last = (): AnthropicRequest => seen[seen.length - 1] as AnthropicRequest;

  it('thinks with a budget, answering with reasoning_content and the signed blocks; temperature is left out', async () => {
    const c = await client.chat.completions.create({ model: 'claude-budget', messages: [{ role: 'user', content: 'Meaning of life?' }], reasoning_effort: 'high', temperature: 0.2 });
    expect(last()).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 16384 }, max_tokens: 4096 + 16384 });
    expect(last().temperature).toBeUndefined();
    const message = c.choices[0]?.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string; thinking_blocks?: unknown[] };
    expect(message.content).toBe('Forty-two.');
    expect(message.reasoning_content).toBe('The user wants the weather; I should call the tool.');
    expect(message.thinking_blocks).toEqual([{ type: 'thinking', thinking: message.reasoning_content, signature: sign(message.reasoning_content ?? '') }]);
    // the client's completion-token limit holds thinking and answer together, as OpenAI's does
    await client.chat.completions.create({ model: 'claude-budget', messages: [{ role: 'user', content: 'Meaning of life?' }], reasoning_effort: 'high', max_completion_tokens: 6000 });
    expect(last()).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 6000 - 1024 }, max_tokens: 6000 });
  });

  it('thinks adaptively with an effort on a model that takes no budget', async () => {
    const c = await client.chat.completions.create({ model: 'claude-adaptive', messages: [{ role: 'user', content: 'Meaning of life?' }], reasoning_effort: 'medium', top_p: 0.5 });
    expect(last()).toMatchObject({ thinking: { type: 'adaptive' }, output_config: { effort: 'medium' }, max_tokens: 32000 });
    expect(last().top_p).toBeUndefined();
    expect(c.choices[0]?.message.content).toBe('Forty-two.');
  });

  it('keeps thinking through a tool-use loop when the client sends the message back as it came, and goes without when it was rebuilt', async () => {
    const ask = [{ role: 'user' as const, content: 'Weather in Paris?' }];
    const first = await client.chat.completions.create({ model: 'claude-budget', tools: [WEATHER_TOOL], messages: ask, reasoning_effort: 'low' });
    expect(last().thinking).toEqual({ type: 'enabled', budget_tokens: 2048 });
    const message = first.choices[0]?.message as OpenAI.ChatCompletionMessage;
    expect(message.tool_calls?.[0]).toMatchObject({ function: { name: 'get_weather' } });
    const result = { role: 'tool' as const, tool_call_id: 'toolu_1', content: '15 °C' };
    // the usual loop: the answer's message pushed back as it is
    const second = await client.chat.completions.create({ model: 'claude-budget', tools: [WEATHER_TOOL], messages: [...ask, message, result], reasoning_effort: 'low' });
    expect(second.choices[0]?.message.content).toBe('It is 15 °C in Paris.');
    expect(last().thinking).toBeDefined();
    expect((last().messages[1]?.content as Block[])[0]).toMatchObject({ type: 'thinking', signature: sign('The user wants the weather; I should call the tool.') });
    // a client that rebuilt the assistant message without its blocks: this turn goes without thinking, not a 400
    const rebuilt = { role: 'assistant' as const, content: message.content, tool_calls: message.tool_calls ?? [] };
    const third = await client.chat.completions.create({ model: 'claude-budget', tools: [WEATHER_TOOL], messages: [...ask, rebuilt, result], reasoning_effort: 'low' });
    expect(third.choices[0]?.message.content).toBe('It is 15 °C in Paris.');
    expect(last().thinking).toBeUndefined();
  });

  it('streams the thinking as reasoning_content deltas before the answer', async () => {
    let reasoning = '';
    let content = '';
    let order = '';
    for await (const chunk of await client.chat.completions.create({ model: 'claude-adaptive', messages: [{ role: 'user', content: 'Meaning of life?' }], reasoning_effort: 'high', stream: true })) {
      const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined;
      if (delta?.reasoning_content) (reasoning += delta.reasoning_content), (order += order.endsWith('r') ? '' : 'r');
      if (delta?.content) (content += delta.content), (order += order.endsWith('c') ? '' : 'c');
    }
    expect(reasoning).toBe('The user wants the weather; I should call the tool.');
    expect(content).toBe('Forty-two.');
    expect(order).toBe('rc');
  });

  it("keeps thinking through a streamed tool loop: the openai SDK's stream helper ends with the signed blocks, whole", async () => {
    const ask = [{ role: 'user' as const, content: 'Weather in Paris?' }];
    const first = await client.chat.completions.stream({ model: 'claude-budget', tools: [WEATHER_TOOL], messages: ask, reasoning_effort: 'low' }).finalChatCompletion();
    const message = first.choices[0]?.message as OpenAI.ChatCompletionMessage & { thinking_blocks?: unknown };
    const thought = 'The user wants the weather; I should call the tool.';
    expect(message.thinking_blocks).toEqual([{ type: 'thinking', thinking: thought, signature: sign(thought) }]);
    const second = await client.chat.completions.create({ model: 'claude-budget', tools: [WEATHER_TOOL], messages: [...ask, message, { role: 'tool', tool_call_id: 'toolu_1', content: '15 °C' }], reasoning_effort: 'low' });
    expect(second.choices[0]?.message.content).toBe('It is 15 °C in Paris.');
    expect(last().thinking).toBeDefined(); // the blocks came back signed: thinking stays on
  });

  it('does not think where Anthropic would refuse it, or where the model does not think', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'number' } } };
    // a structured answer is a forced tool call: no thinking
    const structured = await client.chat.completions.create({ model: 'claude-budget', messages: [{ role: 'user', content: 'Answer as JSON' }], reasoning_effort: 'high', response_format: { type: 'json_schema', json_schema: { name: 'a', schema } } });
    expect(structured.choices[0]?.message).toBeDefined();
    expect(last().thinking).toBeUndefined();
    await client.chat.completions.create({ model: 'claude-budget', tools: [WEATHER_TOOL], tool_choice: 'required', messages: [{ role: 'user', content: 'Weather?' }], reasoning_effort: 'high' });
    expect(last().thinking).toBeUndefined();
    // too few tokens allowed to think in: none
    await client.chat.completions.create({ model: 'claude-budget', messages: [{ role: 'user', content: 'Hi' }], reasoning_effort: 'high', max_tokens: 1500, temperature: 0.3 });
    expect(last()).toMatchObject({ max_tokens: 1500, temperature: 0.3 });
    expect(last().thinking).toBeUndefined();
    // a model without `thinking` gets none, and `none` asks for none
    await client.chat.completions.create({ model: 'claude-plain', messages: [{ role: 'user', content: 'Hi' }], reasoning_effort: 'high' });
    expect(last().thinking).toBeUndefined();
    await client.chat.completions.create({ model: 'claude-budget', messages: [{ role: 'user', content: 'Hi' }], reasoning_effort: 'none' as 'low' });
    expect(last().thinking).toBeUndefined();
  });

  it("leaves Claude's thinking out of the history sent to another provider's model", async () => {
    const first = await client.chat.completions.create({ model: 'claude-budget', messages: [{ role: 'user', content: 'Meaning of life?' }], reasoning_effort: 'low' });
    const message = first.choices[0]?.message as OpenAI.ChatCompletionMessage;
    const next = await client.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'Meaning of life?' }, message, { role: 'user', content: 'Sure?' }] });
    expect(next.choices[0]?.message.content).toBe('From GPT.');
    expect((openaiSeen.at(-1)?.['messages'] as unknown[])[1]).toEqual({ role: 'assistant', content: 'Forty-two.', refusal: null });
    // back to a Claude model without thinking this turn: the blocks are not sent either
    await client.chat.completions.create({ model: 'claude-plain', messages: [{ role: 'user', content: 'Meaning of life?' }, message, { role: 'user', content: 'Sure?' }] });
    expect(last().messages[1]).toEqual({ role: 'assistant', content: [{ type: 'text', text: 'Forty-two.' }] });
  });

  it("carries an Anthropic client's thinking through /v1/messages both ways: budget, signed blocks back in a tool loop, streamed signature", async () => {
    const anthropicClient = new Anthropic({ baseURL: client.baseURL.replace(/\/v1$/, ''), apiKey: 'unused', maxRetries: 0 });
    const weather = { name: 'get_weather', description: 'Current weather in a city', input_schema: { type: 'object' as const, properties: { location: { type: 'string' } } } };
    const ask = { role: 'user' as const, content: 'Weather in Paris?' };
    const first = await anthropicClient.messages.create({ model: 'claude-budget', max_tokens: 10000, thinking: { type: 'enabled', budget_tokens: 5000 }, tools: [weather], messages: [ask] });
    expect(last()).toMatchObject({ thinking: { type: 'enabled', budget_tokens: 8192 }, max_tokens: 10000 }); // 5,000 asks for medium effort
    const thought = 'The user wants the weather; I should call the tool.';
    expect(first.content).toEqual([{ type: 'thinking', thinking: thought, signature: sign(thought) }, { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { location: 'Paris' } }]);
    const second = await anthropicClient.messages.create({
      model: 'claude-budget',
      max_tokens: 10000,
      thinking: { type: 'enabled', budget_tokens: 5000 },
      tools: [weather],
      messages: [ask, { role: 'assistant', content: first.content }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '15 °C' }] }],
    });
    expect(second.content.at(-1)).toEqual({ type: 'text', text: 'It is 15 °C in Paris.' });
    expect((last().messages[1]?.content as Block[])[0]).toEqual({ type: 'thinking', thinking: thought, signature: sign(thought) });
    // streamed: the SDK assembles the thinking block with its signature
    const streamed = await anthropicClient.messages.stream({ model: 'claude-adaptive', max_tokens: 8000, thinking: { type: 'adaptive' }, messages: [{ role: 'user', content: 'Meaning of life?' }] } as Anthropic.MessageStreamParams).finalMessage();
    expect(last()).toMatchObject({ thinking: { type: 'adaptive' }, output_config: { effort: 'high' } });
    expect(streamed.content).toEqual([{ type: 'thinking', thinking: thought, signature: sign(thought) }, expect.objectContaining({ type: 'text', text: 'Forty-two.' })]);
  });

  it('gives Claude\'s thinking to Responses API clients as a reasoning item whose encrypted_content keeps the loop thinking', async () => {
    const thought = 'The user wants the weather; I should call the tool.';
    const tools = [{ type: 'function' as const, name: 'get_weather', description: 'Current weather in a city', parameters: { type: 'object', properties: { location: { type: 'string' } } }, strict: false }];
    const input: OpenAI.Responses.ResponseInput = [{ role: 'user', content: 'Weather in Paris?' }];
    const first = await client.responses.create({ model: 'claude-budget', input, tools, reasoning: { effort: 'low' }, store: false });
    expect(first.output.map((o) => o.type)).toEqual(['reasoning', 'function_call']);
    const reasoning = first.output[0] as OpenAI.Responses.ResponseReasoningItem;
    expect(reasoning.content).toEqual([{ type: 'reasoning_text', text: thought }]);
    expect(reasoning.encrypted_content).toMatch(/^sy1:/);
    const call = first.output[1] as OpenAI.Responses.ResponseFunctionToolCall;
    // the manual loop: the output items sent back with the call's result
    const second = await client.responses.create({ model: 'claude-budget', input: [...input, ...(first.output as OpenAI.Responses.ResponseInputItem[]), { type: 'function_call_output', call_id: call.call_id, output: '15 °C' }], tools, reasoning: { effort: 'low' }, store: false });
    expect(second.output_text).toBe('It is 15 °C in Paris.');
    expect(last().thinking).toBeDefined();
    expect((last().messages[1]?.content as Block[])[0]).toEqual({ type: 'thinking', thinking: thought, signature: sign(thought) });
    // previous_response_id: the stored conversation keeps the blocks; streamed, the SDK assembles the reasoning item
    const stored = await client.responses.create({ model: 'claude-budget', input, tools, reasoning: { effort: 'low' } });
    const storedCall = stored.output.find((o) => o.type === 'function_call') as OpenAI.Responses.ResponseFunctionToolCall;
    const streamed = await client.responses.stream({ model: 'claude-budget', previous_response_id: stored.id, input: [{ type: 'function_call_output', call_id: storedCall.call_id, output: '15 °C' }], tools, reasoning: { effort: 'low' } }).finalResponse();
    expect(last().thinking).toBeDefined();
    expect((last().messages[1]?.content as Block[])[0]).toMatchObject({ type: 'thinking', signature: sign(thought) });
    expect(streamed.output.map((o) => o.type)).toEqual(['reasoning', 'message']);
    expect((streamed.output[0] as OpenAI.Responses.ResponseReasoningItem).content).toEqual([{ type: 'reasoning_text', text: thought }]);
    expect(decodeThinking((streamed.output[0] as OpenAI.Responses.ResponseReasoningItem).encrypted_content)).toEqual([{ type: 'thinking', thinking: thought, signature: sign(thought) }]);
    expect(streamed.output_text).toBe('It is 15 °C in Paris.');
  });

  it('maps every effort, and refuses `thinking` on a model that is not anthropic', () => {
    const req = (effort: string): OpenAIChatRequest => ({ model: 'c', messages: [{ role: 'user', content: 'q' }], reasoning_effort: effort });
    expect(['minimal', 'low', 'medium', 'high', 'xhigh'].map((e) => toAnthropicRequest(req(e), 'c', { thinking: 'budget' }).thinking)).toEqual([1024, 2048, 8192, 16384, 32768].map((budget_tokens) => ({ type: 'enabled', budget_tokens })));
    expect(['minimal', 'low', 'medium', 'high', 'xhigh'].map((e) => toAnthropicRequest(req(e), 'c', { thinking: 'adaptive' }).output_config?.effort)).toEqual(['low', 'low', 'medium', 'high', 'high']);
    // a declared output limit bounds thinking and answer together
    expect(toAnthropicRequest(req('xhigh'), 'c', { thinking: 'budget', outputLimit: 16000 })).toMatchObject({ max_tokens: 16000, thinking: { budget_tokens: 16000 - 1024 } });
    expect(toAnthropicRequest(req('bogus'), 'c', { thinking: 'budget' }).thinking).toBeUndefined();
    // unset, the model's name says how it thinks
    const names = ['claude-3-5-haiku-latest', 'claude-3-opus-20240229', 'claude-3-7-sonnet-20250219', 'claude-sonnet-4-20250514', 'us.anthropic.claude-opus-4-1-20250805-v1:0', 'claude-haiku-4-5', 'claude-sonnet-4-6', 'claude-opus-4-7', 'claude-opus-5', 'my-proxy-model'];
    expect(names.map(knownThinking)).toEqual([undefined, undefined, 'budget', 'budget', 'budget', 'budget', 'adaptive', 'adaptive', 'adaptive', undefined]);
    expect(thinkingOf('claude-sonnet-4-5', { provider: 'anthropic' })).toBe('budget');
    expect(thinkingOf('sonnet', { provider: 'anthropic', upstreamModel: 'claude-sonnet-4-5', thinking: 'none' })).toBeUndefined();
    expect(thinkingOf('claude-sonnet-4-5', { provider: 'openai-compatible' })).toBeUndefined(); // e.g. behind an OpenAI-compatible proxy: reasoning_effort goes as it is
    expect(() => parseGatewayConfig({ models: { gpt: { baseURL: 'http://x/v1', thinking: 'budget', inputPricePerMTok: 1, outputPricePerMTok: 1 } } })).toThrow(/thinking is for anthropic models/);
  });
});
