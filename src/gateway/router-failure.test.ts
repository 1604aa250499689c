/**
 * A router that fails never fails the request: routes whose router embeds prompts through an
 * embeddings service (the `openai-compatible` encoder, against a local server the test controls) are
 * driven with the openai SDK while the service works, answers 503, and hangs — the request is answered
 * by the route's fallback model, counted and recorded; a failing shadow router is left out.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fitKnnRoute } from '../../test/helpers/fitted-router.js';
import { syntheticRows } from '../../test/helpers/synthetic.js';
import { hashString } from '../core/random.js';
import { buildMatrix, loadDataset } from '../data/load.js';
import { writeDataset } from '../data/write.js';
import { createRouter } from '../routers/registry.js';
import { parseGatewayConfig } from './config.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

describe('a route whose router fails (openai SDK → gateway → embeddings service down or hanging)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-router-fail-'));
  const { meta, rows } = syntheticRows({ prompts: 120 });
  const testRows = rows.filter((r) => r.split === 'test');
  let mode: 'ok' | 'error' | 'hang' = 'ok';
  let embeddings: Server | undefined;
  let upstream: ReplayUpstream | undefined;
  let gateway: Gateway | undefined;
  let client: OpenAI;
  let url = '';
  const pinned = meta.models[2]?.id as string;

  beforeAll(async () => {
    // an embeddings service: a vector from the text's hash (8-d), or a 503, or no answer at all
    embeddings = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        if (mode === 'hang') return;
        if (mode === 'error') return void res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"message":"overloaded"}}');
        const input = (JSON.parse(body) as { input: string[] }).input;
        const data = input.map((t, index) => ({ object: 'embedding', index, embedding: Array.from({ length: 8 }, (_, k) => ((hashString(t, k) % 1000) / 1000) - 0.5) }));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', data, model: 'emb' }));
      });
    });
    await new Promise<void>((r) => embeddings?.listen(0, '127.0.0.1', r));
    const embURL = `http://127.0.0.1:${(embeddings.address() as AddressInfo).port}/v1`;
    writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] ${r.id}` }))));
    upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
    const upURL = await upstream.listen();
    const before = process.env['SWITCHYARD_ENCODER'];
    process.env['SWITCHYARD_ENCODER'] = `openai-compatible:baseURL=${embURL};model=emb;dim=8`;
    const remote = createRouter('linear');
    process.env['SWITCHYARD_ENCODER'] = before ?? '';
    if (before === undefined) delete process.env['SWITCHYARD_ENCODER'];
    await remote.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
    writeFileSync(join(dir, 'remote.json'), JSON.stringify(remote.toArtifact()));
    const { artifact: local } = await fitKnnRoute(meta, rows, dir, testRows[0]?.prompt as string);
    const models = Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: upURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }]));
    const routes = {
      auto: { router: join(dir, 'remote.json'), lambda: 0.5, routerTimeoutMs: 300 },
      pinned: { router: join(dir, 'remote.json'), lambda: 0.5, routerTimeoutMs: 300, fallbackModel: pinned },
      shadowed: { router: local, lambda: 0.5, shadow: join(dir, 'remote.json'), routerTimeoutMs: 300 },
    };
    gateway = await Gateway.create(parseGatewayConfig({ server: { port: 0 }, retries: 0, models, routes }), { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }) });
    url = await gateway.listen();
    client = new OpenAI({ baseURL: url, apiKey: 'sk-test', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
    embeddings?.closeAllConnections();
    embeddings?.close();
  });

  let fresh = 0;
  /** A test prompt the process has not embedded yet (embeddings are remembered), with recorded answers. */
  const ask = async (route: string): Promise<{ model: string; reason: string; shadow: unknown; ms: number }> => {
    const prompt = testRows[1 + fresh++]?.prompt as string; // the first is the kNN route's fit prompt
    const t = performance.now();
    const { response } = await client.chat.completions.create({ model: route, messages: [{ role: 'user', content: prompt }] }).withResponse();
    const d = await gateway?.store.getDecision(response.headers.get('x-request-id') as string);
    return { model: response.headers.get('x-switchyard-model') as string, reason: d?.reason ?? '', shadow: d?.shadow, ms: performance.now() - t };
  };
  const metric = async (router: string, route: string): Promise<number> => {
    const text = await (await fetch(url.replace(/\/v1$/, '/metrics'))).text();
    return Number(/\} (\S+)$/.exec(text.split('\n').find((l) => l.startsWith(`switchyard_router_errors_total{route="${route}",router="${router}"}`)) ?? '} 0')?.[1]);
  };

  it("answers by the route's fallback model while the router's embeddings service fails or hangs, and routes again once it is back", async () => {
    mode = 'ok';
    const routed = [await ask('auto'), await ask('auto'), await ask('auto'), await ask('auto')];
    expect(routed.every((r) => !r.reason.includes('router failed'))).toBe(true);
    const counts = new Map<string, number>();
    for (const r of routed) counts.set(r.model, (counts.get(r.model) ?? 0) + 1);
    const most = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] as string;

    mode = 'error';
    const failed = await ask('auto');
    expect(failed.model).toBe(most); // by default, the model the router chose most often so far
    expect(failed.reason).toMatch(/^router failed \(embeddings endpoint .* answered 503.*\): .* answers as the route's fallback$/);
    expect(await metric('main', 'auto')).toBe(1);
    expect((await ask('pinned')).model).toBe(pinned); // routes.X.fallbackModel

    mode = 'hang';
    const slow = await ask('auto');
    expect(slow.model).toBe(most);
    expect(slow.reason).toContain('no decision within routerTimeoutMs (300 ms)');
    expect(slow.ms).toBeGreaterThanOrEqual(290);
    expect(await metric('main', 'auto')).toBe(2);

    mode = 'ok';
    expect((await ask('auto')).reason).not.toContain('router failed');
  });

  it('leaves out a shadow router that fails: the live router answers, no shadow choice is recorded', async () => {
    mode = 'ok';
    expect((await ask('shadowed')).shadow).toBeDefined();
    mode = 'error';
    const r = await ask('shadowed');
    expect(r.reason).not.toContain('router failed');
    expect(r.shadow).toBeUndefined();
    expect(await metric('shadow', 'shadowed')).toBe(1);
    mode = 'ok';
  });
});
