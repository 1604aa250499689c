/**
 * Structured outputs on Claude: the official openai SDK → gateway → a local server speaking the
 * Anthropic Messages wire format, which takes `output_config.format` and strict tools only from the
 * models that have them (4.5 and later here) and answers 400 to a schema outside the subset Claude's
 * decoder takes (an object not closed, a constraint keyword), as Anthropic does. The official
 * Anthropic SDK sends its own `output_config.format` through the gateway's /v1/messages.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatCompletion, startAnthropicServer, startJsonServer, type JsonServer } from '../../../test/helpers/json-server.js';
import { parseGatewayConfig } from '../config.js';
import { Gateway } from '../server.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { knownStructured, strictSchema, structuredOf } from './anthropic-structured.js';
import { JSON_ANSWER_TOOL, fromAnthropicMessage, toAnthropicRequest, type AnthropicRequest } from './anthropic-wire.js';

/** The keywords Claude's decoder takes (the rest it refuses). */
const TAKEN = new Set(['type', 'description', 'title', 'const', 'enum', 'anyOf', 'allOf', '$defs', 'definitions', '$ref', 'properties', 'required', 'items', 'format', 'minItems', 'additionalProperties']);

/** Why Claude's decoder refuses `schema` (a path and a reason), or undefined. */
function schemaFault(schema: unknown, path = 'schema'): string | undefined {
  if (typeof schema !== 'object' || schema === null) return `${path}: not a schema`;
  const s = schema as Record<string, unknown>;
  for (const key of Object.keys(s)) if (!TAKEN.has(key)) return `${path}.${key}: not supported`;
  if ((s['type'] === 'object' || (Array.isArray(s['type']) && s['type'].includes('object'))) && s['additionalProperties'] !== false) return `${path}: objects must set additionalProperties to false`;
  if (s['minItems'] !== undefined && s['minItems'] !== 0 && s['minItems'] !== 1) return `${path}.minItems: only 0 or 1`;
  const children: Array<[string, unknown]> = [
    ...Object.entries((s['properties'] ?? {}) as Record<string, unknown>).map(([k, v]): [string, unknown] => [`${path}.properties.${k}`, v]),
    ...Object.entries((s['$defs'] ?? {}) as Record<string, unknown>).map(([k, v]): [string, unknown] => [`${path}.$defs.${k}`, v]),
    ...((s['anyOf'] ?? []) as unknown[]).map((v, i): [string, unknown] => [`${path}.anyOf.${i}`, v]),
    ...(s['items'] !== undefined ? [[`${path}.items`, s['items']] as [string, unknown]] : []),
  ];
  for (const [p, child] of children) {
    const fault = schemaFault(child, p);
    if (fault) return fault;
  }
  return undefined;
}

const native = (model: string): boolean => /4-[5-9]/.test(model);

/** What this Anthropic answers 400 to; undefined when well formed. */
function refusal(r: AnthropicRequest): string | undefined {
  const format = r.output_config?.format;
  const strict = (r.tools ?? []).filter((t) => t.strict);
  if ((format || strict.length > 0) && !native(r.model)) return `structured outputs are not supported on ${r.model}`;
  if (format) return schemaFault(format.schema, 'output_config.format.schema');
  for (const t of strict) {
    const fault = schemaFault(t.input_schema, `tools.${t.name}.input_schema`);
    if (fault) return fault;
  }
  if (r.thinking && (r.tool_choice?.type === 'any' || r.tool_choice?.type === 'tool')) return 'Thinking may not be enabled when tool_choice forces tool use.';
  return undefined;
}

const WEATHER = '{"city":"Paris","celsius":15,"sky":"clear"}';
const ev = (type: string, data: Record<string, unknown>): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

function answer(r: AnthropicRequest): { content: Array<Record<string, unknown>>; stop_reason: string } {
  const thinking = r.thinking ? [{ type: 'thinking', thinking: 'Paris, mild.', signature: 'sig' }] : [];
  const prompt = JSON.stringify(r.messages);
  if (prompt.includes('forbidden')) return { content: [{ type: 'text', text: 'I can’t help with that.' }], stop_reason: 'refusal' };
  const forced = r.tools?.find((t) => t.name === JSON_ANSWER_TOOL);
  if (forced) return { content: [...thinking, { type: 'tool_use', id: 'toolu_a', name: JSON_ANSWER_TOOL, input: JSON.parse(WEATHER) as unknown }], stop_reason: 'tool_use' };
  return { content: [...thinking, { type: 'text', text: r.output_config?.format ? WEATHER : 'Mild in Paris.' }], stop_reason: 'end_turn' };
}

function streamOf(r: AnthropicRequest): string {
  const a = answer(r);
  const out = [ev('message_start', { message: { id: 'msg_s', type: 'message', role: 'assistant', model: r.model, content: [], stop_reason: null, usage: { input_tokens: 20, output_tokens: 1 } } })];
  a.content.forEach((b, index) => {
    if (b['type'] === 'text') {
      out.push(ev('content_block_start', { index, content_block: { type: 'text', text: '' } }));
      for (const piece of String(b['text']).match(/.{1,9}/g) ?? []) out.push(ev('content_block_delta', { index, delta: { type: 'text_delta', text: piece } }));
    } else {
      out.push(ev('content_block_start', { index, content_block: { type: 'thinking', thinking: '' } }));
      out.push(ev('content_block_delta', { index, delta: { type: 'thinking_delta', thinking: b['thinking'] } }), ev('content_block_delta', { index, delta: { type: 'signature_delta', signature: b['signature'] } }));
    }
    out.push(ev('content_block_stop', { index }));
  });
  out.push(ev('message_delta', { delta: { stop_reason: a.stop_reason, stop_sequence: null }, usage: { output_tokens: 30 } }), ev('message_stop', {}));
  return out.join('');
}

/** A schema as clients write them: open objects, constraints, `oneOf`. */
const WEATHER_SCHEMA = {
  type: 'object',
  properties: {
    city: { type: 'string', minLength: 1 },
    celsius: { type: 'number', minimum: -90, maximum: 60 },
    sky: { oneOf: [{ type: 'string', enum: ['clear', 'cloudy'] }, { type: 'null' }] },
  },
  required: ['city', 'celsius'],
};

describe('strictSchema: a JSON schema in the subset Claude decodes', () => {
  it('closes objects, keeps oneOf as anyOf and moves the constraints it cannot enforce into the description', () => {
    const before = structuredClone(WEATHER_SCHEMA);
    expect(strictSchema(WEATHER_SCHEMA)).toEqual({
      type: 'object',
      properties: {
        city: { type: 'string', description: '{minLength: 1}' },
        celsius: { type: 'number', description: '{minimum: -90, maximum: 60}' },
        sky: { anyOf: [{ type: 'string', enum: ['clear', 'cloudy'] }, { type: 'null' }] },
      },
      required: ['city', 'celsius'],
      additionalProperties: false,
    });
    expect(WEATHER_SCHEMA).toEqual(before); // the client's schema is not changed
  });

  it('keeps formats and array lengths Claude enforces, definitions and references; notes the others', () => {
    const schema = {
      type: 'object',
      $defs: { when: { type: 'string', format: 'date-time', description: 'UTC' } },
      properties: { at: { $ref: '#/$defs/when' }, tags: { type: 'array', items: { type: 'string', format: 'color' }, minItems: 2 }, some: { type: 'array', items: { type: 'object', properties: {} }, minItems: 1 } },
    };
    expect(strictSchema(schema)).toEqual({
      type: 'object',
      $defs: { when: { type: 'string', format: 'date-time', description: 'UTC' } },
      properties: {
        at: { $ref: '#/$defs/when' },
        tags: { type: 'array', items: { type: 'string', description: '{format: "color"}' }, description: '{minItems: 2}' },
        some: { type: 'array', items: { type: 'object', properties: {}, additionalProperties: false }, minItems: 1 },
      },
      additionalProperties: false,
    });
  });

  it('has no strict form for a recursive schema, a map, a tuple, a node without a type, or a root that is not an object', () => {
    const tree = { type: 'object', properties: { root: { $ref: '#/$defs/node' } }, $defs: { node: { type: 'object', properties: { children: { type: 'array', items: { $ref: '#/$defs/node' } } } } } };
    expect(strictSchema(tree)).toBeUndefined();
    expect(strictSchema({ type: 'object', properties: { self: { $ref: '#' } } })).toBeUndefined();
    expect(strictSchema({ type: 'object', properties: { scores: { type: 'object', additionalProperties: { type: 'number' } } } })).toBeUndefined();
    expect(strictSchema({ type: 'object', properties: { pair: { type: 'array', items: [{ type: 'string' }, { type: 'number' }] } } })).toBeUndefined();
    expect(strictSchema({ type: 'object', properties: { env: { type: 'object', patternProperties: { '^[A-Z_]+$': { type: 'string' } } } } })).toBeUndefined();
    expect(strictSchema({ type: 'object', properties: { anything: {} } })).toBeUndefined();
    expect(strictSchema({ type: 'array', items: { type: 'string' } })).toBeUndefined();
    // shared (not recursive) definitions are fine
    expect(strictSchema({ type: 'object', properties: { a: { $ref: '#/definitions/x' }, b: { $ref: '#/definitions/x' } }, definitions: { x: { type: 'string' } } })).toBeDefined();
  });

  it('knows which Claude models decode schemas natively by their names', () => {
    expect(['claude-sonnet-4-5-20250929', 'claude-haiku-4-5', 'claude-opus-4-6', 'us.anthropic.claude-opus-4-7-v1:0'].map(knownStructured)).toEqual(['native', 'native', 'native', 'native']);
    expect(['claude-opus-4-1-20250805', 'claude-sonnet-4-20250514', 'claude-3-7-sonnet-latest', 'claude'].map(knownStructured)).toEqual(['tool', 'tool', 'tool', 'tool']);
    expect(structuredOf('x', { provider: 'anthropic', upstreamModel: 'claude-sonnet-4-5', structuredOutputs: 'tool' })).toBe('tool');
    expect(structuredOf('claude-sonnet-4-5', { provider: 'openai-compatible' })).toBeUndefined();
  });

  it('sends a strict tool strict, closed; a tool not marked strict, and any tool of a model without native outputs, as it came', () => {
    const tools = [
      { type: 'function', function: { name: 'weather', parameters: WEATHER_SCHEMA, strict: true } },
      { type: 'function', function: { name: 'search', parameters: { type: 'object', properties: { q: { type: 'string' } } } } },
    ];
    const req = { model: 'm', messages: [{ role: 'user', content: 'hi' }], tools };
    const out = toAnthropicRequest(req, 'claude-sonnet-4-5', { structured: 'native' });
    expect(out.tools?.[0]).toEqual({ name: 'weather', input_schema: strictSchema(WEATHER_SCHEMA), strict: true });
    expect(out.tools?.[1]).toEqual({ name: 'search', input_schema: tools[1]?.function.parameters });
    expect(toAnthropicRequest(req, 'claude-3-5-haiku', { structured: 'tool' }).tools?.[0]).toEqual({ name: 'weather', input_schema: WEATHER_SCHEMA });
  });
});

describe('anthropic provider: structured outputs through the gateway', () => {
  const seen: AnthropicRequest[] = [];
  const openaiSeen: Array<Record<string, unknown>> = [];
  let anthropic: JsonServer;
  let openai: JsonServer;
  let gateway: Gateway;
  let client: OpenAI;
  let baseURL: string;

  beforeAll(async () => {
    anthropic = await startAnthropicServer(seen, { refusal, stream: streamOf, answer, usage: { input_tokens: 20, output_tokens: 30 } });
    openai = await startJsonServer((body, reply) => {
      openaiSeen.push(body);
      reply(200, chatCompletion(WEATHER));
    });
    const claude = { provider: 'anthropic', baseURL: anthropic.url, apiKeyEnv: 'TEST_ANTHROPIC_KEY', inputPricePerMTok: 3, outputPricePerMTok: 15 };
    const config = parseGatewayConfig({
      server: { port: 0 },
      models: {
        sonnet: { ...claude, upstreamModel: 'claude-sonnet-4-5-20250929' },
        opus: { ...claude, upstreamModel: 'claude-opus-4-6', maxOutputTokens: 32000 },
        haiku: { ...claude, upstreamModel: 'claude-3-5-haiku-20241022' },
        gpt: { baseURL: openai.url, inputPricePerMTok: 1, outputPricePerMTok: 2 },
      },
    });
    gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }), env: { TEST_ANTHROPIC_KEY: 'sk-ant-test' } });
    baseURL = await gateway.listen();
    client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await Promise.all([anthropic.close(), openai.close()]);
  });

  const last = (): AnthropicRequest => seen[seen.length - 1] as AnthropicRequest;
  const response_format = { type: 'json_schema' as const, json_schema: { name: 'weather', description: 'The weather now', schema: WEATHER_SCHEMA } };
  const messages = [{ role: 'user' as const, content: 'Weather in Paris as JSON' }];

  it('asks a Claude 4.5 for the schema natively (no tool), and the answer text is the JSON', async () => {
    const c = await client.chat.completions.create({ model: 'sonnet', messages, response_format });
    expect(last().output_config).toEqual({ format: { type: 'json_schema', schema: { ...strictSchema(WEATHER_SCHEMA), description: 'The weather now' } } });
    expect(last().tools).toBeUndefined();
    expect(JSON.parse(c.choices[0]?.message.content ?? '')).toEqual({ city: 'Paris', celsius: 15, sky: 'clear' });
    expect(c.choices[0]?.finish_reason).toBe('stop');
  });

  it('keeps thinking on with a schema (a forced answer tool turned it off), streamed too', async () => {
    const c = await client.chat.completions.create({ model: 'opus', messages, response_format, reasoning_effort: 'high' });
    expect(last()).toMatchObject({ thinking: { type: 'adaptive' }, output_config: { effort: 'high', format: { type: 'json_schema' } } });
    const message = c.choices[0]?.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string };
    expect(message.reasoning_content).toBe('Paris, mild.');
    expect(message.content).toBe(WEATHER);

    const stream = await client.chat.completions.create({ model: 'opus', messages, response_format, reasoning_effort: 'low', stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(last()).toMatchObject({ stream: true, thinking: { type: 'adaptive' }, output_config: { effort: 'low' } });
    expect(JSON.parse(text)).toEqual({ city: 'Paris', celsius: 15, sky: 'clear' });
  });

  it('answers through the forced answer tool on an older Claude, and on a schema with no strict form', async () => {
    const old = await client.chat.completions.create({ model: 'haiku', messages, response_format });
    expect(last().output_config).toBeUndefined();
    expect(last().tool_choice).toEqual({ type: 'tool', name: JSON_ANSWER_TOOL });
    expect(JSON.parse(old.choices[0]?.message.content ?? '')).toEqual({ city: 'Paris', celsius: 15, sky: 'clear' });

    const tree = { type: 'object', properties: { root: { $ref: '#/$defs/node' } }, $defs: { node: { type: 'object', properties: { kids: { type: 'array', items: { $ref: '#/$defs/node' } } } } } };
    const recursive = await client.chat.completions.create({ model: 'sonnet', messages, response_format: { type: 'json_schema', json_schema: { name: 'tree', schema: tree } } });
    expect(last().output_config).toBeUndefined();
    expect(last().tools?.[0]).toMatchObject({ name: JSON_ANSWER_TOOL, input_schema: tree });
    expect(recursive.choices[0]?.finish_reason).toBe('stop');

    // JSON mode has no native form: the answer tool on every Claude
    await client.chat.completions.create({ model: 'sonnet', messages, response_format: { type: 'json_object' } });
    expect(last().tool_choice).toEqual({ type: 'tool', name: JSON_ANSWER_TOOL });
  });

  it('maps every stop reason Claude gives to an OpenAI finish reason', () => {
    const finish = (stop_reason: string): unknown => (fromAnthropicMessage({ id: 'm', model: 'c', content: [{ type: 'text', text: 'x' }], stop_reason, usage: {} }, 'c', 1)['choices'] as Array<{ finish_reason: string }>)[0]?.finish_reason;
    expect(['end_turn', 'stop_sequence', 'max_tokens', 'model_context_window_exceeded', 'refusal'].map(finish)).toEqual(['stop', 'stop', 'length', 'length', 'content_filter']);
  });

  it('answers a refusal with finish_reason content_filter', async () => {
    const c = await client.chat.completions.create({ model: 'sonnet', messages: [{ role: 'user', content: 'Something forbidden, as JSON' }], response_format });
    expect(c.choices[0]?.finish_reason).toBe('content_filter');
    const stream = await client.chat.completions.create({ model: 'sonnet', messages: [{ role: 'user', content: 'Something forbidden, as JSON' }], response_format, stream: true });
    let finish: string | null | undefined;
    for await (const chunk of stream) finish = chunk.choices[0]?.finish_reason ?? finish;
    expect(finish).toBe('content_filter');
  });

  it('takes output_config.format (and the beta output_format) on /v1/messages: to Claude natively, to an OpenAI model as response_format', async () => {
    const sdk = new Anthropic({ baseURL: baseURL.replace(/\/v1$/, ''), apiKey: 'unused', maxRetries: 0 });
    const schema = strictSchema(WEATHER_SCHEMA) as Record<string, unknown>;
    const params = { max_tokens: 512, messages: [{ role: 'user' as const, content: 'Weather in Paris as JSON' }], output_config: { format: { type: 'json_schema' as const, schema } } };
    const m = await sdk.messages.create({ ...params, model: 'sonnet' } as Anthropic.MessageCreateParamsNonStreaming);
    expect(last().output_config).toEqual({ format: { type: 'json_schema', schema } });
    expect(m.content).toEqual([expect.objectContaining({ type: 'text', text: WEATHER })]);

    await sdk.messages.create({ ...params, model: 'gpt' } as Anthropic.MessageCreateParamsNonStreaming);
    expect(openaiSeen.at(-1)?.['response_format']).toEqual({ type: 'json_schema', json_schema: { name: 'answer', schema } });

    const beta = { model: 'sonnet', max_tokens: 512, messages: params.messages, output_format: { type: 'json_schema', schema } };
    await sdk.messages.create(beta as unknown as Anthropic.MessageCreateParamsNonStreaming);
    expect(last().output_config).toEqual({ format: { type: 'json_schema', schema } });
  });

  it('refuses structuredOutputs on a model that is not anthropic', () => {
    expect(() => parseGatewayConfig({ models: { gpt: { baseURL: 'http://x/v1', inputPricePerMTok: 1, outputPricePerMTok: 1, structuredOutputs: 'native' } } })).toThrow(/structuredOutputs is for anthropic models/);
  });
});
