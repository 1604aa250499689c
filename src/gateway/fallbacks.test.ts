/**
 * A model's `fallbacks`: a request naming a model that fails (a replay upstream answering 503 every
 * time) is answered by its fallbacks in order — plain and streamed, with the openai SDK — unless the
 * API key may not name them; a config naming an unknown fallback is refused with its path.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticRows } from '../../test/helpers/synthetic.js';
import { loadDataset } from '../data/load.js';
import { writeDataset } from '../data/write.js';
import { hashKey } from './auth.js';
import { GatewayConfigSchema, parseGatewayConfig } from './config.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

describe('models.X.fallbacks (openai SDK → gateway → replay-upstream)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-fallbacks-'));
  const { meta, rows } = syntheticRows({ prompts: 30 });
  writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] ${r.id}` }))));
  const [down, first, second] = meta.models.map((m) => m.id) as [string, string, string];
  const prompt = rows[0]?.prompt as string;
  let broken: ReplayUpstream;
  let working: ReplayUpstream;
  let gateway: Gateway;
  let store: SqliteStore;
  let url = '';

  beforeAll(async () => {
    const data = await ReplayData.load(loadDataset(dir));
    broken = new ReplayUpstream(data, { faultRate: 1, faults: ['503'] });
    working = new ReplayUpstream(data);
    const [brokenURL, workingURL] = [await broken.listen(), await working.listen()];
    const models = Object.fromEntries(
      meta.models.map((m) => [m.id, { baseURL: m.id === down ? brokenURL : workingURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok, ...(m.id === down ? { fallbacks: [first, second] } : {}) }]),
    );
    const config = parseGatewayConfig({ server: { port: 0 }, retries: 1, models, auth: { keys: [{ name: 'app', sha256: hashKey('sk-app') }, { name: 'only-down', sha256: hashKey('sk-only'), models: [down] }] } });
    store = new SqliteStore(':memory:');
    gateway = await Gateway.create(config, { store, logger: pino({ level: 'silent' }), sleep: async () => undefined });
    url = await gateway.listen();
  });
  afterAll(async () => {
    await gateway.close();
    await broken.close();
    await working.close();
  });

  it('answers a request naming a failing model from its first fallback, plain and streamed, and records both', async () => {
    const client = new OpenAI({ baseURL: url, apiKey: 'sk-app', maxRetries: 0 });
    const { data, response } = await client.chat.completions.create({ model: down, messages: [{ role: 'user', content: prompt }] }).withResponse();
    expect(response.headers.get('x-switchyard-model')).toBe(first);
    expect(response.headers.get('x-switchyard-fallback-from')).toBe(down);
    expect(data.model).toBe(first);
    expect(data.choices[0]?.message.content).toContain(`[${first}]`);
    const stream = await client.chat.completions.create({ model: down, stream: true, messages: [{ role: 'user', content: prompt }] });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toContain(`[${first}]`);
    const [decision] = await store.listDecisions({ limit: 1 });
    expect(decision).toMatchObject({ route: down, chosen: down, answered: first, status: 200 });
  });

  it('does not fall back to models the API key may not name', async () => {
    const client = new OpenAI({ baseURL: url, apiKey: 'sk-only', maxRetries: 0 });
    await expect(client.chat.completions.create({ model: down, messages: [{ role: 'user', content: prompt }] })).rejects.toMatchObject({ status: 502, code: 'upstream_unavailable' });
  });

  it('refuses a config whose fallbacks name an unknown model or the model itself (or a queueMs with nothing to wait under), with their paths', () => {
    const model = (fallbacks: string[]) => ({ baseURL: 'http://127.0.0.1:1/v1', inputPricePerMTok: 1, outputPricePerMTok: 1, fallbacks });
    const issues = (fallbacks: string[]) => (GatewayConfigSchema.safeParse({ models: { a: model(fallbacks) } }).error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues(['b'])).toEqual(['models.a.fallbacks.0: "b" is not a configured model']);
    expect(issues(['a'])).toEqual(['models.a.fallbacks.0: a model is not its own fallback']);
    // and queueMs without a maxInFlight to wait under would do nothing: refused too
    const queued = (extra: Record<string, unknown>) => (GatewayConfigSchema.safeParse({ models: { a: { baseURL: 'http://127.0.0.1:1/v1', inputPricePerMTok: 1, outputPricePerMTok: 1, queueMs: 500, ...extra } } }).error?.issues ?? []).map((i) => i.path.join('.'));
    expect(queued({})).toEqual(['models.a.queueMs']);
    expect(queued({ maxInFlight: 4 })).toEqual([]);
    expect(queued({ deployments: [{ baseURL: 'http://127.0.0.1:2/v1', maxInFlight: 2 }] })).toEqual([]);
  });
});
