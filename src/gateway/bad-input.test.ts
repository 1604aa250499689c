/**
 * Bad input never gets a 500 or takes the gateway down: malformed bodies and seeded random mutations
 * of valid requests, sent to every endpoint, are answered with an OpenAI-shaped 4xx error whose code
 * is documented — and the gateway answers a good request afterwards. SY_MUTATIONS=3000 SY_SEED=N
 * searches wider (9,000 across three seeds found nothing).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticRows } from '../../test/helpers/synthetic.js';
import { createRng, type Rng } from '../core/random.js';
import { buildMatrix, loadDataset } from '../data/load.js';
import { writeDataset } from '../data/write.js';
import { createRouter } from '../routers/registry.js';
import { hashKey } from './auth.js';
import { parseGatewayConfig } from './config.js';
import { HTTP_ERROR_CODES } from './openai-errors.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

const ENDPOINTS = ['/chat/completions', '/responses', '/messages', '/completions', '/messages/count_tokens', '/embeddings', '/feedback', '/admin/keys'];
const MALFORMED = ['', 'not json', '{', '[]', 'null', '42', '"text"', '{"model": 7}', '{"model": "auto", "messages": "hi"}', '{"model": "auto", "messages": []}', '{"model": "auto", "messages": [null]}', '{"model": "auto", "messages": [{"role": "user"}], "stream": "yes"}', '{"model": "auto", "messages": [{"role": "user", "content": "hi"}], "max_tokens": -1e309}', `{"a": ${'['.repeat(5000)}${']'.repeat(5000)}}`, '{"model": "\\ud800", "messages": [{"role": "user", "content": "\\u0000"}]}', '{"__proto__": {"polluted": true}, "model": "auto", "messages": [{"role": "user", "content": "x"}], "input": 3, "name": {}}'];

/** A random change to a JSON value: a field dropped, a value replaced by another type, a level of nesting added. */
function mutate(value: unknown, rng: Rng, depth = 0): unknown {
  const odd = [null, true, -1, 1e308, '', 'x'.repeat(300), [], {}, [1, 'a'], { role: 7 }];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)] as T;
  if (depth > 3 || value === null || typeof value !== 'object') return rng.next() < 0.5 ? pick(odd) : value;
  if (Array.isArray(value)) return rng.next() < 0.2 ? pick(odd) : value.map((v) => (rng.next() < 0.5 ? mutate(v, rng, depth + 1) : v));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const r = rng.next();
    if (r < 0.15) continue; // dropped
    out[k] = r < 0.6 ? mutate(v, rng, depth + 1) : v;
  }
  if (rng.next() < 0.2) out[pick(['stream', 'max_tokens', 'tools', 'n', 'input', 'request_id', 'score', 'name', 'stream_options', 'messages'])] = pick(odd);
  return out;
}

describe('bad input', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-bad-'));
  const { meta, rows } = syntheticRows({ prompts: 60 });
  writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] ${r.id}` }))));
  const prompt = (rows[0] as (typeof rows)[number]).prompt;
  let upstream: ReplayUpstream;
  let gateway: Gateway;
  let url = '';

  beforeAll(async () => {
    upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
    const upstreamURL = await upstream.listen();
    const router = createRouter('knn:encoder=hashing:dim=256');
    await router.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
    writeFileSync(join(dir, 'knn.json'), JSON.stringify(router.toArtifact()));
    const config = parseGatewayConfig({
      server: { port: 0, bodyLimitBytes: 1 << 20 },
      auth: { adminKeys: [{ name: 'ops', sha256: hashKey('sk-admin') }] },
      models: Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: upstreamURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }])),
      routes: { auto: { router: join(dir, 'knn.json'), lambda: 0.5 } },
    });
    gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }) });
    url = await gateway.listen();
  });
  afterAll(async () => {
    await gateway.close();
    await upstream.close();
  });

  const send = async (path: string, body: string, method = 'POST'): Promise<{ status: number; text: string }> => {
    const res = await fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/json', authorization: 'Bearer sk-admin' }, ...(method === 'POST' ? { body } : {}) });
    return { status: res.status, text: await res.text() };
  };
  const judge = (where: string, r: { status: number; text: string }): string | undefined => {
    if (r.status >= 500) return `${where}: ${r.status} ${r.text.slice(0, 200)}`;
    if (r.status < 400) return undefined; // a mutation that is still a valid request
    let code: unknown;
    try {
      code = (JSON.parse(r.text) as { error?: { code?: unknown }; type?: string }).error?.code;
    } catch {
      return `${where}: ${r.status} with a body that is not JSON: ${r.text.slice(0, 200)}`;
    }
    return typeof code === 'string' && code in HTTP_ERROR_CODES ? undefined : `${where}: ${r.status} with undocumented code ${String(code)}`;
  };

  it('answers malformed bodies on every endpoint with a documented 4xx', async () => {
    const problems: string[] = [];
    for (const path of ENDPOINTS) for (const body of MALFORMED) problems.push(judge(`POST ${path} ${body.slice(0, 40)}`, await send(path, body)) ?? '');
    for (const path of ['/models/%E0%A4%A', '/admin/keys/%zz', '/responses/%00', '/usage']) problems.push(judge(`GET ${path}`, await send(path, '', 'GET')) ?? '');
    expect(problems.filter(Boolean)).toEqual([]);
  });

  it('refuses a valid request with a field nested too deep (it could not be passed on), and counts no failure against the models', async () => {
    const deep = `${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`;
    const message = `[{"role":"user","content":${JSON.stringify(prompt)}}]`;
    const bodies: Array<[string, string]> = [
      ['/chat/completions', `{"model":"auto","messages":${message},"tools":[{"type":"function","function":{"name":"f","parameters":${deep}}}]}`],
      ['/chat/completions', `{"model":"auto","messages":${message},"metadata":${deep}}`],
      ['/responses', `{"model":"auto","input":${JSON.stringify(prompt)},"text":${deep}}`],
      ['/messages', `{"model":"auto","max_tokens":10,"messages":${message},"metadata":${deep}}`],
    ];
    for (let k = 0; k < 3; k++) {
      for (const [path, body] of bodies) {
        const r = await send(path, body);
        expect(r.status, `${path} ${r.text.slice(0, 200)}`).toBe(400);
        expect(r.text).toMatch(/"(tools|metadata|text): nested deeper than 64 levels/);
      }
    }
    const metrics = await (await fetch(url.replace(/\/v1$/, '/metrics'))).text();
    expect(metrics.match(/^switchyard_circuit_state\{[^}]*\} (\d)/gm)?.every((l) => l.endsWith(' 0'))).toBe(true); // every circuit closed
    expect((await send('/chat/completions', JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: prompt }], tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'object', properties: { b: { type: 'string' } } } } } } }] }))).status).toBe(200);
  });

  it('answers 300 seeded random mutations of valid requests without a 500, then serves a good request', async () => {
    const rng = createRng(Number(process.env["SY_SEED"] ?? 2026));
    const valid: Record<string, Record<string, unknown>> = {
      '/chat/completions': { model: 'auto', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: prompt }], max_tokens: 50, stream: false, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }] },
      '/responses': { model: 'auto', input: [{ role: 'user', content: [{ type: 'input_text', text: prompt }] }], instructions: 'be brief' },
      '/messages': { model: 'auto', max_tokens: 50, messages: [{ role: 'user', content: [{ type: 'text', text: prompt }] }], system: 'be brief' },
      '/completions': { model: 'auto', prompt, max_tokens: 20 },
      '/feedback': { request_id: 'req_x', score: 0.5 },
      '/admin/keys': { name: 'k', daily_budget_usd: 1, models: ['auto'] },
    };
    const problems: string[] = [];
    for (let k = 0; k < Number(process.env["SY_MUTATIONS"] ?? 300); k++) {
      const path = Object.keys(valid)[k % 6] as string;
      const body = JSON.stringify(mutate(valid[path], rng));
      problems.push(judge(`POST ${path} ${body.slice(0, 120)}`, await send(path, body)) ?? '');
    }
    expect(problems.filter(Boolean)).toEqual([]);
    // keys a mutation made through the admin API would close the gateway to keyless calls: revoke them
    const made = JSON.parse((await send('/admin/keys', '', 'GET')).text) as { data: Array<{ name: string }> };
    for (const k of made.data) expect((await send(`/admin/keys/${encodeURIComponent(k.name)}`, '', 'DELETE')).status).toBe(200);
    const ok = await send('/chat/completions', JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: prompt }] }));
    expect(ok.status).toBe(200);
  });
});
