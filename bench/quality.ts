/**
 * Routing quality on every shared dataset's test split (routers fitted on train): the table in
 * docs/routers.md. Same replay and metrics as `switchyard eval` (21 λ points, 1,000 resamples).
 * Run: npm run build && node dist/bench/quality.js --encoder use-lite [--datasets a,b] [--routers a,b] [--out file.json]
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset } from '../src/data/load.js';
import { fmtCI, fmtNum, fmtPct } from '../src/eval/format.js';
import { evaluate, type EvalRouter } from '../src/eval/replay.js';
import { createRouter } from '../src/routers/registry.js';

const { values } = parseArgs({ options: { encoder: { type: 'string' }, datasets: { type: 'string' }, routers: { type: 'string' }, out: { type: 'string' } } });
const encoder = values.encoder ?? 'use-lite';
const datasets = (values.datasets ?? 'routerbench,llmrouter,routellm_mmlu,routellm_gsm8k,alpaca_eval,routellm_mtbench').split(',');
const routers = (values.routers ?? 'knn,linear,mlp,mf,semantic-routes,ensemble').split(',');
const root = resolve(process.env['SWITCHYARD_DATA'] ?? '../shared/data');

console.log(`| dataset | router | AIQ | ΔAIQ vs mix hull [95% CI] | APGR | q @ best-single cost | cost to match best | fit s |`);
console.log(`|---|---|---|---|---|---|---|---|`);
const all: unknown[] = [];
for (const ds of datasets) {
  const matrix = loadDataset(resolve(root, ds));
  const train = matrix.view('train');
  const list: EvalRouter[] = [];
  const fit: number[] = [];
  for (const r of routers) {
    const spec = `${r}${r.includes(':') ? ';' : ':'}encoder=${encoder}`;
    const router = createRouter(spec);
    const t = performance.now();
    await router.fit(train, { seed: 0 });
    fit.push((performance.now() - t) / 1000);
    list.push({ name: r, router });
  }
  const res = await evaluate(matrix.view('test'), train, list, { lambdas: 21, bootstrap: 1000, seed: 0 });
  console.log(`| ${ds} | mix hull | ${fmtNum(res.reference.mixHull.aiq)} | | | | | |`);
  res.routers.forEach((x, k) => {
    console.log(`| ${ds} | ${x.name} | ${fmtNum(x.aiq)} | ${fmtCI(x.aiqDeltaCI)} | ${x.apgr === undefined ? '' : fmtNum(x.apgr)} | ${fmtNum(x.qualityAtBestSingleCost)} | ${fmtPct(x.costToMatchBestSingle)} | ${(fit[k] as number).toFixed(1)} |`);
  });
  all.push({ dataset: ds, encoder, mixHull: res.reference.mixHull.aiq, routers: res.routers.map(({ points: _p, ...rest }) => rest) });
}
if (values.out) writeFileSync(values.out, JSON.stringify(all, null, 1));
