/**
 * `server.cors`: a browser page on an allowed origin may call the gateway (its preflight answered, the
 * routing headers exposed to its script); other origins' preflights are refused; without the setting
 * no CORS header is sent. Requests carry an Origin header as a browser's would.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticRows } from '../../test/helpers/synthetic.js';
import { loadDataset } from '../data/load.js';
import { writeDataset } from '../data/write.js';
import { GatewayConfigSchema, parseGatewayConfig } from './config.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

describe('server.cors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-cors-'));
  const { meta, rows } = syntheticRows({ prompts: 20 });
  writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] ${r.id}` }))));
  const model = meta.models[0]?.id as string;
  const APP = 'https://app.example.com';
  let upstream: ReplayUpstream;
  const gateways: Gateway[] = [];
  const open = async (cors?: unknown): Promise<string> => {
    const models = Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: upstreamURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }]));
    const g = await Gateway.create(parseGatewayConfig({ server: { port: 0, ...(cors ? { cors } : {}) }, models }), { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }) });
    gateways.push(g);
    return g.listen();
  };
  let upstreamURL = '';
  const preflight = (url: string, origin: string) =>
    request(`${url}/chat/completions`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, x-stainless-os' } });
  const chat = (url: string, origin: string) =>
    request(`${url}/chat/completions`, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: rows[0]?.prompt }] }) });

  beforeAll(async () => {
    upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
    upstreamURL = await upstream.listen();
  });
  afterAll(async () => {
    for (const g of gateways) await g.close();
    await upstream.close();
  });

  it("answers an allowed origin's preflight and exposes the routing headers to its page", async () => {
    const url = await open({ origins: [APP] });
    const pre = await preflight(url, APP);
    expect(pre.statusCode).toBe(204);
    expect(pre.headers).toMatchObject({ 'access-control-allow-origin': APP, 'access-control-allow-headers': 'authorization, content-type, x-stainless-os', 'access-control-max-age': '600', vary: 'Origin' });
    expect(String(pre.headers['access-control-allow-methods'])).toContain('POST');
    await pre.body.dump();
    const res = await chat(url, APP);
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(String(res.headers['access-control-expose-headers'])).toContain('x-switchyard-model');
    expect(res.headers['x-switchyard-model']).toBe(model);
    await res.body.dump();
  });

  it("refuses another origin's preflight and gives its requests no CORS header", async () => {
    const url = await open({ origins: [APP] });
    const pre = await preflight(url, 'https://evil.example');
    expect(pre.statusCode).toBe(403);
    expect(((await pre.body.json()) as { error: { code: string } }).error.code).toBe('origin_not_allowed');
    const res = await chat(url, 'https://evil.example');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    await res.body.dump();
  });

  it("allows any origin with '*', and sends nothing without server.cors", async () => {
    const any = await open({ origins: ['*'] });
    const pre = await preflight(any, 'http://localhost:5173');
    expect(pre.statusCode).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('*');
    await pre.body.dump();
    const off = await open();
    const none = await preflight(off, APP);
    expect(none.statusCode).toBe(404);
    expect(none.headers['access-control-allow-origin']).toBeUndefined();
    await none.body.dump();
    const res = await chat(off, APP);
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    await res.body.dump();
  });

  it('refuses an origin with a path in the config, naming the field', () => {
    const issues = GatewayConfigSchema.safeParse({ server: { cors: { origins: ['https://app.example.com/'] } }, models: { a: { baseURL: 'http://127.0.0.1:1/v1', inputPricePerMTok: 1, outputPricePerMTok: 1 } } }).error?.issues ?? [];
    expect(issues.map((i) => i.path.join('.'))).toEqual(['server.cors.origins.0']);
  });
});
