/**
 * Tool calls and images through an `anthropic` provider: the official openai SDK → gateway → a local server that
 * speaks the Anthropic Messages wire format (the shapes of Anthropic's documented tool-use example).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGatewayConfig } from '../config.js';
import { Gateway } from '../server.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { toAnthropicRequest, type AnthropicRequest } from './anthropic-wire.js';

const WEATHER_TOOL = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Current weather in a city', parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] } },
};

const toolUseMessage = {
  id: 'msg_01Aq9w938a90dw8q',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-5',
  content: [
    { type: 'text', text: 'I will check the weather.' },
    { type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', input: { location: 'San Francisco, CA' } },
  ],
  stop_reason: 'tool_use',
  usage: { input_tokens: 472, output_tokens: 89 },
};

/** One Anthropic SSE event. */
const ev = (type: string, data: Record<string, unknown>): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

function toolUseStream(): string {
  return [
    ev('message_start', { message: { id: 'msg_stream', type: 'message', role: 'assistant', model: 'claude', content: [], stop_reason: null, usage: { input_tokens: 472, output_tokens: 1 } } }),
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Checking.' } }),
    ev('content_block_stop', { index: 0 }),
    ev('content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'toolu_stream', name: 'get_weather', input: {} } }),
    ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"location": "San' } }),
    ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: ' Francisco, CA"}' } }),
    ev('content_block_stop', { index: 1 }),
    ev('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 89 } }),
    ev('message_stop', {}),
  ].join('');
}

function structuredStream(): string {
  return [
    ev('message_start', { message: { id: 'msg_json', type: 'message', role: 'assistant', model: 'claude', content: [], stop_reason: null, usage: { input_tokens: 50, output_tokens: 1 } } }),
    ev('content_block_start', { index: 0, content_block: { type: 'tool_use', id: 'toolu_json', name: 'switchyard_json_answer', input: {} } }),
    ev('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: '{"city": "Par' } }),
    ev('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: 'is", "celsius": 15}' } }),
    ev('content_block_stop', { index: 0 }),
    ev('message_delta', { delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 20 } }),
    ev('message_stop', {}),
  ].join('');
}

describe('anthropic provider: tool calls', () => {
  const seen: AnthropicRequest[] = [];
  let server: Server;
  let gateway: Gateway;
  let client: OpenAI;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const r = JSON.parse(body) as AnthropicRequest;
        seen.push(r);
        if (r.tool_choice?.name === 'switchyard_json_answer') {
          // a structured answer: the forced tool's call, as Anthropic answers a forced tool_choice (no text before it)
          res.writeHead(200, { 'content-type': r.stream ? 'text/event-stream' : 'application/json' });
          res.end(r.stream ? structuredStream() : JSON.stringify({ ...toolUseMessage, content: [{ type: 'tool_use', id: 'toolu_json', name: 'switchyard_json_answer', input: { city: 'Paris', celsius: 15 } }] }));
          return;
        }
        if (r.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.end(toolUseStream());
          return;
        }
        const answered = r.messages.some((m) => Array.isArray(m.content) && m.content.some((b) => b.type === 'tool_result'));
        const msg = answered ? { ...toolUseMessage, content: [{ type: 'text', text: 'It is 15 °C and sunny.' }], stop_reason: 'end_turn' } : toolUseMessage;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(msg));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    const config = parseGatewayConfig({ server: { port: 0 }, models: {
        claude: { provider: 'anthropic', baseURL, apiKeyEnv: 'TEST_ANTHROPIC_KEY', inputPricePerMTok: 3, outputPricePerMTok: 15 },
        'claude-short': { provider: 'anthropic', baseURL, apiKeyEnv: 'TEST_ANTHROPIC_KEY', inputPricePerMTok: 3, outputPricePerMTok: 15, maxOutputTokens: 1000 },
      },
    });
    gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }), env: { TEST_ANTHROPIC_KEY: 'sk-ant-test' } });
    client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    server.close();
  });

  it('sends tools, receives tool calls, and sends the tool result back in a user turn', async () => {
    const first = await client.chat.completions.create({ model: 'claude', tools: [WEATHER_TOOL], tool_choice: 'required', parallel_tool_calls: false, messages: [{ role: 'user', content: 'Weather in SF?' }] });
    expect(seen[0]?.tools).toEqual([{ name: 'get_weather', description: 'Current weather in a city', input_schema: WEATHER_TOOL.function.parameters }]);
    expect(seen[0]?.tool_choice).toEqual({ type: 'any', disable_parallel_tool_use: true });
    const message = first.choices[0]?.message;
    expect(first.choices[0]?.finish_reason).toBe('tool_calls');
    expect(message?.content).toBe('I will check the weather.');
    expect(message?.tool_calls).toEqual([{ id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather', arguments: '{"location":"San Francisco, CA"}' } }]);

    const second = await client.chat.completions.create({
      model: 'claude',
      tools: [WEATHER_TOOL],
      messages: [{ role: 'user', content: 'Weather in SF?' }, message as OpenAI.ChatCompletionMessageParam, { role: 'tool', tool_call_id: 'toolu_01A09q90qw90lq917835lq9', content: '15 °C, sunny' }],
    });
    expect(seen[1]?.messages).toEqual([
      { role: 'user', content: 'Weather in SF?' },
      { role: 'assistant', content: [{ type: 'text', text: 'I will check the weather.' }, { type: 'tool_use', id: 'toolu_01A09q90qw90lq917835lq9', name: 'get_weather', input: { location: 'San Francisco, CA' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01A09q90qw90lq917835lq9', content: '15 °C, sunny' }] },
    ]);
    expect(seen[1]?.tool_choice).toBeUndefined();
    expect(second.choices[0]?.message.content).toBe('It is 15 °C and sunny.');
  });

  it('sends images as Anthropic image blocks, in order with the text (base64 from data URLs, url sources from http URLs)', async () => {
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
    const before = seen.length;
    await client.chat.completions.create({
      model: 'claude',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Compare ' },
            { type: 'text', text: 'these two:' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${png}`, detail: 'low' } },
            { type: 'image_url', image_url: { url: 'https://upload.wikimedia.org/a.jpg' } },
            { type: 'text', text: 'Which is larger?' },
          ],
        },
      ],
    });
    expect(seen[before]?.messages).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Compare these two:' },
          { type: 'image', source: { type: 'base64', media_type: 'image/png', data: png } },
          { type: 'image', source: { type: 'url', url: 'https://upload.wikimedia.org/a.jpg' } },
          { type: 'text', text: 'Which is larger?' },
        ],
      },
    ]);
    // text parts alone still go as one string, as before
    expect(toAnthropicRequest({ model: 'claude', messages: [{ role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }] }, 'claude').messages).toEqual([{ role: 'user', content: 'ab' }]);
  });

  it('answers a json_schema response_format through a forced tool, as the message text (plain and streamed)', async () => {
    const schema = { type: 'object', properties: { city: { type: 'string' }, celsius: { type: 'number' } }, required: ['city', 'celsius'] };
    const response_format = { type: 'json_schema' as const, json_schema: { name: 'weather', schema, strict: true } };
    const before = seen.length;
    const plain = await client.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'Weather in Paris as JSON' }], response_format });
    expect(seen[before]?.tools).toEqual([{ name: 'switchyard_json_answer', description: 'Give your final answer by calling this tool: its input is the answer (weather).', input_schema: schema }]);
    expect(seen[before]?.tool_choice).toEqual({ type: 'tool', name: 'switchyard_json_answer' });
    expect(plain.choices[0]?.finish_reason).toBe('stop');
    expect(plain.choices[0]?.message.tool_calls).toBeUndefined();
    expect(JSON.parse(plain.choices[0]?.message.content as string)).toEqual({ city: 'Paris', celsius: 15 });
    let text = '';
    let finish: string | null | undefined;
    for await (const chunk of await client.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'Weather in Paris as JSON' }], response_format, stream: true })) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.choices[0]?.delta.tool_calls) throw new Error('a structured answer came as a tool call');
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(JSON.parse(text)).toEqual({ city: 'Paris', celsius: 15 });
    expect(finish).toBe('stop');
    // OpenAI's temperature range is wider than Anthropic's; the end user goes as metadata
    expect(toAnthropicRequest({ model: 'claude', messages: [{ role: 'user', content: 'hi' }], temperature: 1.6, user: 'u-7' }, 'claude')).toMatchObject({ temperature: 1, metadata: { user_id: 'u-7' } });
    // beside the request's own tools, one of them or the answer must be called
    const both = toAnthropicRequest({ model: 'claude', messages: [{ role: 'user', content: 'hi' }], tools: [WEATHER_TOOL], response_format }, 'claude');
    expect(both.tools?.map((t) => t.name)).toEqual(['get_weather', 'switchyard_json_answer']);
    expect(both.tool_choice).toEqual({ type: 'any' });
  });

  it('answers JSON mode (json_object) through the answer tool with an open object schema', async () => {
    const before = seen.length;
    const plain = await client.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'Weather in Paris as JSON' }], response_format: { type: 'json_object' } });
    expect(seen[before]?.tools).toEqual([
      { name: 'switchyard_json_answer', description: 'Give your final answer by calling this tool: its input is the answer (a JSON object).', input_schema: { type: 'object', additionalProperties: true } },
    ]);
    expect(seen[before]?.tool_choice).toEqual({ type: 'tool', name: 'switchyard_json_answer' });
    expect(JSON.parse(plain.choices[0]?.message.content as string)).toEqual({ city: 'Paris', celsius: 15 });
    // plain text asks for no tool
    expect(toAnthropicRequest({ model: 'claude', messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'text' } }, 'claude').tools).toBeUndefined();
  });

  it('streams tool calls as OpenAI tool_calls deltas the SDK reassembles', async () => {
    const stream = await client.chat.completions.create({ model: 'claude', stream: true, tools: [WEATHER_TOOL], messages: [{ role: 'user', content: 'Weather in SF?' }] });
    let text = '';
    let finish = '';
    const calls: Array<{ id: string; name: string; args: string }> = [];
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      text += choice?.delta.content ?? '';
      if (choice?.finish_reason) finish = choice.finish_reason;
      for (const tc of choice?.delta.tool_calls ?? []) {
        const call = (calls[tc.index] ??= { id: '', name: '', args: '' });
        call.id += tc.id ?? '';
        call.name += tc.function?.name ?? '';
        call.args += tc.function?.arguments ?? '';
      }
    }
    expect(text).toBe('Checking.');
    expect(finish).toBe('tool_calls');
    expect(calls).toEqual([{ id: 'toolu_stream', name: 'get_weather', args: '{"location": "San Francisco, CA"}' }]);
  });

  it("asks for the model's output limit when the request sets none, and never for more than it", async () => {
    const asked = async (model: string, limit: { max_tokens?: number; max_completion_tokens?: number }): Promise<number | undefined> => {
      const before = seen.length;
      await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'Weather in SF?' }], ...limit });
      return seen[before]?.max_tokens;
    };
    expect(await asked('claude', {})).toBe(4096); // the Messages API requires a limit: 4096 by default
    expect(await asked('claude-short', {})).toBe(1000); // models.X.maxOutputTokens
    expect(await asked('claude-short', { max_tokens: 5000 })).toBe(1000); // more than it writes: its limit, not a 400 from Anthropic
    expect(await asked('claude-short', { max_completion_tokens: 200 })).toBe(200);
    expect(await asked('claude', { max_tokens: 5000 })).toBe(5000);
  });

  it('maps every tool_choice form', () => {
    const base = { model: 'x', messages: [{ role: 'user', content: 'q' }], tools: [WEATHER_TOOL] };
    expect(toAnthropicRequest({ ...base, tool_choice: 'auto' }, 'c').tool_choice).toEqual({ type: 'auto' });
    expect(toAnthropicRequest({ ...base, tool_choice: 'none' }, 'c').tool_choice).toEqual({ type: 'none' });
    expect(toAnthropicRequest({ ...base, tool_choice: { type: 'function', function: { name: 'get_weather' } } }, 'c').tool_choice).toEqual({ type: 'tool', name: 'get_weather' });
    expect(toAnthropicRequest({ ...base, parallel_tool_calls: false }, 'c').tool_choice).toEqual({ type: 'auto', disable_parallel_tool_use: true });
    expect(toAnthropicRequest({ model: 'x', messages: [{ role: 'user', content: 'q' }] }, 'c').tools).toBeUndefined();
  });
});
