/**
 * The gateway agrees with the offline evaluator: replaying a test split through the official SDK →
 * gateway → replay-upstream gives the same mean quality and cost as `evaluate()` for the same router
 * and λ (routellm_gsm8k: its costs are tokens × list prices, as the gateway bills them).
 */
import OpenAI from 'openai';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { dataPath, hasData } from '../../test/helpers/data.js';
import { loadDataset } from '../data/load.js';
import { judgedColumns } from '../eval/mixture-scores.js';
import { evaluate, replayPrompts } from '../eval/replay.js';
import type { RoutingMatrix } from '../data/routing-matrix.js';
import type { Router } from '../spec/router.js';
import { createRouter } from '../routers/registry.js';
import { parseGatewayConfig } from './config.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe.skipIf(!hasData('routellm_gsm8k'))('gateway replay = offline replay (routellm_gsm8k)', () => {
  it('gives the same mean quality and cost as switchyard eval for the same router and λ', async () => {
    const matrix = loadDataset(dataPath('routellm_gsm8k'));
    const router = createRouter('knn:encoder=hashing:dim=512');
    await router.fit(matrix.view('train'), { seed: 0 });
    await expectSameAsOffline(matrix, router, 0.5);
  });

  it('agrees for a cascade too: the same answers kept, the same escalations paid', async () => {
    const matrix = loadDataset(dataPath('routellm_gsm8k'));
    const router = createRouter('cascade');
    await router.fit(matrix.view('train'), { seed: 0 });
    const decisions = await router.route(replayPrompts(matrix.view('test')), { lambda: 0.5 });
    expect(decisions.every((d) => d.kind === 'cascade')).toBe(true); // λ = 0.5 is a cheap-first chain here
    await expectSameAsOffline(matrix, router, 0.5);
  });
});

/** Replays the test split through SDK → gateway → replay-upstream and compares with evaluate() at λ. */
async function expectSameAsOffline(matrix: RoutingMatrix, router: Router, lambda: number): Promise<void> {
  const train = matrix.view('train');
  const test = matrix.view('test');
  const judged = router.judgeAnswers ? { judged: await judgedColumns(router, train, test) } : {};
  const offline = await evaluate(test, train, [{ name: router.kind, router, ...judged }], { lambdas: [lambda], bootstrap: 0 });
  const point = offline.routers[0]?.points[0];

  const dir = mkdtempSync(join(tmpdir(), 'sy-eq-'));
  const artifact = join(dir, 'router.json');
  writeFileSync(artifact, JSON.stringify(router.toArtifact()));
  const upstream = new ReplayUpstream(await ReplayData.load(matrix));
  const base = await upstream.listen();
  const models = Object.fromEntries(matrix.models.map((m) => [m.id, { baseURL: base, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }]));
  const gateway = await Gateway.create(parseGatewayConfig({ server: { port: 0 }, models, routes: { auto: { router: artifact, lambda } } }), { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }) });
  const client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'x', maxRetries: 0 });
  try {
    let quality = 0;
    let cost = 0;
    for (let i = 0; i < test.size; i++) {
      const { response } = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: test.text(i) }] }).withResponse();
      const model = response.headers.get('x-switchyard-model') as string;
      quality += test.score(i, matrix.modelIndex(model) as number);
      cost += Number(response.headers.get('x-switchyard-cost-usd'));
    }
    expect(quality / test.size).toBeCloseTo(point?.quality as number, 12);
    expect(Math.abs(cost / test.size - (point?.cost as number))).toBeLessThan(1e-5 * (point?.cost as number));
  } finally {
    await gateway.close();
    await upstream.close();
  }
}
