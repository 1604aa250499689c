/**
 * Evaluator benchmark: loading plus evaluating 10 routers x 21 λ points (1,000 bootstrap resamples),
 * fitting excluded, on a generated 12,000-prompt x 32-model matrix and on routellm_mmlu when present.
 * Run: npm run build && node --expose-gc dist/bench/eval-bench.js [--prompts N] [--models M]
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset } from '../src/data/load.js';
import { writeDataset } from '../src/data/write.js';
import { evaluate, type EvalRouter } from '../src/eval/replay.js';
import { createRouter } from '../src/routers/registry.js';
import { generateMatrix } from './generate.js';

const { values } = parseArgs({ options: { prompts: { type: 'string' }, models: { type: 'string' }, routers: { type: 'string' } } });
const N = Number(values.prompts ?? 12000);
const M = Number(values.models ?? 32);
const ROUTERS = (values.routers ?? 'best-single,cheapest,random:seed=1,random:seed=2,random:seed=3,random:seed=4,random:seed=5,random:seed=6,random:seed=7,random:seed=8').split(',');

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);

async function run(label: string, dir: string): Promise<void> {
  globalThis.gc?.();
  peakRss = process.memoryUsage().rss;
  const t0 = performance.now();
  const matrix = loadDataset(dir);
  const tLoad = performance.now();
  const train = matrix.view('train');
  const routers: EvalRouter[] = [];
  for (const spec of ROUTERS) {
    const router = createRouter(spec);
    await router.fit(train, { seed: 0 });
    routers.push({ name: spec, router });
  }
  const tFit = performance.now();
  const result = await evaluate(matrix.view('test'), train, routers, { lambdas: 21, bootstrap: 1000, seed: 0 });
  const tEval = performance.now();
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const s = (ms: number): string => (ms / 1000).toFixed(2) + ' s';
  console.log(
    `${label}: ${matrix.size} prompts (${result.prompts} test) x ${matrix.modelCount} models, ${routers.length} routers x 21 λ, 1000 resamples\n` +
      `  load ${s(tLoad - t0)} + evaluate ${s(tEval - tFit)} (routing ${result.seconds.routing.toFixed(2)} s, metrics+bootstrap ${result.seconds.metrics.toFixed(2)} s)` +
      ` = ${s(tLoad - t0 + tEval - tFit)} excluding fit (${s(tFit - tLoad)}); peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'sy-bench-'));
try {
  const { meta, rows } = generateMatrix(N, M);
  writeDataset(dir, meta, rows);
  await run(`generated ${N}x${M}`, dir);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const mmlu = resolve(process.env['SWITCHYARD_DATA'] ?? '../shared/data', 'routellm_mmlu');
if (existsSync(mmlu)) await run('routellm_mmlu', mmlu);
else console.log(`routellm_mmlu: skipped (${mmlu} absent)`);
clearInterval(sampler);
