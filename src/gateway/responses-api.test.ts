/**
 * The Responses API through the gateway, driven by the official SDK's `client.responses`: routed like
 * a chat completion (replay-upstream answers with recorded responses), plain and streamed, with the
 * chat pipeline's headers, errors and limits.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
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

describe('Responses API (POST /v1/responses)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-responses-'));
  const { meta, rows } = syntheticRows({ prompts: 160, seed: 8 });
  const answers = syntheticAnswers(rows, 8);
  writeDataset(dir, meta, rows, answers);
  const question = rows.find((r) => r.split === 'test') as (typeof rows)[number];
  const answerOf = (model: string): string => answers.find((a) => a.id === question.id && a.model === model)?.response as string;
  let upstream: ReplayUpstream;
  let gateway: Gateway;
  let client: OpenAI;
  /** A model that calls the `weather` tool, then answers from the tool's output (records what it was sent). */
  const toolRequests: Array<{ messages: Array<Record<string, unknown>>; tools?: unknown; tool_choice?: unknown; stream?: boolean }> = [];
  let tooler: Server;

  beforeAll(async () => {
    upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
    const upURL = await upstream.listen();
    const router = createRouter('linear:encoder=hashing:dim=256');
    await router.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
    const artifact = join(dir, 'linear.json');
    writeFileSync(artifact, JSON.stringify(router.toArtifact()));
    tooler = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const r = JSON.parse(raw) as (typeof toolRequests)[number];
        toolRequests.push(r);
        const answered = r.messages.some((m) => m['role'] === 'tool');
        const usage = { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30 };
        const call = { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } };
        if (r.stream) {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          const chunk = (delta: object, finish: string | null = null) => `data: ${JSON.stringify({ id: 't', object: 'chat.completion.chunk', created: 1, model: 'tooler', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
          res.end(
            chunk({ role: 'assistant', tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'weather', arguments: '' } }] }) +
              chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }) +
              chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }) +
              chunk({}, 'tool_calls') +
              `data: ${JSON.stringify({ id: 't', object: 'chat.completion.chunk', created: 1, model: 'tooler', choices: [], usage })}\n\ndata: [DONE]\n\n`,
          );
          return;
        }
        const message = answered ? { role: 'assistant', content: 'It is sunny in Paris.' } : { role: 'assistant', content: null, tool_calls: [call] };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ id: 't', object: 'chat.completion', created: 1, model: 'tooler', choices: [{ index: 0, message, finish_reason: answered ? 'stop' : 'tool_calls' }], usage }));
      });
    });
    await new Promise<void>((r) => tooler.listen(0, '127.0.0.1', r));
    const toolURL = `http://127.0.0.1:${(tooler.address() as AddressInfo).port}/v1`;
    const models = {
      ...Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: upURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }])),
      tooler: { baseURL: toolURL, inputPricePerMTok: 1, outputPricePerMTok: 2 },
    };
    const config = parseGatewayConfig({ server: { port: 0 }, models, routes: { auto: { router: artifact, lambda: 0.5 } }, auth: { keys: [{ name: 'team', sha256: hashKey('sk-team'), requestsPerMinute: 1000 }] } });
    gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }) });
    client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'sk-team', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await upstream.close();
    tooler.close();
  });

  it('routes a response like a chat completion: the chosen model\'s answer, its usage, the Switchyard headers, the decision log', async () => {
    const { data, response } = await client.responses.create({ model: 'auto', instructions: 'Answer briefly.', input: question.prompt, max_output_tokens: 200 }).withResponse();
    const model = response.headers.get('x-switchyard-model') as string;
    expect(meta.models.map((m) => m.id)).toContain(model);
    expect(data.object).toBe('response');
    expect(data.status).toBe('completed');
    expect(data.model).toBe(model);
    expect(data.output_text).toBe(answerOf(model));
    expect(data.usage?.output_tokens).toBeGreaterThan(0);
    expect(data.usage?.total_tokens).toBe((data.usage?.input_tokens ?? 0) + (data.usage?.output_tokens ?? 0));
    expect(Number(response.headers.get('x-switchyard-cost-usd'))).toBeGreaterThan(0);
    const decision = await gateway.store.getDecision(response.headers.get('x-request-id') as string);
    expect(decision).toMatchObject({ route: 'auto', keyId: 'team', answered: model, status: 200 });
    // input as message items with content parts
    const items = await client.responses.create({ model: 'auto', input: [{ role: 'developer', content: 'Be brief.' }, { role: 'user', content: [{ type: 'input_text', text: question.prompt }] }] });
    expect(items.output_text).toBe(answerOf(items.model));
  });

  it('streams the Responses events, text deltas to completed with usage', async () => {
    const stream = await client.responses.create({ model: 'auto', input: question.prompt, stream: true });
    const types: string[] = [];
    let text = '';
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(types).toContain('response.output_text.done');
    expect(completed?.model).toBeDefined();
    expect(text).toBe(answerOf(completed?.model as string));
    expect(completed?.usage?.output_tokens).toBeGreaterThan(0);
  });

  it('refuses what it cannot translate with a 400 naming the field, and passes the chat pipeline\'s errors on', async () => {
    const err = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    const tools = await err(client.responses.create({ model: 'auto', input: 'hi', tools: [{ type: 'web_search' }] }));
    expect(tools).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(tools?.message).toMatch(/^400 tools\.0\.type: only function tools/);
    const image = await err(client.responses.create({ model: 'auto', input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://example.com/a.png', detail: 'auto' }] }] }));
    expect(image?.message).toMatch(/input\.0\.content\.0\.type: "input_image" is not supported/);
    expect(await err(client.responses.create({ model: 'auto', input: 'hi', previous_response_id: 'resp_1' }))).toMatchObject({ status: 400 });
    expect(await err(client.responses.create({ model: 'gpt-9', input: 'hi' }))).toMatchObject({ status: 404, code: 'model_not_found' });
    const stranger = new OpenAI({ baseURL: client.baseURL, apiKey: 'sk-nobody', maxRetries: 0 });
    expect(await err(stranger.responses.create({ model: 'auto', input: question.prompt }))).toMatchObject({ status: 401, code: 'invalid_api_key' });
  });

  it('carries function tools both ways: calls out as function_call items (streamed as argument deltas), outputs back in as tool messages', async () => {
    const weather = { type: 'function' as const, name: 'weather', description: 'The weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, strict: true };
    const first = await client.responses.create({ model: 'tooler', input: 'Weather in Paris?', tools: [weather], tool_choice: 'auto' });
    expect(toolRequests[0]?.tools).toEqual([{ type: 'function', function: { name: 'weather', description: 'The weather in a city', parameters: weather.parameters, strict: true } }]);
    expect(toolRequests[0]?.tool_choice).toBe('auto');
    const call = first.output.find((o) => o.type === 'function_call');
    expect(call).toMatchObject({ type: 'function_call', call_id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}', status: 'completed' });
    // the next turn sends the call and its output back
    const second = await client.responses.create({
      model: 'tooler',
      tools: [weather],
      input: [{ role: 'user', content: 'Weather in Paris?' }, { type: 'function_call', call_id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' }, { type: 'function_call_output', call_id: 'call_1', output: '{"sky":"sunny"}' }],
    });
    expect(toolRequests[1]?.messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"sky":"sunny"}' },
    ]);
    expect(second.output_text).toBe('It is sunny in Paris.');
    // streamed: the call arrives as argument deltas, and whole in response.completed
    const stream = await client.responses.create({ model: 'tooler', input: 'Weather in Paris?', tools: [weather], stream: true });
    let args = '';
    const types: string[] = [];
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.function_call_arguments.delta') args += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    expect(args).toBe('{"city":"Paris"}');
    expect(types).toEqual(expect.arrayContaining(['response.output_item.added', 'response.function_call_arguments.done', 'response.output_item.done']));
    expect(completed?.output).toEqual([expect.objectContaining({ type: 'function_call', call_id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' })]);
    expect(completed?.usage?.total_tokens).toBe(30);
  });
});
