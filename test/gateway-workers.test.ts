/**
 * `server.workers`: `switchyard serve` as a supervisor of two gateway processes on one port and one
 * SQLite file (created by both at once), driven by the official openai SDK (a fresh connection per
 * request, so the supervisor hands them to both workers) against a replay upstream: the workers share
 * /metrics, rate limits and feedback; a worker that dies is replaced; SIGHUP and SIGTERM reach every worker.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../src/gateway/auth.js';
import { ReplayData } from '../src/gateway/replay-upstream/replay-data.js';
import { ReplayUpstream } from '../src/gateway/replay-upstream/server.js';
import { SqliteStore } from '../src/gateway/store/sqlite-store.js';
import { buildMatrix, loadDataset } from '../src/data/load.js';
import { createRouter } from '../src/routers/registry.js';
import { writeDataset } from '../src/data/write.js';
import { fitKnnRoute } from './helpers/fitted-router.js';
import { CLI, freePort, startCli, startProcess, type Running } from './helpers/processes.js';
import { hasOpenssl, testPki } from './helpers/tls.js';
import { syntheticRows } from './helpers/synthetic.js';
import { waitFor } from './helpers/wait.js';

/** `use` on a connection pool of its own, closed after: each request a new connection, as many clients' requests arrive. */
async function onOwnConnection<T>(use: (dispatcher: Agent) => Promise<T>, options: Agent.Options = {}): Promise<T> {
  const dispatcher = new Agent(options);
  try {
    return await use(dispatcher);
  } finally {
    await dispatcher.close();
  }
}

describe('serve with server.workers: 2 (one supervisor, two gateway processes, one SQLite file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-workers-'));
  const { meta, rows } = syntheticRows({ prompts: 60 });
  const prompt = (rows.find((r) => r.split === 'test') as (typeof rows)[number]).prompt;
  let upstream: ReplayUpstream;
  let gateway: Running;
  let url = '';
  const db = join(dir, 'sy.db');
  const config = join(dir, 'sy.yaml');

  /** A request on a connection of its own. */
  const fresh = <T>(use: (client: OpenAI) => Promise<T>, apiKey = 'sk-open'): Promise<T> => onOwnConnection((dispatcher) => use(new OpenAI({ baseURL: url, apiKey, maxRetries: 0, fetchOptions: { dispatcher } as never })));
  const ask = (apiKey = 'sk-open') => fresh((c) => c.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }).withResponse(), apiKey);
  const get = (path: string): Promise<string> => onOwnConnection(async (dispatcher) => (await undiciFetch(new URL(path, url.replace(/\/v1$/, '/')), { dispatcher })).text());
  const total = (metrics: string, name: string): number => [...metrics.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))].reduce((a, m) => a + Number(m[1]), 0);

  beforeAll(async () => {
    writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] ${r.id}` }))));
    upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
    const upstreamURL = await upstream.listen();
    const { artifact } = await fitKnnRoute(meta, rows, dir, prompt);
    const bandit = createRouter('ucb1:bootstrap=false'); // cold: every arm is tried, then the scores decide
    await bandit.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
    writeFileSync(join(dir, 'ucb1.json'), JSON.stringify(bandit.toArtifact()));
    const models = meta.models.map((m) => `  ${m.id}: { baseURL: "${upstreamURL}", inputPricePerMTok: ${m.inputPricePerMTok}, outputPricePerMTok: ${m.outputPricePerMTok} }`).join('\n');
    const keys = [`    - { name: open, sha256: "${hashKey('sk-open')}" }`, `    - { name: limited, sha256: "${hashKey('sk-limited')}", requestsPerMinute: 6 }`].join('\n');
    writeFileSync(config, `server: { port: 0, workers: 2 }\nstore: { path: ${db}, syncMs: 100 }\nauth:\n  keys:\n${keys}\nmodels:\n${models}\nroutes:\n  auto: { router: ${artifact}, lambda: 0.5 }\n  learn: { router: ${join(dir, 'ucb1.json')}, lambda: 0 }\n`);
    gateway = await startCli(['serve', '--config', config]);
    url = gateway.ready;
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  it('serves from both workers, and any of them answers /metrics for both', async () => {
    const workers = new Set<number>();
    for (let k = 0; k < 10 && workers.size < 2; k++) workers.add((JSON.parse(await get('/health')) as { worker: number }).worker);
    expect([...workers].sort()).toEqual([1, 2]);
    const ids: string[] = [];
    for (let k = 0; k < 12; k++) {
      const r = await ask();
      expect(r.response.status).toBe(200);
      ids.push(r.response.headers.get('x-request-id') as string);
    }
    // each scrape lands on one worker; every one counts all 12 requests (a worker's own count would be ~6),
    // once the last request is counted (a worker counts it just after its answer is sent)
    await waitFor(async () => total(await get('/metrics'), 'switchyard_requests_total') === 12, 'the last request to be counted', 5000, 20);
    for (let k = 0; k < 4; k++) {
      const metrics = await get('/metrics');
      expect(total(metrics, 'switchyard_requests_total')).toBe(12);
      expect(metrics).toMatch(/^switchyard_workers 2$/m);
    }
    // the Responses API (which answers through the worker's own chat endpoint): a stored response is read back on either worker
    for (let k = 0; k < 2; k++) {
      const made = await fresh((c) => c.responses.create({ model: 'auto', input: prompt }));
      expect((await fresh((c) => c.responses.retrieve(made.id))).id).toBe(made.id);
    }
    // feedback lands on either worker, whichever answered the request (the decision is in the shared file)
    await new Promise((r) => setTimeout(r, 100)); // the answering worker's batch commits (store.commitMs)
    for (const id of ids.slice(0, 4)) expect(await fresh((c) => c.post('/feedback', { body: { request_id: id, score: 1 } }))).toMatchObject({ recorded: true });
  });

  it("counts a key's requestsPerMinute over both workers", async () => {
    // not across a minute's end, where the count starts again
    await waitFor(() => new Date().getUTCSeconds() < 50, 'a minute with time left in it', 15_000, 200);
    const statuses: number[] = [];
    for (let k = 0; k < 10; k++) statuses.push(await ask('sk-limited').then(() => 200, (e: unknown) => (e as { status: number }).status));
    expect(statuses.filter((s) => s === 200)).toHaveLength(6); // counted per worker, 10 would pass
    expect(statuses.filter((s) => s === 429)).toHaveLength(4);
  });

  it("learns from feedback whichever worker gets it: a bandit's choices on both follow the scores (the learning log in the SQLite file)", async () => {
    const learn = () => fresh((c) => c.chat.completions.create({ model: 'learn', messages: [{ role: 'user', content: prompt }] }).withResponse());
    const target = 'small-3';
    for (let k = 0; k < meta.models.length * 2; k++) {
      const r = await learn();
      const model = r.data.model;
      // the feedback goes out on a connection of its own: to the other worker as often as not
      expect(await fresh((c) => c.post('/feedback', { body: { request_id: r.response.headers.get('x-request-id'), score: model === target ? 1 : 0 } }))).toMatchObject({ recorded: true, router_updated: true });
      await new Promise((done) => setTimeout(done, 400)); // the other worker applies it within store.syncMs (100 ms), with room for a slow machine
    }
    // both workers (alternating connections) now choose the model the scores favour
    const chosen = [];
    for (let k = 0; k < 4; k++) chosen.push((await learn()).data.model);
    expect(chosen).toEqual([target, target, target, target]);
  }, 60_000);

  it('replaces a worker that dies, passes SIGHUP on to every worker, and on SIGTERM drains both and exits 0 with every decision recorded', async () => {
    const pid = Number(/worker 1 \(pid (\d+)\) listening/.exec(gateway.output())?.[1]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => /worker 1 \(pid \d+\) was killed \(SIGKILL\); starting another/.test(gateway.output()), 'the supervisor to start another worker');
    await waitFor(() => (gateway.output().match(/worker 1 \(pid \d+\) listening/g) ?? []).length === 2, 'the new worker to listen');
    let answered = 0;
    for (let k = 0; k < 6; k++) if ((await ask()).response.status === 200) answered++;
    expect(answered).toBe(6);
    expect(await get('/metrics')).toMatch(/^switchyard_worker_restarts_total 1$/m);
    gateway.proc.kill('SIGHUP');
    await waitFor(() => (gateway.output().match(/switchyard: reloaded /g) ?? []).length === 2, 'both workers to reload');
    const exited = new Promise<number | null>((r) => gateway.proc.once('exit', (code) => r(code)));
    gateway.proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    const store = new SqliteStore(db);
    const decisions = await store.listDecisions({ limit: 1000 });
    await store.close();
    expect(decisions.filter((d) => d.status === 200 && d.route !== 'learn')).toHaveLength(12 + 2 + 6 + 6); // chat, Responses API, limited key, after the restart
  }, 60_000);

  it('refuses workers with an in-memory SQLite store, naming the setting, and exits with the code of a worker that cannot listen', async () => {
    // --check loads everything in this process and says how many workers serving would start
    const check = spawnSync(process.execPath, [CLI, 'serve', '--config', config, '--check'], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toContain('2 worker processes');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, `server: { workers: 2 }\nstore: { path: ":memory:" }\nmodels:\n  m: { baseURL: "http://127.0.0.1:1/v1", inputPricePerMTok: 1, outputPricePerMTok: 1 }\n`);
    const r = spawnSync(process.execPath, [CLI, 'serve', '--config', bad], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('server.workers: several workers share the store');
    const { createServer } = await import('node:net');
    const taken = createServer();
    const port = await freePort();
    await new Promise<void>((ok) => taken.listen(port, '127.0.0.1', ok));
    try {
      writeFileSync(bad, `server: { port: ${port}, workers: 2 }\nstore: { path: ${join(dir, 'taken.db')} }\nmodels:\n  m: { baseURL: "http://127.0.0.1:1/v1", inputPricePerMTok: 1, outputPricePerMTok: 1 }\n`);
      const busy = spawnSync(process.execPath, [CLI, 'serve', '--config', bad], { encoding: 'utf8', timeout: 30_000 });
      expect(busy.status).toBe(2);
      expect(busy.stderr).toContain(`server.port: 127.0.0.1:${port} is already in use`);
      expect(busy.stderr).toMatch(/before every worker listened: stopping the others/);
    } finally {
      await new Promise((ok) => taken.close(ok));
    }
  }, 60_000);
});

describe('serve with server.workers: 2, rolled by SIGUSR2', () => {
  it('replaces every worker one at a time under load without a failed request, and keeps the running ones when a new one cannot start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-workers-roll-'));
    const { meta, rows } = syntheticRows({ prompts: 40 });
    writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] ${r.id}` }))));
    const upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
    const upstreamURL = await upstream.listen();
    const model = meta.models[0]?.id as string;
    const config = join(dir, 'sy.yaml');
    const good = `server: { port: 0, workers: 2, drainMs: 5000 }\nstore: { path: ${join(dir, 'sy.db')} }\nmodels:\n  ${model}: { baseURL: "${upstreamURL}", inputPricePerMTok: 1, outputPricePerMTok: 2 }\n`;
    writeFileSync(config, good);
    const gateway = await startCli(['serve', '--config', config]);
    const pids = (): number[] => [...gateway.output().matchAll(/worker \d \(pid (\d+)\) listening/g)].map((m) => Number(m[1]));
    const running = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    let stop = false;
    let load: Array<Promise<void>> = [];
    try {
      const before = pids();
      expect(before).toHaveLength(2);
      // clients as applications run them: the openai SDK on keep-alive connections, and on a new connection per request
      const outcomes = { ok: 0, failed: [] as string[] };
      const loop = async (keepAlive: boolean): Promise<void> => {
        const shared = new Agent();
        try {
          while (!stop) {
            // a new connection is never refused nor cut: no retry; a keep-alive one may be closed as it is reused (retried, as the SDK does)
            const call = (dispatcher: Agent) => new OpenAI({ baseURL: gateway.ready, apiKey: 'sk-test', maxRetries: keepAlive ? 2 : 0, timeout: 20_000, fetchOptions: { dispatcher } as never }).chat.completions.create({ model, messages: [{ role: 'user', content: rows[outcomes.ok % rows.length]?.prompt as string }] });
            try {
              const r = await (keepAlive ? call(shared) : onOwnConnection(call));
              if (r.choices[0]?.message.content?.startsWith(`[${model}]`)) outcomes.ok++;
              else outcomes.failed.push(`unexpected answer ${JSON.stringify(r.choices[0])}`);
            } catch (e) {
              outcomes.failed.push(`${keepAlive ? 'keep-alive' : 'new connection'} at ${new Date().toISOString()}: ${String(e)} ${String((e as { cause?: unknown }).cause ?? '')}`);
            }
          }
        } finally {
          await shared.close();
        }
      };
      load = [loop(true), loop(true), loop(false), loop(false)];
      await waitFor(() => outcomes.ok >= 20, 'requests before the roll');
      gateway.proc.kill('SIGUSR2');
      await waitFor(() => /rolling restart done: 2 new workers/.test(gateway.output()), 'the rolling restart', 30_000, 50);
      const atRoll = outcomes.ok;
      await waitFor(() => outcomes.ok >= atRoll + 20, 'requests after the roll');
      stop = true;
      await Promise.all(load);
      expect(outcomes.failed).toEqual([]);
      const after = pids().slice(2);
      expect(after).toHaveLength(2);
      for (const pid of before) expect(running(pid)).toBe(false);
      for (const pid of after) expect(running(pid)).toBe(true);
      expect(gateway.output()).toMatch(/worker 1 \(pid \d+\) replaced, exited \(code 0\)/);
      expect(gateway.output()).toMatch(/worker 2 \(pid \d+\) replaced, exited \(code 0\)/);
      // a roll is not a crash: no restart counted
      const metrics = await onOwnConnection(async (dispatcher) => (await undiciFetch(new URL('/metrics', gateway.ready.replace(/\/v1$/, '/')), { dispatcher })).text());
      expect(metrics).toMatch(/^switchyard_worker_restarts_total 0$/m);
      expect(metrics).toMatch(/^switchyard_workers 2$/m);

      // a config the new processes cannot load: the first fails to start, the roll stops, the running two go on
      writeFileSync(config, good.replace('inputPricePerMTok: 1', 'inputPricePerMTok: -1'));
      gateway.proc.kill('SIGUSR2');
      await waitFor(() => /rolling restart stopped after 0 of 2/.test(gateway.output()), 'the roll to stop', 30_000, 50);
      expect(gateway.output()).toMatch(/the new worker 1 \(pid \d+\) exited \(code 2\) before it listened/);
      for (const pid of after) expect(running(pid)).toBe(true);
      for (let k = 0; k < 4; k++) {
        const r = await onOwnConnection((dispatcher) => new OpenAI({ baseURL: gateway.ready, apiKey: 'sk-test', maxRetries: 0, timeout: 20_000, fetchOptions: { dispatcher } as never }).chat.completions.create({ model, messages: [{ role: 'user', content: rows[k]?.prompt as string }] }));
        expect(r.choices[0]?.message.content).toContain(`[${model}]`);
      }
      const exited = new Promise<number | null>((r) => gateway.proc.once('exit', (code) => r(code)));
      gateway.proc.kill('SIGTERM');
      expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running 30 s after SIGTERM'), 30_000))])).toBe(0);
    } catch (e) {
      console.error(`the supervisor and its workers said:\n${gateway.output().slice(-6000)}`);
      throw e;
    } finally {
      stop = true;
      await gateway.stop();
      await Promise.race([Promise.all(load), new Promise((r) => setTimeout(r, 25_000))]);
      await upstream.close();
    }
  }, 150_000);
});

describe.skipIf(!hasOpenssl)('serve with server.workers: 2 over HTTPS', () => {
  it("serves HTTPS from both workers, and the Responses API through each worker's own loopback listener", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-workers-tls-'));
    const { meta, rows } = syntheticRows({ prompts: 40 });
    const prompt = (rows[0] as (typeof rows)[number]).prompt;
    writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] ${r.id}` }))));
    const upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
    const upstreamURL = await upstream.listen();
    const pki = testPki();
    const cert = pki.issue('gateway');
    const model = meta.models[0]?.id as string;
    writeFileSync(join(dir, 'sy.yaml'), `server: { port: 0, workers: 2, tls: { certFile: ${cert.certFile}, keyFile: ${cert.keyFile} } }\nstore: { path: ${join(dir, 'sy.db')} }\nmodels:\n  ${model}: { baseURL: "${upstreamURL}", inputPricePerMTok: 1, outputPricePerMTok: 2 }\n`);
    const gateway = await startProcess(process.execPath, [CLI, 'serve', '--config', join(dir, 'sy.yaml')], /listening on (https:\/\/\S+)/);
    try {
      const tls = { connect: { ca: readFileSync(pki.caFile) } };
      const workers = new Set<number>();
      for (let k = 0; k < 6 && workers.size < 2; k++) {
        const health = await onOwnConnection(async (dispatcher) => (await undiciFetch(new URL('/health', gateway.ready), { dispatcher })).text(), tls);
        workers.add((JSON.parse(health) as { worker: number }).worker);
      }
      expect(workers.size).toBe(2);
      // a connection per request, handed to the workers in turn, all at once: each worker then opens several
      // connections to itself at once, and every one must reach its own loopback listener (a port not shared
      // with the other worker, whose token differs), not one that the supervisor hands out in turn
      const made = await Promise.all(
        Array.from({ length: 12 }, () => onOwnConnection((dispatcher) => new OpenAI({ baseURL: gateway.ready, apiKey: 'sk-test', maxRetries: 0, fetchOptions: { dispatcher } as never }).responses.create({ model, input: prompt }), tls)),
      );
      for (const m of made) expect(m.output_text).toContain(`[${model}]`);
    } finally {
      await gateway.stop();
      await upstream.close();
    }
  }, 60_000);
});
