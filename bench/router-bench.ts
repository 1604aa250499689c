/**
 * Router speed: fit time on 10,000 training prompts x 50 models, and the time to route one prompt
 * once it is encoded (embedding served from the cache; includes token counting and the decision),
 * for every router; encoder time per prompt for `hashing` and `use-lite`.
 * Run: npm run build && node dist/bench/router-bench.js [--train N] [--models M] [--routers a,b] [--encoder hashing] [--no-use-lite]
 *      [--data DIR]   real prompts instead of synthetic ones: fit on every prompt of the dataset
 *                     (speed only, both splits), route its test prompts
 */
import { parseArgs } from 'node:util';
import { buildMatrix, loadDataset } from '../src/data/load.js';
import { HashingEncoder } from '../src/encoders/hashing.js';
import { UseLiteEncoder } from '../src/encoders/use-lite.js';
import { createRouter } from '../src/routers/registry.js';
import { generateMatrix } from './generate.js';

const { values } = parseArgs({ options: { train: { type: 'string' }, models: { type: 'string' }, routers: { type: 'string' }, encoder: { type: 'string' }, 'no-use-lite': { type: 'boolean' }, data: { type: 'string' } } });
const N = Number(values.train ?? 10000);
const M = Number(values.models ?? 50);
const ROUTERS = (values.routers ?? 'best-single,cheapest,random,rules,knn,linear,mlp,mf,semantic-routes').split(',');

function quantiles(xs: number[]): { p50: number; p99: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: s[Math.floor(s.length * 0.5)] as number, p99: s[Math.min(s.length - 1, Math.floor(s.length * 0.99))] as number };
}
const us = (ms: number): string => `${(ms * 1000).toFixed(0)} µs`;

const matrix = values.data ? loadDataset(values.data) : (({ meta, rows }) => buildMatrix(meta, rows))(generateMatrix(500, M, 7, N));
const train = values.data ? matrix.view() : matrix.view('train');
const test = matrix.view('test');
const prompts = Array.from({ length: test.size }, (_, i) => ({ text: test.text(i) }));
console.log(`routers (encoder ${values.encoder ?? 'hashing'}): fit on ${train.size} ${values.data ? `${matrix.meta.name} ` : ''}prompts x ${matrix.modelCount} models; route ${prompts.length} single prompts (embedding cached)`);
const ENCODER = values.encoder ?? 'hashing';
const PREDICTORS = new Set(['knn', 'linear', 'mlp', 'mf', 'semantic-routes', 'ensemble', 'cross-attention']);
for (const spec of ROUTERS) {
  const router = createRouter(PREDICTORS.has(spec.split(':')[0] as string) ? `${spec}${spec.includes(':') ? ';' : ':'}encoder=${ENCODER}` : spec);
  const t0 = performance.now();
  await router.fit(train, { seed: 0 });
  const fit = (performance.now() - t0) / 1000;
  await router.route(prompts, { lambda: 0.5 }); // warms the embedding cache
  const times: number[] = [];
  for (let rep = 0; rep < 2; rep++) {
    for (const p of prompts) {
      const t = performance.now();
      await router.route([p], { lambda: 0.5, detail: 'choice' });
      times.push(performance.now() - t);
    }
  }
  const q = quantiles(times.slice(prompts.length));
  console.log(`  ${spec.padEnd(16)} fit ${fit.toFixed(1).padStart(5)} s   route p50 ${us(q.p50).padStart(7)}  p99 ${us(q.p99).padStart(7)}`);
}

const texts = prompts.map((p) => p.text);
const hashing = new HashingEncoder();
await hashing.fit(Array.from({ length: train.size }, (_, i) => train.text(i)));
const ht: number[] = [];
for (let rep = 0; rep < 3; rep++) for (const t of texts) {
  const s = performance.now();
  hashing.embedOne(t);
  ht.push(performance.now() - s);
}
const hq = quantiles(ht.slice(texts.length));
console.log(`encoders (prompts of ${Math.round(texts.reduce((s, t) => s + t.length, 0) / texts.length)} chars on average):`);
console.log(`  hashing (dim ${hashing.dim})  p50 ${us(hq.p50)}  p99 ${us(hq.p99)}`);
if (!values['no-use-lite']) {
  const use = new UseLiteEncoder();
  await use.embed(texts.slice(0, 5));
  await use.embed(texts.slice(0, 5), { executor: 'async' });
  // the graph run synchronously (the default) against tfjs's async executor (used before session 5),
  // prompt by prompt, alternating which goes first
  const time = async (t: string, executor: 'sync' | 'async'): Promise<number> => {
    const s = performance.now();
    await use.embed([t], { executor });
    return performance.now() - s;
  };
  const sync: number[] = [];
  const async: number[] = [];
  for (const [i, t] of texts.slice(0, 200).entries()) {
    if (i % 2 === 0) {
      sync.push(await time(t, 'sync'));
      async.push(await time(t, 'async'));
    } else {
      async.push(await time(t, 'async'));
      sync.push(await time(t, 'sync'));
    }
  }
  const batchedMs = async (executor: 'sync' | 'async'): Promise<number> => {
    const s0 = performance.now();
    await use.embed(texts.slice(0, 256), { executor });
    return (performance.now() - s0) / Math.min(256, texts.length);
  };
  const saved = quantiles(sync.map((s, i) => (async[i] as number) - s)).p50;
  for (const [executor, xs] of [['sync', sync], ['async', async]] as const) {
    const q = quantiles(xs);
    console.log(`  use-lite ${executor === 'sync' ? '(default: graph run synchronously)' : '(tfjs async executor)     '} single prompt  p50 ${q.p50.toFixed(1)} ms  p99 ${q.p99.toFixed(1)} ms; batched (64) ${(await batchedMs(executor)).toFixed(1)} ms a prompt`);
  }
  console.log(`  use-lite: synchronous run saves ${saved.toFixed(2)} ms a prompt (median of paired differences)`);
}
