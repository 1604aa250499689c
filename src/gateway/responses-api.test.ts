/**
 * The Responses API through the gateway, driven by the official SDK's `client.responses`: routed like
 * a chat completion (replay-upstream answers with recorded responses), plain and streamed, with the
 * chat pipeline's headers, errors and limits.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
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

  beforeAll(async () => {
    upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
    const upURL = await upstream.listen();
    const router = createRouter('linear:encoder=hashing:dim=256');
    await router.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
    const artifact = join(dir, 'linear.json');
    writeFileSync(artifact, JSON.stringify(router.toArtifact()));
    const models = Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: upURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }]));
    const config = parseGatewayConfig({ server: { port: 0 }, models, routes: { auto: { router: artifact, lambda: 0.5 } }, auth: { keys: [{ name: 'team', sha256: hashKey('sk-team'), requestsPerMinute: 1000 }] } });
    gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }) });
    client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'sk-team', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await upstream.close();
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
    const tools = await err(client.responses.create({ model: 'auto', input: 'hi', tools: [{ type: 'function', name: 'f', parameters: {}, strict: false }] }));
    expect(tools).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(tools?.message).toMatch(/^400 tools: not supported/);
    const image = await err(client.responses.create({ model: 'auto', input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://example.com/a.png', detail: 'auto' }] }] }));
    expect(image?.message).toMatch(/input\.0\.content\.0\.type: "input_image" is not supported/);
    expect(await err(client.responses.create({ model: 'auto', input: 'hi', previous_response_id: 'resp_1' }))).toMatchObject({ status: 400 });
    expect(await err(client.responses.create({ model: 'gpt-9', input: 'hi' }))).toMatchObject({ status: 404, code: 'model_not_found' });
    const stranger = new OpenAI({ baseURL: client.baseURL, apiKey: 'sk-nobody', maxRetries: 0 });
    expect(await err(stranger.responses.create({ model: 'auto', input: question.prompt }))).toMatchObject({ status: 401, code: 'invalid_api_key' });
  });
});
