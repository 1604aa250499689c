/**
 * A canary router (`routes.X.canary`) routes its share of a route's requests for real; the decision
 * log and feedback then compare it with the live router by outcomes. Official openai SDK → gateway →
 * replay-upstream.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticRows } from '../../test/helpers/synthetic.js';
import { createRng } from '../core/random.js';
import { buildMatrix, loadDataset } from '../data/load.js';
import { writeDataset } from '../data/write.js';
import { createRouter } from '../routers/registry.js';
import { parseGatewayConfig } from './config.js';
import { summariseDecisions } from './decision-summary.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

describe('canary router', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-canary-'));
  const { meta, rows } = syntheticRows({ prompts: 120 });
  writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] ${r.id}` }))));
  const test = rows.filter((r) => r.split === 'test');
  let upstream: ReplayUpstream;
  let url = '';
  const files: Record<string, string> = {};
  const chosen: Record<string, string> = {};
  const gateways: Gateway[] = [];

  beforeAll(async () => {
    upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
    url = await upstream.listen();
    for (const kind of ['best-single', 'cheapest']) {
      const router = createRouter(kind);
      await router.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
      files[kind] = join(dir, `${kind}.json`);
      writeFileSync(files[kind] as string, JSON.stringify(router.toArtifact()));
      chosen[kind] = (await router.route([{ text: 'x' }], { lambda: 0 }))[0]?.models[0] as string;
    }
  });
  afterAll(async () => {
    for (const g of gateways) await g.close().catch(() => undefined);
    await upstream.close();
  });

  const config = (route: Record<string, unknown>) =>
    parseGatewayConfig({
      server: { port: 0 },
      models: Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: url, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }])),
      routes: { auto: { router: files['best-single'], lambda: 0, ...route } },
    });

  it('routes its share of requests, marked as the canary, and is compared with the live router by feedback and cost', async () => {
    expect(chosen['best-single']).not.toBe(chosen['cheapest']);
    const gateway = await Gateway.create(config({ canary: { router: files['cheapest'], share: 0.4 } }), { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }), rng: createRng(11) });
    gateways.push(gateway);
    const client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'sk-test', maxRetries: 0 });
    let canaries = 0;
    for (let k = 0; k < 50; k++) {
      const r = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: (test[k % test.length] as (typeof rows)[number]).prompt }] }).withResponse();
      const canary = r.response.headers.get('x-switchyard-canary') === '1';
      canaries += canary ? 1 : 0;
      expect(r.data.model).toBe(canary ? chosen['cheapest'] : chosen['best-single']);
      // the application's feedback: the live router's answers were better here
      await client.post('/feedback', { body: { request_id: r.response.headers.get('x-request-id'), score: canary ? 0.2 : 0.9 } });
    }
    expect(canaries).toBeGreaterThan(10); // 40% of 50, drawn with the seeded generator
    expect(canaries).toBeLessThan(30);
    const decisions = await gateway.store.listDecisions({ limit: 100 });
    expect(decisions.filter((d) => d.canary).length).toBe(canaries);
    expect(decisions.find((d) => d.canary)?.reason).toMatch(/^canary: /);
    const [summary] = summariseDecisions(decisions, await gateway.store.listFeedback());
    const c = summary?.canary;
    expect(c?.live.requests).toBe(50 - canaries);
    expect(c?.canary.shares).toEqual({ [chosen['cheapest'] as string]: 1 });
    expect(c?.scoreDiff?.mean).toBeCloseTo(-0.7, 10);
    expect(c?.scoreDiff?.high).toBeLessThan(0);
    expect(c?.costDiffUsd?.mean).toBeLessThan(0); // the cheapest model costs less
  });

  it('refuses a canary share outside (0, 1] and a canary router that knows none of the route models', async () => {
    expect(() => config({ canary: { router: files['cheapest'], share: 0 } })).toThrow(/share/);
    const other = createRouter('cheapest');
    const renamed = { ...meta, models: meta.models.map((m) => ({ ...m, id: `other-${m.id}` })) };
    await other.fit(buildMatrix(renamed, rows.map((r) => ({ ...r, outcomes: Object.fromEntries(Object.entries(r.outcomes).map(([m, o]) => [`other-${m}`, o])) }))).view('train'), { seed: 0 });
    writeFileSync(join(dir, 'other.json'), JSON.stringify(other.toArtifact()));
    await expect(Gateway.create(config({ canary: { router: join(dir, 'other.json'), share: 0.5 } }), { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }) })).rejects.toThrow(/canary\.router: .* knows none of the route's models/);
  });
});
