/**
 * POST /v1/embeddings through the gateway with the official openai SDK (which asks for base64
 * vectors by default) to a local server speaking OpenAI's embeddings wire format.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGatewayConfig } from './config.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

/** A deterministic 4-d vector per input text. */
const vector = (text: string): number[] => [text.length, text.charCodeAt(0) / 100, 0.5, -1];

describe('POST /v1/embeddings (passed through to a configured model)', () => {
  let upstream: Server;
  let upURL = '';
  let failures = 0; // the next requests the upstream answers 503
  const seen: Array<Record<string, unknown>> = [];
  let gateway: Gateway;
  let client: OpenAI;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const body = JSON.parse(raw) as { model: string; input: string | string[]; encoding_format?: string };
        seen.push({ ...body, path: req.url, authorization: req.headers.authorization });
        if (failures > 0) {
          failures--;
          res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'overloaded', type: 'server_error', code: null } }));
          return;
        }
        const inputs = Array.isArray(body.input) ? body.input : [body.input];
        const data = inputs.map((t, index) => {
          const v = vector(t);
          const embedding = body.encoding_format === 'base64' ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v;
          return { object: 'embedding', index, embedding };
        });
        const tokens = inputs.reduce((n, t) => n + t.split(' ').length, 0);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } }));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upURL = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
    const config = parseGatewayConfig({
      server: { port: 0 },
      retries: 1,
      models: {
        embedder: { baseURL: upURL, upstreamModel: 'text-embedding-3-small', apiKeyEnv: 'EMBED_KEY', inputPricePerMTok: 0.02, outputPricePerMTok: 0 },
        claude: { provider: 'anthropic', baseURL: upURL, inputPricePerMTok: 3, outputPricePerMTok: 15 },
      },
    });
    gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }), env: { EMBED_KEY: 'sk-embed' }, sleep: async () => undefined });
    client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'sk-test', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await new Promise((r) => upstream.close(r));
  });

  it('answers with the upstream vectors, bills the input tokens and records the call', async () => {
    const { data, response } = await client.embeddings.create({ model: 'embedder', input: ['hello world', 'routing'] }).withResponse();
    expect(data.data.map((d) => d.embedding)).toEqual([vector('hello world'), vector('routing')].map((v) => Array.from(new Float32Array(v))));
    expect(seen.at(-1)).toMatchObject({ model: 'text-embedding-3-small', path: '/v1/embeddings', authorization: 'Bearer sk-embed', encoding_format: 'base64' });
    expect(response.headers.get('x-switchyard-model')).toBe('embedder');
    expect(Number(response.headers.get('x-switchyard-cost-usd'))).toBeCloseTo((3 * 0.02) / 1e6, 12); // 3 input tokens
    const decision = await gateway.store.getDecision(response.headers.get('x-request-id') as string);
    expect(decision).toMatchObject({ route: 'embedder', answered: 'embedder', reason: 'embeddings', status: 200 });
    expect(decision?.costUsd).toBeCloseTo((3 * 0.02) / 1e6, 12);
  });

  it('retries a retryable upstream failure like a chat call', async () => {
    failures = 1;
    const before = seen.length;
    const r = await client.embeddings.create({ model: 'embedder', input: 'again' });
    expect(r.data).toHaveLength(1);
    expect(seen.length - before).toBe(2);
  });

  it('refuses a model that is not configured or cannot embed, with OpenAI-shaped errors', async () => {
    await expect(client.embeddings.create({ model: 'nope', input: 'x' })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    await expect(client.embeddings.create({ model: 'claude', input: 'x' })).rejects.toMatchObject({ status: 400, code: 'invalid_request' });
    failures = 5;
    await expect(client.embeddings.create({ model: 'embedder', input: 'x' })).rejects.toMatchObject({ status: 502, code: 'upstream_unavailable' });
    failures = 0;
  });
});
