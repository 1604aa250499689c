/**
 * How well soft routing's deployable pick chooses (docs/cross-attention.md): on a dataset's test
 * prompts, the recorded quality of the router's first choice against the response scorer's pick
 * between the router's top two by utility, the scorer's evidence added to the router's own
 * prediction (logit q̂ + logit s − the scorer's mean for that model on train), and the best of the
 * two (a perfect picker). Quality only: the pick pays both calls.
 * Run: npm run build && node dist/bench/soft-pick.js --data ../shared/data/routerbench [--router cross-attention]
 */
import { parseArgs } from 'node:util';
import { loadDataset } from '../src/data/load.js';
import { readAnswers } from '../src/eval/mixture-scores.js';
import { ResponseScorer } from '../src/routers/post-generation/response-scorer.js';
import { createRouter } from '../src/routers/registry.js';

const { values } = parseArgs({ options: { data: { type: 'string' }, router: { type: 'string' } } });
const matrix = loadDataset(values.data ?? '../shared/data/routerbench');
const [train, test] = [matrix.view('train'), matrix.view('test')];
const M = matrix.modelCount;
const router = createRouter(values.router ?? 'cross-attention');
await router.fit(train, { seed: 0 });
const { fit, items, slots } = await readAnswers(train, test);
const scorer = await ResponseScorer.fit(fit, { seed: 0 });
// the scorer's mean prediction per model on its training answers: its evidence is relative to it
const sums = new Map<string, { s: number; n: number }>();
(await scorer.score(fit)).forEach((p, k) => {
  const e = sums.get((fit[k] as (typeof fit)[number]).model) ?? { s: 0, n: 0 };
  sums.set((fit[k] as (typeof fit)[number]).model, { s: e.s + p, n: e.n + 1 });
});
const predicted = await scorer.score(items);
const S = new Float64Array(test.size * M).fill(Number.NaN);
slots.forEach((slot, k) => (S[slot] = predicted[k] as number));
const logit = (p: number): number => {
  const q = Math.min(1 - 1e-6, Math.max(1e-6, p));
  return Math.log(q / (1 - q));
};
const prompts = Array.from({ length: test.size }, (_, i) => ({ text: test.text(i) }));
console.log(`${matrix.meta.name}: ${router.kind}'s top two by utility on ${test.size} test prompts, recorded quality of the pick`);
for (const lambda of [0, 0.3, 0.6]) {
  const decisions = await router.route(prompts, { lambda, detail: 'full' });
  const acc = { first: 0, scorer: 0, fused: 0, best: 0, n: 0 };
  decisions.forEach((d, i) => {
    const top = (d.candidates ?? [])
      .map((c) => ({ ...c, m: matrix.modelIndex(c.model) }))
      .filter((c): c is typeof c & { m: number } => c.m !== undefined && !Number.isNaN(test.score(i, c.m)) && !Number.isNaN(S[i * M + c.m] as number))
      .sort((a, b) => (b.utility ?? 0) - (a.utility ?? 0))
      .slice(0, 2);
    if (top.length < 2) return;
    const [a, b] = top as [(typeof top)[number], (typeof top)[number]];
    const q = (c: typeof a): number => test.score(i, c.m);
    const s = (c: typeof a): number => S[i * M + c.m] as number;
    const base = (c: typeof a): number => {
      const e = sums.get(c.model);
      return e ? e.s / e.n : 0.5;
    };
    const fused = (c: typeof a): number => logit(c.quality ?? 0.5) + logit(s(c)) - logit(base(c));
    acc.first += q(a);
    acc.scorer += s(b) > s(a) ? q(b) : q(a);
    acc.fused += fused(b) > fused(a) ? q(b) : q(a);
    acc.best += Math.max(q(a), q(b));
    acc.n++;
  });
  const f = (v: number): string => (v / acc.n).toFixed(3);
  console.log(`λ=${lambda}: ${acc.n} prompts; first choice ${f(acc.first)}, scorer's pick ${f(acc.scorer)}, prediction + scorer ${f(acc.fused)}, best of two ${f(acc.best)}`);
}
