import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../../core/errors.js';
import { openDataset } from '../../data/open.js';
import { evaluate, lambdaGrid, type EvalRouter } from '../../eval/replay.js';
import { renderReport } from '../../eval/report-html.js';
import { summaryTable } from '../../eval/summary-table.js';
import { createRouter, parseRouterSpec } from '../../routers/registry.js';
import { numberFlag, parse, requireString } from '../args.js';
import { progressReporter } from '../progress.js';

export const BASELINES = ['best-single', 'cheapest', 'random'];

const USAGE = `usage: switchyard eval --data DIR --out OUTDIR [--routers a,b,...] [--lambdas N] [--bootstrap N] [--seed N]

  --data DIR      a routing-matrix folder (dataset.json + matrix.jsonl), or RouterBench CSVs (a .csv or a folder of them)
  --out OUTDIR    where results.json and report.html are written
  --routers LIST  comma-separated routers to fit on train and replay on test (the baselines
                  ${BASELINES.join(', ')} are always included); options as kind:key=value;key=value
  --lambdas N     number of evenly spaced λ points in [0, 1] (default 21)
  --bootstrap N   bootstrap resamples for the ΔAIQ interval (default 1000, 0 = off)
  --seed N        seed for fitting, random routers and the bootstrap (default 0)`;

export async function runEval(argv: string[]): Promise<void> {
  const { values } = parse(
    argv,
    { data: { type: 'string' }, out: { type: 'string' }, routers: { type: 'string' }, lambdas: { type: 'string' }, bootstrap: { type: 'string' }, seed: { type: 'string' } },
    USAGE,
  );
  const data = requireString(values, 'data', USAGE);
  const out = requireString(values, 'out', USAGE);
  const lambdas = numberFlag(values, 'lambdas', 21, (v) => Number.isInteger(v) && v >= 2, 'an integer ≥ 2');
  const bootstrap = numberFlag(values, 'bootstrap', 1000, (v) => Number.isInteger(v) && v >= 0, 'an integer ≥ 0');
  const seed = numberFlag(values, 'seed', 0, Number.isInteger, 'an integer');
  lambdaGrid(lambdas);
  const routersFlag = values['routers'];
  const requested = typeof routersFlag === 'string' ? routersFlag.split(',').map((s) => s.trim()).filter(Boolean) : [];
  if (typeof routersFlag === 'string' && requested.length === 0) throw invalidArgument('--routers: empty list');
  const specs = [...BASELINES.filter((b) => !requested.includes(b)), ...requested];
  specs.forEach(parseRouterSpec); // fail fast on unknown names, before loading data

  const log = (line: string): void => void process.stderr.write(line + '\n');
  const t0 = performance.now();
  const matrix = openDataset(data, log);
  const train = matrix.view('train');
  const test = matrix.view('test');
  if (train.size === 0 || test.size === 0) {
    throw invalidArgument(`${data}: needs prompts in both train and test splits (train ${train.size}, test ${test.size})`);
  }
  log(`loaded ${matrix.meta.name}: ${matrix.size} prompts × ${matrix.modelCount} models in ${((performance.now() - t0) / 1000).toFixed(1)}s`);

  const routers: EvalRouter[] = [];
  for (const spec of specs) {
    const router = createRouter(spec);
    const t = performance.now();
    await router.fit(train, { seed, log });
    log(`fitted ${spec} in ${((performance.now() - t) / 1000).toFixed(1)}s`);
    routers.push({ name: spec, router });
  }
  const result = await evaluate(test, train, routers, { lambdas, bootstrap, seed, onProgress: progressReporter() });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'results.json'), JSON.stringify(result, null, 1) + '\n');
  writeFileSync(join(out, 'report.html'), await renderReport(result));
  process.stdout.write(summaryTable(result) + `\n\nwrote ${join(out, 'results.json')} and ${join(out, 'report.html')}\n`);
}
