/**
 * Gateway overhead: the gateway (learned router with the hashing encoder in the loop), a direct call
 * to the local upstream, and a minimal pass-through proxy — in the same run, alternating rounds — at
 * concurrency 1 and 32, JSON and streaming. Added latency = target − direct at the same percentile.
 * Each server is its own process; the load generator is this one (undici).
 * Run: npm run build && node dist/bench/gateway-bench.js [--requests N] [--rounds R] [--router knn:encoder=hashing]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { loadDataset } from '../src/data/load.js';
import { createRouter } from '../src/routers/registry.js';

const { values } = parseArgs({ options: { requests: { type: 'string' }, rounds: { type: 'string' }, data: { type: 'string' }, router: { type: 'string' } } });
const ROUTER = values.router ?? 'knn:encoder=hashing';
const REQUESTS = Number(values.requests ?? 400);
const ROUNDS = Number(values.rounds ?? 3);
const DATA = resolve(values.data ?? resolve(process.env['SWITCHYARD_DATA'] ?? '../shared/data', 'routellm_gsm8k'));
const CLI = resolve('dist/src/cli/main.js');
const MODEL = 'mistralai/Mixtral-8x7B-Instruct-v0.1';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function waitFor(url: string): Promise<void> {
  for (let k = 0; k < 100; k++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      /* not up yet */
    }
    await sleep(100);
  }
  throw new Error(`${url} did not come up`);
}

const children: ChildProcess[] = [];
const start = (args: string[]): void => void children.push(spawn(process.execPath, args, { stdio: 'ignore' }));

const matrix = loadDataset(DATA);
const prompts = matrix.view('test');
const dir = mkdtempSync(join(tmpdir(), 'sy-gwbench-'));
const router = createRouter(ROUTER);
await router.fit(matrix.view('train'), { seed: 0 });
writeFileSync(join(dir, 'router.json'), JSON.stringify(router.toArtifact()));
// decision time of the router alone (after encoding is part of it here: hashing)
const texts = Array.from({ length: prompts.size }, (_, i) => ({ text: prompts.text(i) }));
await router.route(texts, { lambda: 1 });
const dt: number[] = [];
for (const p of texts) {
  const t = performance.now();
  await router.route([{ text: p.text + ' ' }], { lambda: 1, detail: 'choice' }); // a fresh text: encoding included
  dt.push(performance.now() - t);
}
dt.sort((a, b) => a - b);

const [UP, PROXY, GW] = [18090, 18091, 18092];
const models = matrix.models.map((m) => `  ${JSON.stringify(m.id)}: { baseURL: "http://127.0.0.1:${UP}/v1", inputPricePerMTok: ${m.inputPricePerMTok}, outputPricePerMTok: ${m.outputPricePerMTok} }`).join('\n');
writeFileSync(join(dir, 'sy.yaml'), `server: { port: ${GW} }\nstore: { path: ":memory:" }\nmodels:\n${models}\nroutes:\n  auto: { router: router.json, lambda: 1 }\n`);
start([CLI, 'replay-upstream', '--data', DATA, '--port', String(UP)]);
start([resolve('dist/bench/passthrough-proxy.js'), '--target', `http://127.0.0.1:${UP}`, '--port', String(PROXY)]);
// GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the gateway process
start([...(process.env['GATEWAY_NODE_ARGS'] ?? '').split(' ').filter(Boolean), CLI, 'serve', '--config', join(dir, 'sy.yaml')]);
try {
  await Promise.all([UP, GW].map((p) => waitFor(`http://127.0.0.1:${p}/v1/models`)));
  await sleep(300);
  const targets = [
    { name: 'direct', port: UP, model: MODEL },
    { name: 'proxy', port: PROXY, model: MODEL },
    { name: 'gateway', port: GW, model: 'auto' },
  ];
  const pools = new Map(targets.map((t) => [t.name, new Pool(`http://127.0.0.1:${t.port}`, { connections: 64 })]));
  const bodies = (model: string, stream: boolean): Buffer[] => texts.map((p) => Buffer.from(JSON.stringify({ model, stream, messages: [{ role: 'user', content: p.text }] })));

  async function load(name: string, model: string, concurrency: number, stream: boolean): Promise<{ lat: number[]; secs: number }> {
    const pool = pools.get(name) as Pool;
    const bs = bodies(model, stream);
    const lat: number[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < REQUESTS) {
          const body = bs[next++ % bs.length] as Buffer;
          const t = performance.now();
          const r = await pool.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body });
          await r.body.text();
          if (r.statusCode !== 200) throw new Error(`${name}: status ${r.statusCode}`);
          lat.push(performance.now() - t);
        }
      }),
    );
    return { lat, secs: (performance.now() - t0) / 1000 };
  }

  const q = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] as number;
  console.log(`gateway overhead: routellm_gsm8k test prompts, router ${ROUTER} at λ=1, ${REQUESTS} requests x ${ROUNDS} rounds per target, alternating`);
  console.log(`router decision incl. hashing encoding: p50 ${(dt[Math.floor(dt.length / 2)] as number).toFixed(3)} ms, p99 ${(dt[Math.floor(dt.length * 0.99)] as number).toFixed(3)} ms`);
  for (const stream of [false, true]) {
    for (const c of [1, 32]) {
      for (const t of targets) await load(t.name, t.model, c, stream); // warm-up
      const acc = new Map(targets.map((t) => [t.name, { lat: [] as number[], secs: 0, n: 0 }]));
      for (let r = 0; r < ROUNDS; r++) {
        for (const t of targets) {
          const res = await load(t.name, t.model, c, stream);
          const a = acc.get(t.name) as { lat: number[]; secs: number; n: number };
          a.lat.push(...res.lat);
          a.secs += res.secs;
          a.n += res.lat.length;
        }
      }
      const d = acc.get('direct') as { lat: number[]; secs: number; n: number };
      const line = (name: string): string => {
        const a = acc.get(name) as { lat: number[]; secs: number; n: number };
        const added = name === 'direct' ? '' : ` added p50 ${(q(a.lat, 0.5) - q(d.lat, 0.5)).toFixed(3)} ms, p99 ${(q(a.lat, 0.99) - q(d.lat, 0.99)).toFixed(3)} ms;`;
        return `  ${name.padEnd(8)} p50 ${q(a.lat, 0.5).toFixed(3)} ms  p99 ${q(a.lat, 0.99).toFixed(3)} ms;${added} ${(a.n / a.secs).toFixed(0)} req/s`;
      };
      console.log(`${stream ? 'streaming' : 'JSON'}, concurrency ${c}:`);
      for (const t of targets) console.log(line(t.name));
    }
  }
  for (const p of pools.values()) await p.close();
} finally {
  for (const ch of children) ch.kill('SIGINT'); // lets a profiled gateway write its profile
}
