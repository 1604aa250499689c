/**
 * What the gateway benchmarks share: a router fitted on a dataset's train split and saved, and three
 * server processes — replay-upstream (recorded answers), the minimal pass-through proxy, and the
 * gateway serving the router as route `auto` at λ = 1 with an in-memory store.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Pool } from 'undici';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadDataset } from '../src/data/load.js';
import type { RoutingMatrix } from '../src/data/routing-matrix.js';
import { createRouter } from '../src/routers/registry.js';
import type { Router } from '../src/spec/router.js';

export interface Trio {
  readonly matrix: RoutingMatrix;
  readonly router: Router;
  readonly upstream: ChildProcess;
  readonly proxy: ChildProcess;
  readonly gateway: ChildProcess;
  /** SIGINT to every process (a profiled gateway then writes its profile). */
  stop(): void;
}

const CLI = resolve('dist/src/cli/main.js');

/** Resolves when `url` answers 2xx (up to 60 s). */
export async function waitFor(url: string): Promise<void> {
  for (let k = 0; k < 600; k++) {
    // up to 60 s: a large dataset's answers take a while to load
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

/** Fits `routerSpec` on `data`'s train split and starts the three servers on `ports`; resolves when they answer. */
export async function startTrio(data: string, routerSpec: string, ports: { upstream: number; proxy: number; gateway: number }, gatewayNodeArgs: readonly string[] = []): Promise<Trio> {
  const matrix = loadDataset(data);
  const dir = mkdtempSync(join(tmpdir(), 'sy-gwbench-'));
  const router = createRouter(routerSpec);
  await router.fit(matrix.view('train'), { seed: 0 });
  writeFileSync(join(dir, 'router.json'), JSON.stringify(router.toArtifact()));
  const models = matrix.models.map((m) => `  ${JSON.stringify(m.id)}: { baseURL: "http://127.0.0.1:${ports.upstream}/v1", inputPricePerMTok: ${m.inputPricePerMTok}, outputPricePerMTok: ${m.outputPricePerMTok} }`).join('\n');
  // GATEWAY_WORKERS=N: N gateway processes (server.workers) on one SQLite file; GATEWAY_STORE=file: one process on a file too
  const workers = Number(process.env['GATEWAY_WORKERS'] ?? 1);
  const store = workers > 1 || process.env['GATEWAY_STORE'] === 'file' ? join(dir, 'sy.db') : ':memory:';
  writeFileSync(join(dir, 'sy.yaml'), `server: { port: ${ports.gateway}, workers: ${workers} }\nstore: { path: ${JSON.stringify(store)} }\nmodels:\n${models}\nroutes:\n  auto: { router: router.json, lambda: 1 }\n`);
  const start = (args: string[]): ChildProcess => spawn(process.execPath, args, { stdio: 'ignore' });
  const upstream = start([CLI, 'replay-upstream', '--data', data, '--port', String(ports.upstream)]);
  const proxy = start([resolve('dist/bench/passthrough-proxy.js'), '--target', `http://127.0.0.1:${ports.upstream}`, '--port', String(ports.proxy)]);
  const gateway = start([...gatewayNodeArgs, CLI, 'serve', '--config', join(dir, 'sy.yaml')]);
  const stop = (): void => {
    for (const p of [upstream, proxy, gateway]) p.kill('SIGINT');
  };
  try {
    await Promise.all([ports.upstream, ports.gateway].map((p) => waitFor(`http://127.0.0.1:${p}/v1/models`)));
    await new Promise((r) => setTimeout(r, 300));
  } catch (e) {
    stop();
    throw e;
  }
  return { matrix, router, upstream, proxy, gateway, stop };
}

/** Sends `n` chat requests naming `model` (the prompts in turn) to a server, `concurrency` at a time; resolves with the milliseconds it took (each request's, in ms, into `latencies` when given). */
export async function drive(port: number, model: string, texts: readonly string[], n: number, concurrency: number, latencies?: number[]): Promise<number> {
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 64 });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const k = next++;
        const t = performance.now();
        const res = await pool.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: texts[k % texts.length] }] }) });
        await res.body.text();
        latencies?.push(performance.now() - t);
        if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      }
    }),
  );
  const ms = performance.now() - t0;
  await pool.close();
  return ms;
}
