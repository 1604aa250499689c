/**
 * Cascades through the gateway: a `cascade` route calls the cheap model first (replay-upstream:
 * recorded answers), keeps its answer when the router's judge rates it high enough, and otherwise
 * escalates to the next model — billed for every call, streamed or not, driven by the official SDK.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStream } from '../../test/helpers/streams.js';
import { syntheticAnswers, syntheticRows } from '../../test/helpers/synthetic.js';
import { loadDataset } from '../data/load.js';
import { writeDataset } from '../data/write.js';
import { CascadeRouter } from '../routers/post-generation/cascade.js';
import type { Decision } from '../spec/router.js';
import { parseGatewayConfig } from './config.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

describe('cascades in the gateway', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-cascade-'));
  const { meta, rows } = syntheticRows({ prompts: 400, seed: 5 });
  const answers = syntheticAnswers(rows, 5);
  writeDataset(dir, meta, rows, answers);
  const answerOf = (id: string, model: string): string => answers.find((a) => a.id === id && a.model === model)?.response as string;
  let upstream: ReplayUpstream;
  let gateway: Gateway;
  let client: OpenAI;
  /** A test prompt whose cascade keeps the first answer, and one whose cascade escalates. */
  const cases: { kept?: { prompt: string; id: string; d: Decision }; escalated?: { prompt: string; id: string; d: Decision } } = {};

  beforeAll(async () => {
    const matrix = loadDataset(dir);
    const router = new CascadeRouter();
    await router.fit(matrix.view('train'), { seed: 0 });
    const artifact = join(dir, 'cascade.json');
    writeFileSync(artifact, JSON.stringify(router.toArtifact()));
    for (const r of rows.filter((x) => x.split === 'test')) {
      const [d] = await router.route([{ text: r.prompt }], { lambda: 0.5 });
      if (d?.kind !== 'cascade') continue;
      const first = d.models[0] as string;
      const [rating] = await router.judgeAnswers([{ prompt: r.prompt, model: first, answer: answerOf(r.id, first) }]);
      const slot = (rating as number) >= (d.accept?.[0] as number) ? 'kept' : 'escalated';
      if (d.models.length === 2) cases[slot] ??= { prompt: r.prompt, id: r.id, d };
    }
    upstream = new ReplayUpstream(await ReplayData.load(matrix));
    const upURL = await upstream.listen();
    const models = Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: upURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }]));
    const config = parseGatewayConfig({ server: { port: 0 }, models, routes: { frugal: { router: artifact, lambda: 0.5 } } });
    gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }) });
    client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await upstream.close();
  });

  it('keeps the cheap model\'s answer when the judge rates it high enough, billing that one call', async () => {
    const c = cases.kept;
    expect(c, 'the synthetic test split has a prompt whose cascade keeps the first answer').toBeDefined();
    if (!c) return;
    const first = c.d.models[0] as string;
    const { data, response } = await client.chat.completions.create({ model: 'frugal', messages: [{ role: 'user', content: c.prompt }] }).withResponse();
    expect(response.headers.get('x-switchyard-model')).toBe(first);
    expect(response.headers.get('x-switchyard-escalated-from')).toBeNull();
    expect(data.model).toBe(first);
    expect(data.choices[0]?.message.content).toBe(answerOf(c.id, first));
    const decision = await gateway.store.getDecision(response.headers.get('x-request-id') as string);
    expect(decision?.answered).toBe(first);
    expect(decision?.costUsd).toBeGreaterThan(0);
    expect(decision?.costUsd).toBeCloseTo(Number(response.headers.get('x-switchyard-cost-usd')), 9);
    expect(decision?.reason).toMatch(/kept .*'s answer \(judged/);
    // streamed: the kept answer is sent as a stream, with usage when asked
    const read = await readStream(await client.chat.completions.create({ model: 'frugal', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: c.prompt }] }));
    expect(read.text).toBe(answerOf(c.id, first));
    expect(read.completionTokens).toBeGreaterThan(0);
  });

  it('escalates when the judge rates the cheap answer too low, billing both calls, streamed or not', async () => {
    const c = cases.escalated;
    expect(c, 'the synthetic test split has a prompt whose cascade escalates').toBeDefined();
    if (!c) return;
    const [first, last] = c.d.models as [string, string];
    const { data, response } = await client.chat.completions.create({ model: 'frugal', messages: [{ role: 'user', content: c.prompt }] }).withResponse();
    expect(response.headers.get('x-switchyard-model')).toBe(last);
    expect(response.headers.get('x-switchyard-escalated-from')).toBe(first);
    expect(data.choices[0]?.message.content).toBe(answerOf(c.id, last));
    const decision = await gateway.store.getDecision(response.headers.get('x-request-id') as string);
    expect(decision?.answered).toBe(last);
    expect(decision?.reason).toMatch(/judged [0-9.]+ < [0-9.]+; escalated to/);
    // the request paid for both answers: more than the last call alone
    const lastOnly = Number(data.usage?.prompt_tokens) * (meta.models.find((m) => m.id === last)?.inputPricePerMTok as number) / 1e6;
    expect(decision?.costUsd).toBeGreaterThan(lastOnly);
    expect(Number(response.headers.get('x-switchyard-cost-usd'))).toBeCloseTo(decision?.costUsd as number, 9);
    const read = await readStream(await client.chat.completions.create({ model: 'frugal', stream: true, messages: [{ role: 'user', content: c.prompt }] }));
    expect(read.text).toBe(answerOf(c.id, last));
    const metrics = await gateway.metrics.registry.metrics();
    expect(metrics).toContain(`switchyard_cascade_steps_total{route="frugal",model="${first}",outcome="escalated"} 2`);
  });
});
