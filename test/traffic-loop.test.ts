/**
 * Learning from production traffic, end to end: the official openai SDK → gateway (prompts kept) →
 * replay-upstream; feedback on the answers; `switchyard decisions --export` → `switchyard data import
 * --from long` → `switchyard train` → `switchyard route` on the users' own prompts and outcomes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../src/data/load.js';
import { writeDataset } from '../src/data/write.js';
import { parseGatewayConfig } from '../src/gateway/config.js';
import { ReplayData } from '../src/gateway/replay-upstream/replay-data.js';
import { ReplayUpstream } from '../src/gateway/replay-upstream/server.js';
import { Gateway } from '../src/gateway/server.js';
import { SqliteStore } from '../src/gateway/store/sqlite-store.js';
import { syntheticRows } from './helpers/synthetic.js';

const CLI = resolve('dist/src/cli/main.js');
const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

describe('retraining on production traffic (decisions --export → data import → train)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-traffic-'));
  const { meta, rows } = syntheticRows({ prompts: 120 });
  const responses = rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] answer to ${r.id}` })));
  writeDataset(join(dir, 'data'), meta, rows, responses);
  let upstream: ReplayUpstream;
  let models: Record<string, { baseURL: string; inputPricePerMTok: number; outputPricePerMTok: number }> = {};

  beforeAll(async () => {
    upstream = new ReplayUpstream(await ReplayData.load(loadDataset(join(dir, 'data'))));
    const url = await upstream.listen();
    models = Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: url, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }]));
    writeFileSync(join(dir, 'sy.yaml'), `store: { path: ${join(dir, 'gw.db')}, keepPrompts: true }\nmodels:\n${Object.entries(models).map(([id, m]) => `  ${id}: ${JSON.stringify(m)}`).join('\n')}\n`);
  });
  afterAll(async () => upstream.close());

  it('exports answered requests with feedback as training rows that train a router', async () => {
    // production: each prompt is sent to two models by name; the application scores every answer
    // with the recorded outcome (a stand-in for user ratings), one answer is scored twice (the later
    // score counts) and one answer is never scored
    const config = parseGatewayConfig({ server: { port: 0 }, store: { path: join(dir, 'gw.db'), keepPrompts: true }, models });
    const gateway = await Gateway.create(config, { store: new SqliteStore(join(dir, 'gw.db')), logger: pino({ enabled: false }) });
    const client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'sk-test', maxRetries: 0 });
    const train = rows.filter((r) => r.split === 'train').slice(0, 40);
    const pairs = train.flatMap((r, k) => [meta.models[k % 2]?.id as string, meta.models[2 + (k % 2)]?.id as string].map((model) => ({ row: r, model })));
    let unscored = '';
    for (const [k, { row, model }] of pairs.entries()) {
      const { response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content: row.prompt }] }).withResponse();
      const id = response.headers.get('x-request-id') as string;
      if (k === 0) unscored = id;
      else {
        if (k === 1) await feedback(client, id, 0.5); // overwritten below
        await feedback(client, id, row.outcomes[model]?.score as number);
      }
    }
    await gateway.close();
    expect(unscored).not.toBe('');

    const out = join(dir, 'traffic.jsonl');
    const exported = run(['decisions', '--config', join(dir, 'sy.yaml'), '--export', out]);
    expect(exported.status, exported.stderr).toBe(0);
    expect(exported.stderr).toMatch(new RegExp(`wrote ${pairs.length - 1} rows \\(${pairs.length - 1} requests with feedback\\)`));
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { prompt: string; model: string; score: number; cost: number; task: string });
    expect(lines).toHaveLength(pairs.length - 1);
    for (const l of lines) {
      const row = rows.find((r) => r.prompt === l.prompt);
      expect(l.score).toBe(row?.outcomes[l.model]?.score); // the later score of the twice-scored answer
      expect(l.cost).toBeGreaterThan(0);
    }

    const summary = run(['decisions', '--config', join(dir, 'sy.yaml'), '--summary']);
    expect(summary.status, summary.stderr).toBe(0);
    expect(summary.stdout).toMatch(new RegExp(`route ${meta.models[0]?.id}: \\d+ requests \\(\\d+ answered\\), spent \\$`));
    expect(summary.stdout).toMatch(/feedback: \d+ scores, mean \d\.\d{3}/);

    const imported = run(['data', 'import', '--from', 'long', '--out', join(dir, 'mine'), out]);
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/imported 40 prompts × 4 models/);
    const trained = run(['train', '--data', join(dir, 'mine'), '--router', 'knn:encoder=hashing', '--out', join(dir, 'mine.json')]);
    expect(trained.status, trained.stderr).toBe(0);
    const routed = run(['route', '--router', join(dir, 'mine.json'), '--lambda', '0', (train[1] as (typeof train)[number]).prompt]);
    expect(routed.status, routed.stderr).toBe(0);
    expect(routed.stdout).toMatch(new RegExp(meta.models.map((m) => m.id).join('|')));
  });

});

async function feedback(client: OpenAI, requestId: string, score: number): Promise<void> {
  const r = await client.post('/feedback', { body: { request_id: requestId, score } });
  expect(r).toMatchObject({ recorded: true });
}
