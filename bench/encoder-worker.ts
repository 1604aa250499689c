/**
 * What running `use-lite` on a worker thread (`server.encoderWorker`, the default) buys a gateway:
 * one gateway process serves two routes — `lite` (ridge on use-lite) and `fast` (ridge on hashing) —
 * in front of replay-upstream; while clients keep `lite` busy with prompts it has not seen (each a new
 * 12–60 ms encoding), requests to `fast` are timed one at a time. Run once with the encoder on the
 * event loop, once on the worker, for the same time each.
 *
 * Run: npm run build && SWITCHYARD_CACHE_DIR=/tmp/sycache node dist/bench/encoder-worker.js [--data DIR] [--lite-concurrency 2] [--seconds 15] [--workers 1] [--worker-only]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset } from '../src/data/load.js';
import { createRouter } from '../src/routers/registry.js';
import { waitFor } from './gateway-trio.js';

const { values } = parseArgs({ options: { data: { type: 'string' }, 'lite-concurrency': { type: 'string' }, seconds: { type: 'string' }, workers: { type: 'string' }, 'worker-only': { type: 'boolean' } } });
/** `server.encoderWorker` of the worker run: 1 thread (`true`) or more. */
const WORKERS = Number(values.workers ?? 1);
const data = resolve(values.data ?? '../shared/data/routerbench');
const LITE_C = Number(values['lite-concurrency'] ?? 2);
const SECONDS = Number(values.seconds ?? 15);
const CLI = resolve('dist/src/cli/main.js');
const matrix = loadDataset(data);
const train = matrix.view('train');
const test = matrix.view('test');
const dir = mkdtempSync(join(tmpdir(), 'sy-encworker-'));
for (const [name, spec] of [['lite', 'linear:encoder=use-lite'], ['fast', 'linear:encoder=hashing']] as const) {
  const router = createRouter(spec);
  await router.fit(train, { seed: 0 });
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(router.toArtifact()));
}

function quantile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
}

const UP = 18690;
const upstream: ChildProcess = spawn(process.execPath, [CLI, 'replay-upstream', '--data', data, '--port', String(UP)], { stdio: 'ignore' });
await waitFor(`http://127.0.0.1:${UP}/v1/models`);
const models = matrix.models.map((m) => `  ${JSON.stringify(m.id)}: { baseURL: "http://127.0.0.1:${UP}/v1", inputPricePerMTok: ${m.inputPricePerMTok}, outputPricePerMTok: ${m.outputPricePerMTok} }`).join('\n');
console.log(`use-lite on a worker thread: ${matrix.meta.name}; \`lite\` kept busy by ${LITE_C} clients with test prompts never seen; requests to \`fast\` timed one at a time, ${SECONDS} s a run`);
let next = 0; // test prompts for `lite`, never repeated across both runs
for (const worker of values['worker-only'] ? [true] : [false, true]) {
  const port = worker ? 18692 : 18691;
  writeFileSync(join(dir, 'sy.yaml'), `server: { port: ${port}, encoderWorker: ${worker ? (WORKERS === 1 ? 'true' : WORKERS) : false} }\nstore: { path: ":memory:" }\nmodels:\n${models}\nroutes:\n  lite: { router: lite.json, lambda: 0.5 }\n  fast: { router: fast.json, lambda: 0.5 }\n`);
  const gateway = spawn(process.execPath, [CLI, 'serve', '--config', join(dir, 'sy.yaml')], { stdio: 'ignore' });
  await waitFor(`http://127.0.0.1:${port}/v1/models`);
  const ask = async (route: string, i: number): Promise<number> => {
    const t = performance.now();
    const r = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: route, messages: [{ role: 'user', content: test.text(i % test.size) }] }) });
    await r.arrayBuffer();
    return performance.now() - t;
  };
  for (let i = 0; i < 20; i++) await ask('fast', i); // warm-up
  await ask('lite', next++);
  let busy = true;
  const liteTimes: number[] = [];
  const load = Array.from({ length: LITE_C }, async () => {
    while (busy) liteTimes.push(await ask('lite', next++));
  });
  const fast: number[] = [];
  const t0 = performance.now();
  for (let i = 0; performance.now() - t0 < SECONDS * 1000; i++) fast.push(await ask('fast', i));
  busy = false;
  const done = liteTimes.length;
  await Promise.all(load);
  gateway.kill('SIGINT');
  console.log(`  encoder ${worker ? `on ${WORKERS === 1 ? 'a worker thread' : `${WORKERS} worker threads`}` : 'on the event loop '}: fast p50 ${quantile(fast, 0.5).toFixed(2)} ms  p99 ${quantile(fast, 0.99).toFixed(2)} ms (${fast.length} requests); lite ${(done / SECONDS).toFixed(1)} req/s, p50 ${quantile(liteTimes, 0.5).toFixed(1)} ms`);
}
upstream.kill('SIGINT');
