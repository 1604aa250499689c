/**
 * Anthropic's Messages API through the gateway, driven by the official Anthropic SDK: routed like a
 * chat completion (replay-upstream answers with recorded responses), plain and streamed, client
 * tools both ways, the gateway key sent as x-api-key, Anthropic-shaped errors.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticAnswers, syntheticRows } from '../../test/helpers/synthetic.js';
import { buildMatrix, loadDataset } from '../data/load.js';
import { writeDataset } from '../data/write.js';
import { createRouter } from '../routers/registry.js';
import { hashKey } from './auth.js';
import { parseGatewayConfig } from './config.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

describe('Anthropic Messages API (POST /v1/messages)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-messages-'));
  const { meta, rows } = syntheticRows({ prompts: 160, seed: 9 });
  const answers = syntheticAnswers(rows, 9);
  writeDataset(dir, meta, rows, answers);
  const question = rows.find((r) => r.split === 'test') as (typeof rows)[number];
  const answerOf = (model: string): string => answers.find((a) => a.id === question.id && a.model === model)?.response as string;
  const toolRequests: Array<{ messages: Array<Record<string, unknown>>; tools?: unknown; tool_choice?: unknown; stream?: boolean }> = [];
  let tooler: Server;
  let upstream: ReplayUpstream;
  let gateway: Gateway;
  let client: Anthropic;
  let base = '';

  beforeAll(async () => {
    upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
    const upURL = await upstream.listen();
    // a model that calls `weather`, then answers from its result (it records what it was sent)
    tooler = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const r = JSON.parse(raw) as (typeof toolRequests)[number];
        toolRequests.push(r);
        const usage = { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 };
        if (r.stream) {
          const chunk = (delta: object, finish: string | null = null) => `data: ${JSON.stringify({ id: 't', object: 'chat.completion.chunk', created: 1, model: 'tooler', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.end(
            chunk({ role: 'assistant', content: 'Let me check. ' }) +
              chunk({ tool_calls: [{ index: 0, id: 'call_9', type: 'function', function: { name: 'weather', arguments: '' } }] }) +
              chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }) +
              chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }) +
              chunk({}, 'tool_calls') +
              `data: ${JSON.stringify({ id: 't', object: 'chat.completion.chunk', created: 1, model: 'tooler', choices: [], usage })}\n\ndata: [DONE]\n\n`,
          );
          return;
        }
        const answered = r.messages.some((m) => m['role'] === 'tool');
        const message = answered ? { role: 'assistant', content: 'Sunny in Paris.' } : { role: 'assistant', content: null, tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 't', object: 'chat.completion', created: 1, model: 'tooler', choices: [{ index: 0, message, finish_reason: answered ? 'stop' : 'tool_calls' }], usage }));
      });
    });
    await new Promise<void>((r) => tooler.listen(0, '127.0.0.1', r));
    const router = createRouter('linear:encoder=hashing:dim=256');
    await router.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
    const artifact = join(dir, 'linear.json');
    writeFileSync(artifact, JSON.stringify(router.toArtifact()));
    const models = {
      ...Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: upURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }])),
      tooler: { baseURL: `http://127.0.0.1:${(tooler.address() as AddressInfo).port}/v1`, inputPricePerMTok: 1, outputPricePerMTok: 2 },
    };
    const config = parseGatewayConfig({ server: { port: 0 }, models, routes: { auto: { router: artifact, lambda: 0.5 } }, auth: { keys: [{ name: 'team', sha256: hashKey('sk-team') }] } });
    gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }) });
    base = (await gateway.listen()).replace(/\/v1$/, '');
    client = new Anthropic({ baseURL: base, apiKey: 'sk-team', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await upstream.close();
    tooler.close();
  });

  it('routes a message like a chat completion, with the key from x-api-key, the Switchyard headers and the decision log', async () => {
    const { data, response } = await client.messages.create({ model: 'auto', max_tokens: 300, system: 'Answer briefly.', messages: [{ role: 'user', content: question.prompt }] }).withResponse();
    const model = response.headers.get('x-switchyard-model') as string;
    expect(meta.models.map((m) => m.id)).toContain(model);
    expect(data).toMatchObject({ type: 'message', role: 'assistant', model, stop_reason: 'end_turn' });
    expect(data.content).toEqual([{ type: 'text', text: answerOf(model) }]);
    expect(data.usage.output_tokens).toBeGreaterThan(0);
    const decision = await gateway.store.getDecision(response.headers.get('x-request-id') as string);
    expect(decision).toMatchObject({ route: 'auto', keyId: 'team', answered: model, status: 200 });
  });

  it('streams the Messages events; the SDK assembles the same message', async () => {
    const stream = client.messages.stream({ model: 'auto', max_tokens: 300, messages: [{ role: 'user', content: [{ type: 'text', text: question.prompt }] }] });
    const types: string[] = [];
    stream.on('streamEvent', (e) => void types.push(e.type));
    const message = await stream.finalMessage();
    expect(types[0]).toBe('message_start');
    expect(types.at(-1)).toBe('message_stop');
    expect(message.content).toEqual([expect.objectContaining({ type: 'text', text: answerOf(message.model) })]);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
  });

  it('carries client tools both ways: tool_use out, tool_result back in, streamed as input_json deltas', async () => {
    const weather = { name: 'weather', description: 'The weather in a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] } };
    const first = await client.messages.create({ model: 'tooler', max_tokens: 200, tools: [weather], tool_choice: { type: 'any' }, messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    expect(toolRequests[0]?.tools).toEqual([{ type: 'function', function: { name: 'weather', description: 'The weather in a city', parameters: weather.input_schema } }]);
    expect(toolRequests[0]?.tool_choice).toBe('required');
    expect(first.stop_reason).toBe('tool_use');
    expect(first.content).toEqual([{ type: 'tool_use', id: 'call_9', name: 'weather', input: { city: 'Paris' } }]);
    const second = await client.messages.create({
      model: 'tooler',
      max_tokens: 200,
      tools: [weather],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_9', content: '{"sky":"sunny"}' }] },
      ],
    });
    expect(toolRequests[1]?.messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_9', content: '{"sky":"sunny"}' },
    ]);
    expect(second.content).toEqual([{ type: 'text', text: 'Sunny in Paris.' }]);
    const streamed = await client.messages.stream({ model: 'tooler', max_tokens: 200, tools: [weather], messages: [{ role: 'user', content: 'Weather in Paris?' }] }).finalMessage();
    expect(streamed.stop_reason).toBe('tool_use');
    expect(streamed.content).toEqual([expect.objectContaining({ type: 'text', text: 'Let me check. ' }), { type: 'tool_use', id: 'call_9', name: 'weather', input: { city: 'Paris' } }]);
  });

  it('answers with Anthropic-shaped errors that keep the gateway\'s code', async () => {
    const err = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as InstanceType<typeof Anthropic.APIError>);
    const stranger = new Anthropic({ baseURL: base, apiKey: 'sk-nobody', maxRetries: 0 });
    const denied = await err(stranger.messages.create({ model: 'auto', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }));
    expect(denied).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(denied?.error).toMatchObject({ type: 'error', error: { type: 'authentication_error', code: 'invalid_api_key' } });
    const unknown = await err(client.messages.create({ model: 'claude-9', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }));
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
    const image = await err(client.messages.create({ model: 'auto', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }] }] }));
    expect(image).toBeInstanceOf(Anthropic.BadRequestError);
    expect(image?.error).toMatchObject({ error: { type: 'invalid_request_error', message: expect.stringMatching(/^messages\.0\.content\.0\.type: "image" is not supported/) } });
    const noMax = await fetch(`${base}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'sk-team' }, body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] }) });
    expect(noMax.status).toBe(400);
    expect(await noMax.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/max_tokens/) } });
  });
});
