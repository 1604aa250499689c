/** The gateway's CLI surfaces: decisions, keys hash, serve's config errors. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/gateway/store/sqlite-store.js';
import { freePort, startCli } from './helpers/processes.js';
import { syntheticDir } from './helpers/synthetic.js';

const CLI = resolve('dist/src/cli/main.js');
const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
/** The CLI without blocking this process (a server it calls may live here). */
const runAsync = (args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((done) => {
    const p = spawn(process.execPath, [CLI, ...args]);
    let [stdout, stderr] = ['', ''];
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    p.on('close', (status) => done({ status, stdout, stderr }));
  });

describe('switchyard decisions / keys / serve', () => {
  it('names the setting when a server cannot listen: a port in use (serve, replay-upstream)', async () => {
    const { createServer } = await import('node:net');
    const taken = createServer();
    const port = await freePort();
    await new Promise<void>((r) => taken.listen(port, '127.0.0.1', r));
    try {
      const dir = mkdtempSync(join(tmpdir(), 'sy-port-'));
      writeFileSync(join(dir, 'sy.yaml'), `server: { port: ${port} }\nstore: { path: ":memory:" }\nmodels:\n  big: { baseURL: "http://127.0.0.1:1/v1", inputPricePerMTok: 1, outputPricePerMTok: 1 }\n`);
      const serve = await runAsync(['serve', '--config', join(dir, 'sy.yaml')]);
      expect(serve.status).toBe(2);
      expect(serve.stderr).toContain(`server.port: 127.0.0.1:${port} is already in use`);
      expect(serve.stderr).not.toContain('Unhandled');
      const upstream = await runAsync(['replay-upstream', '--data', syntheticDir({ answers: true }), '--port', String(port)]);
      expect(upstream.status).toBe(2);
      expect(upstream.stderr).toContain(`--port: 127.0.0.1:${port} is already in use`);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  it('lists recorded decisions from the configured store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-dec-'));
    const store = new SqliteStore(join(dir, 'gw.db'));
    await store.recordDecision({ requestId: 'req_1', time: Date.parse('2026-11-22T10:00:00Z'), route: 'auto', keyId: null, lambda: 0.3, chosen: 'big', answered: 'small', reason: 'knn: big predicted quality 0.9', candidates: [], costUsd: 0.0012, latencyMs: 321.5, status: 200, prompt: null });
    await store.close();
    writeFileSync(join(dir, 'sy.yaml'), 'store: { path: gw.db }\nmodels:\n  big: { baseURL: "http://127.0.0.1:1/v1", inputPricePerMTok: 1, outputPricePerMTok: 1 }\n');
    const r = run(['decisions', '--config', join(dir, 'sy.yaml')]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/req_1\s+auto\s+big → small\s+200\s+\$1\.20e-3\s+321\.5 ms/);
    const j = JSON.parse(run(['decisions', '--config', join(dir, 'sy.yaml'), '--json']).stdout);
    expect(j[0]).toMatchObject({ requestId: 'req_1', answered: 'small' });
    expect(run(['decisions', '--config', join(dir, 'sy.yaml'), '--since', 'yesterday']).stderr).toMatch(/--since: expected a date/);
  });

  it('sums spend per API key and per answering model (decisions --summary --by key|model)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-spend-'));
    const store = new SqliteStore(join(dir, 'gw.db'));
    const at = (requestId: string, keyId: string | null, route: string, answered: string | null, costUsd: number, status = 200, tags?: Record<string, string>) => store.recordDecision({ requestId, time: Date.parse('2026-11-22T10:00:00Z'), route, keyId, lambda: 0.5, chosen: answered ?? 'big', answered, reason: 'r', candidates: [], costUsd, latencyMs: 10, status, prompt: null, ...(tags ? { tags } : {}) });
    await at('req_1', 'search', 'auto', 'big', 0.03, 200, { user: 'ana', feature: 'qa' });
    await at('req_2', 'search', 'cheap', 'small', 0.001, 200, { user: 'ben', feature: 'qa' });
    await at('req_3', 'support', 'auto', 'small', 0.002, 200, { user: 'ana' });
    await at('req_4', 'support', 'auto', null, 0, 502);
    await store.close();
    writeFileSync(join(dir, 'sy.yaml'), 'store: { path: gw.db }\nmodels:\n  big: { baseURL: "http://127.0.0.1:1/v1", inputPricePerMTok: 1, outputPricePerMTok: 1 }\n');
    const byKey = run(['decisions', '--config', join(dir, 'sy.yaml'), '--summary', '--by', 'key']);
    expect(byKey.status, byKey.stderr).toBe(0);
    const lines = byKey.stdout.trim().split('\n');
    expect(lines[2]).toMatch(/^search\s+2\s+2\s+\$3\.10e-2\s+93\.9%\s+auto \$3\.00e-2, cheap \$1\.00e-3$/);
    expect(lines[3]).toMatch(/^support\s+2\s+1\s+\$2\.00e-3\s+6\.1%\s+auto \$2\.00e-3$/);
    const byModel = JSON.parse(run(['decisions', '--config', join(dir, 'sy.yaml'), '--summary', '--by', 'model', '--json']).stdout) as Array<{ group: string; spentUsd: number }>;
    expect(byModel.map((r) => [r.group, Number(r.spentUsd.toFixed(6))])).toEqual([['big', 0.03], ['small', 0.003], ['(none)', 0]]);
    const byUser = JSON.parse(run(['decisions', '--config', join(dir, 'sy.yaml'), '--summary', '--by', 'user', '--json']).stdout) as Array<{ group: string; spentUsd: number; requests: number }>;
    expect(byUser.map((r) => [r.group, Number(r.spentUsd.toFixed(6)), r.requests])).toEqual([['ana', 0.032, 2], ['ben', 0.001, 1], ['(untagged)', 0, 1]]);
    expect(run(['decisions', '--config', join(dir, 'sy.yaml'), '--summary', '--by', 'tag:feature']).stdout).toMatch(/^qa\s+2\s+2\s+\$3\.10e-2/m);
    // a route with a shadow router: the summary compares the two
    const shadowed = new SqliteStore(join(dir, 'gw.db'));
    const candidates = [{ model: 'big', quality: 0.9, cost: 0.01 }, { model: 'small', quality: 0.7, cost: 0.001 }];
    for (const [id, chosen] of [['s1', 'big'], ['s2', 'small'], ['s3', 'big']] as const) {
      await shadowed.recordDecision({ requestId: id, time: Date.parse('2026-11-22T11:00:00Z'), route: 'canary', keyId: null, lambda: 0.5, chosen, answered: chosen, reason: 'r', candidates, costUsd: 0.001, latencyMs: 5, status: 200, prompt: null, shadow: { model: 'small' } });
    }
    await shadowed.close();
    const summary = run(['decisions', '--config', join(dir, 'sy.yaml'), '--summary', '--route', 'canary']).stdout;
    expect(summary).toMatch(/shadow router: agrees on 33% of 3 requests; its choices: small 100%/);
    expect(summary).toMatch(/by the live router's predictions, on 3: cost \$2\.10e-2 live → \$3\.00e-3 shadow, quality 0\.833 → 0\.700/);
    // a route with a canary router: compared by outcomes (cost, feedback)
    const canaried = new SqliteStore(join(dir, 'gw.db'));
    for (const [id, canary, model, cost, score] of [['c1', false, 'big', 0.01, 1], ['c2', false, 'big', 0.012, 0.8], ['c3', true, 'small', 0.001, 0.5], ['c4', true, 'small', 0.002, 0.7]] as const) {
      await canaried.recordDecision({ requestId: id, time: Date.parse('2026-11-22T12:00:00Z'), route: 'trial', keyId: null, lambda: 0.5, chosen: model, answered: model, reason: 'r', candidates: [], costUsd: cost, latencyMs: 5, status: 200, prompt: null, ...(canary ? { canary } : {}) });
      await canaried.recordFeedback(id, score, Date.parse('2026-11-22T12:01:00Z'));
    }
    await canaried.close();
    const trial = run(['decisions', '--config', join(dir, 'sy.yaml'), '--summary', '--route', 'trial']).stdout;
    expect(trial).toMatch(/canary router \(by outcomes\):\n\s+live  : 2 requests, mean cost \$1\.10e-2, 2 scores \(mean 0\.900\); big 100%\n\s+canary: 2 requests, mean cost \$1\.50e-3, 2 scores \(mean 0\.600\); small 100%/);
    expect(trial).toMatch(/canary − live: score -0\.300 \[-0\.\d+, -?0\.\d+\], cost \$-9\.50e-3 \[/);
    expect(run(['decisions', '--config', join(dir, 'sy.yaml'), '--summary', '--by', 'team']).stderr).toMatch(/--by: expected route, key, model, user or tag:NAME, got "team"/);
  });

  it('hashes keys, and serve lists every config problem with its path', () => {
    expect(run(['keys', 'hash', 'sk-abc']).stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    const made = run(['keys', 'new', '--name', 'team-a']);
    const key = made.stdout.trim();
    expect(key).toMatch(/^sk-sy-[\w-]{43}$/);
    expect(made.stderr).toContain(`- { name: team-a, sha256: ${run(['keys', 'hash', key]).stdout.trim()} }`);
    expect(run(['keys', 'new', '--name', 'team-a']).stdout.trim()).not.toBe(key);
    expect(run(['keys', 'new', '--name', 'a b']).stderr).toMatch(/--name: letters, digits/);
    const dir = mkdtempSync(join(tmpdir(), 'sy-cfg-'));
    writeFileSync(join(dir, 'bad.yaml'), 'models:\n  m: { baseURL: nope, inputPricePerMTok: 1, outputPricePerMTok: 1 }\nroutes:\n  auto: { router: r.json, lambda: 1.5 }\nauth:\n  keys: [{ name: a, sha256: xyz }]\n');
    const r = run(['serve', '--config', join(dir, 'bad.yaml')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/models\.m\.baseURL/);
    expect(r.stderr).toMatch(/routes\.auto\.lambda/);
    expect(r.stderr).toMatch(/auth\.keys\.0\.sha256/);
    // a misspelt key is an error naming the key it was probably meant to be, not silently ignored
    writeFileSync(join(dir, 'typo.yaml'), 'server: { hots: "0.0.0.0" }\nstroe: { path: x.db }\nmodels:\n  m: { baseURL: "http://127.0.0.1:9/v1", inputPricePerMTok: 1, outputPricePerMTok: 1, apikeyEnv: KEY }\n');
    const typo = run(['serve', '--config', join(dir, 'typo.yaml'), '--check']);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('server.hots: unknown key (did you mean "host"?)');
    expect(typo.stderr).toContain('stroe: unknown key (did you mean "store"?)');
    expect(typo.stderr).toContain('models.m.apikeyEnv: unknown key (did you mean "apiKeyEnv"?)');
  });

  it('serve --check loads everything as serving would, reports it and exits', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-check-'));
    writeFileSync(join(dir, 'sy.yaml'), 'store: { path: gw.db }\nmodels:\n  m: { baseURL: "http://127.0.0.1:9/v1", inputPricePerMTok: 1, outputPricePerMTok: 2 }\n');
    const ok = run(['serve', '--config', join(dir, 'sy.yaml'), '--check']);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^config OK: 1 models, 0 routes, store sqlite at .*gw\.db, no API keys \(open to every caller\)/);
    expect(ok.stdout).toMatch(/m: openai-compatible at http:\/\/127\.0\.0\.1:9\/v1, \$1 \/ \$2 per M tokens/);
    expect(ok.stderr).toBe('');
    writeFileSync(join(dir, 'keyed.yaml'), 'store: { path: gw.db }\nmodels:\n  m: { baseURL: "http://127.0.0.1:9/v1", apiKeyEnv: SY_TEST_UNSET_KEY, inputPricePerMTok: 1, outputPricePerMTok: 2, deployments: [{ baseURL: "http://127.0.0.1:9/v1" }, { baseURL: "http://127.0.0.1:8/v1", headerEnv: { api-key: SY_TEST_UNSET_AZURE } }] }\n');
    const keyed = run(['serve', '--config', join(dir, 'keyed.yaml'), '--check']);
    expect(keyed.status, keyed.stderr).toBe(0); // a warning, not an error: the variable may be set where it runs
    expect(keyed.stderr).toMatch(/models\.m\.apiKeyEnv: SY_TEST_UNSET_KEY is not set/);
    expect(keyed.stderr).toMatch(/models\.m\.deployments\.1\.headerEnv\.api-key: SY_TEST_UNSET_AZURE is not set/);
    // what a model cannot do (its provider's limits and its own supports)
    writeFileSync(join(dir, 'caps.yaml'), 'store: { path: gw.db }\nmodels:\n  c: { provider: anthropic, baseURL: "http://127.0.0.1:9/v1", inputPricePerMTok: 3, outputPricePerMTok: 15, maxOutputTokens: 8192, dropParams: [seed], supports: { vision: false } }\n');
    const caps = run(['serve', '--config', join(dir, 'caps.yaml'), '--check']);
    expect(caps.status, caps.stderr).toBe(0);
    expect(caps.stdout).toMatch(/c: anthropic at .*, at most 8192 tokens out, calls without seed, without multiple_choices, logprobs, vision/);
    // a route whose router was trained at other prices: it routes at the config's, and says so
    const trained = run(['train', '--data', syntheticDir({ prompts: 80, models: 2 }), '--router', 'best-single', '--out', join(dir, 'best.json')]);
    expect(trained.status, trained.stderr).toBe(0);
    writeFileSync(join(dir, 'priced.yaml'), 'store: { path: gw.db }\nmodels:\n  big-model: { baseURL: "http://127.0.0.1:9/v1", inputPricePerMTok: 1, outputPricePerMTok: 3 }\n  small-1: { baseURL: "http://127.0.0.1:9/v1", inputPricePerMTok: 0.2, outputPricePerMTok: 0.4, audioInputPricePerMTok: 3, serviceTiers: { priority: 2 } }\nroutes:\n  auto: { router: best.json }\n  kept: { router: best.json, prices: router }\n');
    const priced = run(['serve', '--config', join(dir, 'priced.yaml'), '--check']);
    expect(priced.status, priced.stderr).toBe(0);
    expect(priced.stdout).toMatch(/auto: .*best\.json, λ 0\.5, at the config's prices \(trained with big-model \$10 \/ \$30\)/);
    expect(priced.stdout).toMatch(/kept: .*best\.json, λ 0\.5, at the prices it was trained with/);
    expect(priced.stderr).toMatch(/routes\.auto: its router was trained at other prices for big-model; .*retrain with switchyard train … --prices/);
    expect(priced.stderr).not.toMatch(/routes\.kept/);
    expect(priced.stdout).toMatch(/small-1: .*\$0\.2 \/ \$0\.4 per M tokens in \/ out, audio \$3 \/ \$0\.4, priority ×2/); // audio prices, and the tiers the config prices (flex ×0.5, the default, goes unsaid)
    expect(priced.stdout).not.toMatch(/flex/);
    writeFileSync(join(dir, 'routed.yaml'), 'models:\n  m: { baseURL: "http://127.0.0.1:9/v1", inputPricePerMTok: 1, outputPricePerMTok: 2 }\nroutes:\n  auto: { router: missing.json }\n');
    const bad = run(['serve', '--config', join(dir, 'routed.yaml'), '--check']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/missing\.json: cannot read router artifact/);
  });

  it('serve --check reports records a stopped gateway left in the outbox; serve writes them to the store at start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-outbox-'));
    writeFileSync(join(dir, 'sy.yaml'), 'server: { port: 0 }\nstore: { path: gw.db, outbox: unwritten.jsonl }\nmodels:\n  m: { baseURL: "http://127.0.0.1:9/v1", inputPricePerMTok: 1, outputPricePerMTok: 2 }\n');
    const decision = { requestId: 'req_outbox', time: Date.parse('2026-11-22T10:00:00Z'), route: 'auto', keyId: null, lambda: 1, chosen: 'm', answered: 'm', reason: 'model named directly', candidates: [], costUsd: 0.002, latencyMs: 50, status: 200, prompt: null };
    writeFileSync(join(dir, 'unwritten.jsonl'), `${JSON.stringify({ op: 'recordDecision', decision })}\n`);
    const check = run(['serve', '--config', join(dir, 'sy.yaml'), '--check']);
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/1 records in the outbox .*unwritten\.jsonl and its journals \(written at the next start\)/);
    expect(run(['decisions', '--config', join(dir, 'sy.yaml')]).stdout).not.toMatch(/req_outbox/); // --check only looked
    const gw = await startCli(['serve', '--config', join(dir, 'sy.yaml')]);
    await gw.stop();
    expect(existsSync(join(dir, 'unwritten.jsonl'))).toBe(false);
    const listed = run(['decisions', '--config', join(dir, 'sy.yaml')]);
    expect(listed.stdout, `${listed.stderr}\n${gw.output()}`).toMatch(/req_outbox\s+auto\s+m\s+200/);
  });

  it('serve --check --probe asks every endpoint for its model list with its key, and fails naming those that do not answer', async () => {
    const data = syntheticDir({ prompts: 20, answers: true });
    const upstream = await startCli(['replay-upstream', '--data', data, '--port', '0']);
    try {
      const dir = mkdtempSync(join(tmpdir(), 'sy-probe-'));
      writeFileSync(join(dir, 'ok.yaml'), `store: { path: gw.db }\nmodels:\n  m: { baseURL: "${upstream.ready}", inputPricePerMTok: 1, outputPricePerMTok: 2 }\n`);
      const ok = await runAsync(['serve', '--config', join(dir, 'ok.yaml'), '--check', '--probe']);
      expect(ok.status, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/ok {3}m: 200 \(http:\/\/127\.0\.0\.1:\d+\/v1\/models\)/);
      writeFileSync(join(dir, 'bad.yaml'), `store: { path: gw.db }\nmodels:\n  m: { baseURL: "${upstream.ready}", inputPricePerMTok: 1, outputPricePerMTok: 2 }\n  gone: { baseURL: "http://127.0.0.1:${await freePort()}/v1", inputPricePerMTok: 1, outputPricePerMTok: 2 }\n`);
      const bad = await runAsync(['serve', '--config', join(dir, 'bad.yaml'), '--check', '--probe']);
      expect(bad.status).toBe(2);
      expect(bad.stdout).toMatch(/FAIL gone: unreachable: ECONNREFUSED/);
      expect(bad.stderr).toMatch(/--probe: 1 of 2 endpoints did not answer: gone/);
      expect((await runAsync(['serve', '--config', join(dir, 'ok.yaml'), '--probe'])).stderr).toMatch(/--probe goes with --check/);
    } finally {
      await upstream.stop();
    }
  });

  it('stops with a clear error when the configured Redis cannot be reached', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-redis-'));
    writeFileSync(join(dir, 'sy.yaml'), 'store: { backend: redis, url: "redis://:s3cret-pass@127.0.0.1:1" }\nmodels:\n  m: { baseURL: "http://127.0.0.1:9/v1", inputPricePerMTok: 1, outputPricePerMTok: 1 }\n');
    const r = run(['serve', '--config', join(dir, 'sy.yaml')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/store\.url: cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1/);
    expect(r.stderr).not.toContain('s3cret-pass'); // the URL's password is never printed
    writeFileSync(join(dir, 'bad.yaml'), 'store: { backend: redis, url: "http://x" }\nmodels:\n  m: { baseURL: "http://127.0.0.1:9/v1", inputPricePerMTok: 1, outputPricePerMTok: 1 }\n');
    expect(run(['serve', '--config', join(dir, 'bad.yaml')]).stderr).toMatch(/store\.url/);
  });
});

describe('switchyard serve: SIGHUP reloads routes and keys', () => {
  it('swaps in new routes and keys without a restart, keeps the running config when the new one does not load, and says what needs a restart', async () => {
    const data = syntheticDir({ prompts: 120, answers: true });
    const dir = mkdtempSync(join(tmpdir(), 'sy-hup-'));
    const trained = run(['train', '--data', data, '--router', 'linear:encoder=hashing:dim=256', '--out', join(dir, 'r.json')]);
    expect(trained.status, trained.stderr).toBe(0);
    const models = ['big-model', 'small-1', 'small-2', 'small-3'].map((m) => `  ${m}: { provider: replay, data: ${JSON.stringify(data)}, inputPricePerMTok: 1, outputPricePerMTok: 2 }`).join('\n');
    const file = join(dir, 'sy.yaml');
    const write = (routes: string, extra = '', price = 2): void => writeFileSync(file, `server: { port: 0 }\nstore: { path: gw.db }\nmodels:\n${models.replaceAll('outputPricePerMTok: 2', `outputPricePerMTok: ${price}`)}\nroutes:\n${routes}\n${extra}`);
    write('  a: { router: r.json, lambda: 0.5 }');
    const gw = await startCli(['serve', '--config', file]);
    try {
      const base = gw.ready.replace(/\/v1$/, '');
      const ids = async (headers: Record<string, string> = {}): Promise<string[]> => ((await (await fetch(`${base}/v1/models`, { headers })).json()) as { data: Array<{ id: string }> }).data.map((m) => m.id);
      const reloaded = async (count: number): Promise<string> => {
        gw.proc.kill('SIGHUP');
        for (let k = 0; k < 100 && (gw.output().match(/switchyard: reload/g) ?? []).length < count; k++) await new Promise((r) => setTimeout(r, 50));
        return gw.output().split('\n').filter((l) => l.startsWith('switchyard: reload')).at(-1) ?? '';
      };
      expect(await ids()).toContain('a');
      // a new route and an API key
      write('  a: { router: r.json, lambda: 0.5 }\n  b: { router: r.json, lambda: 1 }', `auth:\n  keys: [{ name: team, sha256: ${JSON.stringify(run(['keys', 'hash', 'sk-team']).stdout.trim())} }]\n`);
      expect(await reloaded(1)).toMatch(/reloaded .*sy\.yaml \(routes: a, b\)$/);
      expect(await ids()).toContain('b');
      const prompt = JSON.stringify({ model: 'b', messages: [{ role: 'user', content: 'Question 1 about nothing?' }] });
      expect((await fetch(`${base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: prompt })).status).toBe(401); // the key now applies
      // a config that does not load: the running one stays
      write('  b: { router: missing.json }');
      expect(await reloaded(2)).toMatch(/reload of .* failed, the running config stays: .*missing\.json/);
      expect(await ids({ authorization: 'Bearer sk-team' })).toEqual(expect.arrayContaining(['a', 'b']));
      // models repriced: applied; the server section needs a restart
      write('  a: { router: r.json, lambda: 0.5 }', '', 9);
      expect(await reloaded(3)).toMatch(/\(routes: a; models: ~big-model ~small-1 ~small-2 ~small-3\)$/);
      writeFileSync(file, readFileSync(file, 'utf8').replace('server: { port: 0 }', 'server: { port: 0, drainMs: 1000 }'));
      expect(await reloaded(4)).toMatch(/\(routes: a\); changes to server need a restart$/);
    } finally {
      await gw.stop();
    }
  });
});

describe('examples/local.yaml', () => {
  it('is a valid config: two replay models of routellm_gsm8k behind two routes of one router', async () => {
    const { readGatewayConfig } = await import('../src/gateway/config.js');
    const c = readGatewayConfig('examples/local.yaml');
    expect(Object.keys(c.routes)).toEqual(['auto', 'auto-cheap']);
    expect(Object.values(c.models).map((m) => [m.provider, m.data?.endsWith('shared/data/routellm_gsm8k')])).toEqual([['replay', true], ['replay', true]]);
    expect(c.routes['auto']?.router).toMatch(/out\/gsm8k-linear\.json$/);
  });
});

describe('examples/switchyard.yaml', () => {
  it('is a valid config whose prices all resolve', async () => {
    const { readGatewayConfig } = await import('../src/gateway/config.js');
    const c = readGatewayConfig('examples/switchyard.yaml');
    expect(Object.keys(c.routes)).toEqual(['auto', 'auto-cheap', 'learn']);
    for (const m of Object.values(c.models)) expect(m.inputPricePerMTok).toBeGreaterThanOrEqual(0);
    expect(c.models['gpt-4o']?.inputPricePerMTok).toBe(2.5);
  });
});
