/**
 * Endpoints that speak the OpenAI wire format under another address scheme: Azure OpenAI's classic
 * deployments (`/openai/deployments/{name}/chat/completions?api-version=…` with an `api-key` header)
 * and gateways that want identifying headers (OpenRouter's `HTTP-Referer`, `X-Title`). A local front
 * checks what Azure checks and passes the call to replay-upstream (recorded answers); the official
 * openai SDK calls the gateway.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticRows } from '../../../test/helpers/synthetic.js';
import { loadDataset } from '../../data/load.js';
import { writeDataset } from '../../data/write.js';
import { parseGatewayConfig } from '../config.js';
import { ReplayData } from '../replay-upstream/replay-data.js';
import { ReplayUpstream } from '../replay-upstream/server.js';
import { Gateway } from '../server.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { withinOutputLimit, withoutDropped } from './openai-compatible.js';

describe('OpenAI-compatible endpoints with their own query and headers (Azure OpenAI classic, OpenRouter)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-azure-'));
  const { meta, rows } = syntheticRows({ prompts: 10 });
  writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] an answer to ${r.id}` }))));
  const prompt = (rows[0] as (typeof rows)[number]).prompt;
  const recorded = meta.models[0]?.id as string;
  let replay: ReplayUpstream;
  let front: Server;
  let frontURL = '';
  const seen: Array<{ path: string; headers: IncomingMessage['headers'] }> = [];
  const gateways: Gateway[] = [];

  beforeAll(async () => {
    replay = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
    const upstream = await replay.listen();
    // what Azure checks: the deployment path, the api-version parameter, the api-key header
    front = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ path: req.url ?? '', headers: req.headers });
        const url = new URL(req.url ?? '/', 'http://front');
        const fail = (status: number, message: string): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: String(status), message } }));
        if (url.pathname !== '/openai/deployments/gpt-4o-eu/chat/completions') return fail(404, 'Resource not found');
        if (url.searchParams.get('api-version') !== '2024-10-21') return fail(400, 'api-version missing');
        if (req.headers['api-key'] !== 'azure-secret') return fail(401, 'Access denied due to invalid subscription key');
        // what a model that does not reason answers to a reasoning parameter
        if ('reasoning_effort' in (JSON.parse(Buffer.concat(chunks).toString()) as object)) return fail(400, 'Unrecognized request argument supplied: reasoning_effort');
        void fetch(`${upstream}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.concat(chunks) }).then(async (r) => res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await r.arrayBuffer())));
      });
    });
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    frontURL = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const g of gateways) await g.close();
    await replay.close();
    await new Promise((r) => front.close(r));
  });

  const start = async (env: Record<string, string>, extra: Record<string, unknown> = {}): Promise<OpenAI> => {
    const config = parseGatewayConfig({
      server: { port: 0 },
      store: { outbox: false },
      retries: 0,
      models: {
        'gpt-4o': {
          baseURL: `${frontURL}/openai/deployments/gpt-4o-eu`,
          upstreamModel: recorded, // replay-upstream answers by the model name in the body
          query: { 'api-version': '2024-10-21' },
          headerEnv: { 'api-key': 'AZURE_OPENAI_KEY' },
          headers: { 'X-Title': 'switchyard tests' },
          inputPricePerMTok: 2.5,
          outputPricePerMTok: 10,
          ...extra,
        },
      },
    });
    const gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ enabled: false }), env });
    gateways.push(gateway);
    return new OpenAI({ baseURL: await gateway.listen(), apiKey: 'sk-client', maxRetries: 0 });
  };

  it('calls the deployment path with the api-version parameter, the api-key header from the environment and the static headers', async () => {
    const client = await start({ AZURE_OPENAI_KEY: 'azure-secret' });
    const answer = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: prompt }] });
    expect(answer.model).toBe('gpt-4o');
    expect(answer.choices[0]?.message.content).toMatch(/an answer to/);
    const call = seen.at(-1);
    expect(call?.path).toBe('/openai/deployments/gpt-4o-eu/chat/completions?api-version=2024-10-21');
    expect(call?.headers['api-key']).toBe('azure-secret');
    expect(call?.headers['x-title']).toBe('switchyard tests');
    expect(call?.headers['authorization']).toBeUndefined(); // the client's own key never goes upstream
    // streamed, through the same address
    const stream = await client.chat.completions.create({ model: 'gpt-4o', stream: true, messages: [{ role: 'user', content: prompt }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toMatch(/an answer to/);
    expect(seen.at(-1)?.path).toBe('/openai/deployments/gpt-4o-eu/chat/completions?api-version=2024-10-21');
  });

  it('sends no api-key header when its variable is not set (the endpoint refuses; the gateway relays that as upstream_error)', async () => {
    const client = await start({});
    await expect(client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: prompt }] })).rejects.toMatchObject({ status: 401, code: 'upstream_error', message: expect.stringContaining('gpt-4o answered 401') });
    expect(seen.at(-1)?.headers['api-key']).toBeUndefined();
  });

  it("leaves out of its calls the fields the model refuses (dropParams), where it would answer 400", async () => {
    const ask = (client: OpenAI): Promise<unknown> => client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: prompt }], reasoning_effort: 'low' });
    await expect(ask(await start({ AZURE_OPENAI_KEY: 'azure-secret' }))).rejects.toMatchObject({ status: 400, message: expect.stringContaining('reasoning_effort') });
    expect(await ask(await start({ AZURE_OPENAI_KEY: 'azure-secret' }, { dropParams: ['reasoning_effort'] }))).toMatchObject({ choices: [{ message: { content: expect.stringMatching(/an answer to/) } }] });
  });

  it('rejects a header name that is not one', () => {
    expect(() => parseGatewayConfig({ models: { m: { baseURL: 'http://127.0.0.1:9/v1', inputPricePerMTok: 1, outputPricePerMTok: 1, headers: { 'bad header': 'x' } } } })).toThrow(/expected an HTTP header name/);
  });
});

describe("a model's output limit (models.X.maxOutputTokens)", () => {
  it('asks for at most the limit, in whichever field the request uses, and leaves other requests as they are', () => {
    const body = { messages: [], max_tokens: 9000 };
    expect(withinOutputLimit(body, undefined)).toBe(body);
    expect(withinOutputLimit(body, 4096)).toEqual({ messages: [], max_tokens: 4096 });
    expect(withinOutputLimit({ max_completion_tokens: 9000, max_tokens: 100 }, 4096)).toEqual({ max_completion_tokens: 4096, max_tokens: 100 });
    const within = { max_completion_tokens: 100 };
    expect(withinOutputLimit(within, 4096)).toBe(within);
    expect(withinOutputLimit({ stream: true }, 4096)).toEqual({ stream: true });
  });
});

describe("fields a model refuses (models.X.dropParams)", () => {
  it('leaves them out of the call, and leaves a request without them as it is', () => {
    const body = { messages: [], reasoning_effort: 'low', temperature: 0.3 };
    expect(withoutDropped(body, ['reasoning_effort'])).toEqual({ messages: [], temperature: 0.3 });
    expect(body).toHaveProperty('reasoning_effort'); // the request itself is untouched (a fallback model may take it)
    const plain = { messages: [] };
    expect(withoutDropped(plain, ['reasoning_effort'])).toBe(plain);
    expect(withoutDropped(body, undefined)).toBe(body);
  });

  it('refuses to drop what every call needs, naming the path', () => {
    expect(() => parseGatewayConfig({ models: { m: { baseURL: 'http://127.0.0.1:1/v1', inputPricePerMTok: 1, outputPricePerMTok: 1, dropParams: ['messages'] } } })).toThrow(/dropParams[\s\S]*the call needs this field/);
  });
});
