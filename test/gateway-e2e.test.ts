/**
 * The gateway end to end with real processes: the official `openai` SDK → two `switchyard serve`
 * replicas sharing a `redis-server` → `switchyard replay-upstream` processes serving recorded answers
 * (one of them injecting faults). Routers are trained by `switchyard train`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDataset } from '../src/data/write.js';
import { hashKey } from '../src/gateway/auth.js';
import { routerFromArtifact } from '../src/routers/registry.js';
import { readStream } from './helpers/streams.js';
import { CLI, hasRedis, startCli, startRedis, type Running } from './helpers/processes.js';
import { syntheticRows } from './helpers/synthetic.js';

if (!hasRedis) console.warn('SKIP: redis-server is not installed (apt-get install -y redis-server), so the multi-replica gateway tests cannot run');

describe.skipIf(!hasRedis)('gateway processes (SDK → 2 replicas + Redis → replay-upstream processes)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-e2e-'));
  const { meta, rows } = syntheticRows({ prompts: 200, seed: 21 });
  writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] recorded answer to ${r.id}` }))));
  const test = rows.filter((r) => r.split === 'test');
  const running: Running[] = [];
  let redisURL = '';
  let goodURL = '';
  let faultyURL = '';
  let broken = '';
  let healthyPrompt = '';
  let healthyChoice = '';
  let brokenPrompt = '';
  const keys = { main: 'sk-main-key', tiny: 'sk-tiny-budget' };

  const train = (router: string, out: string): void => {
    const r = spawnSync(process.execPath, [CLI, 'train', '--data', dir, '--router', router, '--out', out], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  };
  const writeConfig = (name: string, faults: boolean, extra: Record<string, unknown> = {}): string => {
    const models = Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: faults && m.id === broken ? faultyURL : goodURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }]));
    const config = {
      server: { port: 0 },
      retries: 1,
      store: { backend: 'redis', url: redisURL, keyPrefix: `e2e-${name}:`, syncMs: 100 },
      auth: { keys: [{ name: 'main', sha256: hashKey(keys.main) }, { name: 'tiny', sha256: hashKey(keys.tiny), dailyBudgetUsd: 1e-9 }] },
      models,
      routes: { auto: { router: 'knn.json', lambda: 0.5 }, learn: { router: 'ucb1.json', lambda: 0 } },
      ...extra,
    };
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, JSON.stringify(config, null, 1));
    return file;
  };
  const serve = async (config: string): Promise<OpenAI> => {
    const gw = await startCli(['serve', '--config', config]);
    running.push(gw);
    return new OpenAI({ baseURL: gw.ready, apiKey: keys.main, maxRetries: 0 });
  };
  const ask = async (client: OpenAI, model: string, content: string): Promise<{ model: string; id: string; text: string }> => {
    const { data, response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content }] }).withResponse();
    return { model: response.headers.get('x-switchyard-model') as string, id: response.headers.get('x-request-id') as string, text: data.choices[0]?.message.content ?? '' };
  };
  const feedback = async (client: OpenAI, id: string, score: number): Promise<unknown> =>
    (await fetch(`${client.baseURL}/feedback`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.main}` }, body: JSON.stringify({ request_id: id, score }) })).json();

  beforeAll(async () => {
    const redis = await startRedis();
    running.push(redis);
    redisURL = redis.ready;
    train('knn:encoder=hashing:dim=256', join(dir, 'knn.json'));
    train('ucb1:bootstrap=false', join(dir, 'ucb1.json'));
    // the model the trained router picks for one prompt will be served by a failing upstream
    const knn = await routerFromArtifact(JSON.parse(readFileSync(join(dir, 'knn.json'), 'utf8')));
    const choices = await knn.route(test.map((r) => ({ text: r.prompt })), { lambda: 0.5 });
    broken = choices[0]?.models[0] as string;
    brokenPrompt = test[0]?.prompt as string;
    const k = choices.findIndex((d) => d.models[0] !== broken);
    healthyPrompt = test[k]?.prompt as string;
    healthyChoice = choices[k]?.models[0] as string;
    const good = await startCli(['replay-upstream', '--data', dir, '--port', '0']);
    const faulty = await startCli(['replay-upstream', '--data', dir, '--port', '0', '--fault-rate', '1', '--faults', '503']);
    running.push(good, faulty);
    goodURL = good.ready;
    faultyURL = faulty.ready;
  }, 120_000);

  afterAll(async () => {
    for (const r of running.reverse()) await r.stop();
  });

  it('routes by the trained router, streams, falls back on a failing upstream and refuses an exhausted budget', async () => {
    const client = await serve(writeConfig('a', true));
    const healthy = await ask(client, 'auto', healthyPrompt);
    expect(healthy.model).toBe(healthyChoice);
    expect(healthy.text).toMatch(new RegExp(`^\\[${healthyChoice}\\] recorded answer to `));

    const streamed = await readStream(await client.chat.completions.create({ model: 'auto', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: healthyPrompt }] }));
    expect(streamed.text).toBe(healthy.text);
    expect(streamed.completionTokens).toBeGreaterThan(0);

    const { response } = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: brokenPrompt }] }).withResponse();
    expect(response.headers.get('x-switchyard-fallback-from')).toBe(broken);
    expect(response.headers.get('x-switchyard-model')).not.toBe(broken);

    const tiny = new OpenAI({ baseURL: client.baseURL, apiKey: keys.tiny, maxRetries: 0 });
    await ask(tiny, 'auto', healthyPrompt); // spends more than the budget
    const refused = await tiny.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: healthyPrompt }] }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.RateLimitError);
    expect((refused as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('budget_exceeded');
  }, 60_000);

  it('feedback sent to one replica changes the other replica\'s choices, and a restart keeps what they learned', async () => {
    const config = writeConfig('learn', false);
    const a = await serve(config);
    const b = await serve(config);
    const prompt = test[5]?.prompt as string;
    const seen: string[] = [];
    for (let k = 0; k < meta.models.length * 2; k++) {
      const [served, other] = k % 2 === 0 ? [a, b] : [b, a];
      const r = await ask(served, 'learn', prompt);
      seen.push(r.model);
      // feedback reaches the replica that did not serve the request; it learns through Redis
      expect(await feedback(other, r.id, r.model === 'small-3' ? 1 : 0)).toMatchObject({ recorded: true, router_updated: true });
      await new Promise((done) => setTimeout(done, 600)); // the serving replica applies it within its sync interval (100 ms), with room for a slow machine
    }
    expect(new Set(seen).size, seen.join()).toBe(meta.models.length); // untried arms first, on either replica
    expect((await ask(b, 'learn', prompt)).model).toBe('small-3');
    await new Promise((r) => setTimeout(r, 600)); // A applies B's log within its sync interval
    expect((await ask(a, 'learn', prompt)).model).toBe('small-3');
    for (const r of running.splice(-2)) await r.stop();
    const c = await serve(config);
    expect((await ask(c, 'learn', prompt)).model).toBe('small-3');
  }, 60_000);

  it('replicas share cached answers and stored Responses through Redis', async () => {
    const config = writeConfig('shared', false, { cache: { enabled: true } });
    const [a, b] = [await serve(config), await serve(config)];
    const prompt = test[5]?.prompt as string;
    const first = await a.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }).withResponse();
    expect(first.response.headers.get('x-switchyard-cache')).toBe('miss');
    const other = await b.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }).withResponse();
    expect(other.response.headers.get('x-switchyard-cache')).toBe('hit'); // the answer replica a kept
    expect(other.data.choices[0]?.message.content).toBe(first.data.choices[0]?.message.content);
    // a response stored by one replica is found by the other (a client's next turn may land there)
    const turn = await a.responses.create({ model: 'auto', input: test[6]?.prompt as string });
    expect((await b.responses.retrieve(turn.id)).output_text).toBe(turn.output_text);
    const next = await b.responses.create({ model: 'auto', previous_response_id: turn.id, input: test[7]?.prompt as string }); // replay answers a conversation by its last user turn
    expect(next.previous_response_id).toBe(turn.id);
    expect(next.output_text).toMatch(new RegExp(`recorded answer to ${test[7]?.id}$`));
  }, 60_000);
});
