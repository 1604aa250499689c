import { join } from 'node:path';
import { invalidArgument } from '../../core/errors.js';
import { openDataset } from '../../data/open.js';
import { applyPricesFlag } from '../../data/reprice.js';
import { configModels } from '../prices.js';
import { evaluateOnline } from '../../eval/online.js';
import { hasResponses, judgedColumns, responseScorerColumns } from '../../eval/mixture-scores.js';
import { evaluate, lambdaGrid, replayPrompts, type EvalRouter } from '../../eval/replay.js';
import { BANDIT_ALGORITHMS } from '../../routers/bandit/bandit.js';
import { renderReport } from '../../eval/report-html.js';
import { onlineTable, summaryTable } from '../../eval/summary-table.js';
import { createRouter, parseRouterSpec } from '../../routers/registry.js';
import { numberFlag, parse, prepareOutput, requireString, writeOutput } from '../args.js';
import { progressReporter } from '../progress.js';

export const BASELINES = ['best-single', 'cheapest', 'random'];
/** MetaLLM's algorithms side by side (LinUCB at each PCA width), plus ε-greedy and a cold LinUCB. */
export const ONLINE_DEFAULT = ['ucb1', 'thompson', 'epsilon-greedy', 'linucb:pca=32', 'linucb:pca=64', 'linucb:pca=128', 'linucb:pca=0', 'linucb:bootstrap=false'];

const USAGE = `usage: switchyard eval --data DIR --out OUTDIR [--routers a,b,...] [--lambdas N] [--bootstrap N] [--seed N] [--prices FILE]

  --data DIR      a routing-matrix folder (dataset.json + matrix.jsonl), or RouterBench CSVs (a .csv or a folder of them)
  --out OUTDIR    where results.json and report.html are written
  --routers LIST  comma-separated routers to fit on train and replay on test (the baselines
                  ${BASELINES.join(', ')} are always included); options as kind:key=value;key=value
  --lambdas N     number of evenly spaced λ points in [0, 1] (default 21)
  --bootstrap N   bootstrap resamples for the ΔAIQ interval (default 1000, 0 = off)
  --seed N        seed for fitting, random routers and the bootstrap (default 0)
  --prices FILE   fit and replay at other prices than the dataset's (today's, yours): a JSON price table
                  {"<model>": {"inputPricePerMTok": n, "outputPricePerMTok": n}} or a gateway config
                  (switchyard.yaml: its models' prices); recorded costs are scaled to them
  --online        also stream the test split through the bandits (learn from each pick's outcome);
                  bandits in --routers (default: ${ONLINE_DEFAULT.join(', ')}) are evaluated online
  --seeds N       stream orders for --online (default 5)
  --online-lambdas L,L  λ values for --online (default 0.3,0.6)`;

export async function runEval(argv: string[]): Promise<void> {
  const { values } = parse(
    argv,
    {
      data: { type: 'string' },
      out: { type: 'string' },
      routers: { type: 'string' },
      lambdas: { type: 'string' },
      bootstrap: { type: 'string' },
      seed: { type: 'string' },
      online: { type: 'boolean' },
      seeds: { type: 'string' },
      'online-lambdas': { type: 'string' },
      prices: { type: 'string' },
    },
    USAGE,
  );
  const data = requireString(values, 'data', USAGE);
  const out = requireString(values, 'out', USAGE);
  prepareOutput('out', join(out, 'results.json')); // before the work, so a bad --out fails at once
  const lambdas = numberFlag(values, 'lambdas', 21, (v) => Number.isInteger(v) && v >= 2, 'an integer ≥ 2');
  const bootstrap = numberFlag(values, 'bootstrap', 1000, (v) => Number.isInteger(v) && v >= 0, 'an integer ≥ 0');
  const seed = numberFlag(values, 'seed', 0, Number.isInteger, 'an integer');
  lambdaGrid(lambdas);
  const routersFlag = values['routers'];
  const requested = typeof routersFlag === 'string' ? routersFlag.split(',').map((s) => s.trim()).filter(Boolean) : [];
  if (typeof routersFlag === 'string' && requested.length === 0) throw invalidArgument('--routers: empty list');
  const online = values['online'] === true;
  const seeds = numberFlag(values, 'seeds', 5, (v) => Number.isInteger(v) && v >= 1 && v <= 50, 'an integer in 1..50');
  const onlineLambdas = typeof values['online-lambdas'] === 'string' ? values['online-lambdas'].split(',').map((x) => Number(x)) : [0.3, 0.6];
  if (onlineLambdas.some((l) => !(l >= 0 && l <= 1))) throw invalidArgument(`--online-lambdas: expected numbers in [0, 1], got ${String(values['online-lambdas'])}`);
  const isBandit = (spec: string): boolean => (BANDIT_ALGORITHMS as readonly string[]).includes(parseRouterSpec(spec).kind);
  const banditSpecs = online ? (requested.some(isBandit) ? requested.filter(isBandit) : ONLINE_DEFAULT) : [];
  const offline = online ? requested.filter((r) => !isBandit(r)) : requested;
  const specs = [...BASELINES.filter((b) => !offline.includes(b)), ...offline];
  [...specs, ...banditSpecs].forEach(parseRouterSpec); // fail fast on unknown names, before loading data

  const log = (line: string): void => void process.stderr.write(line + '\n');
  const t0 = performance.now();
  const prices = values['prices'];
  const matrix = typeof prices === 'string' ? applyPricesFlag(openDataset(data, log), prices, configModels, log) : openDataset(data, log);
  const train = matrix.view('train');
  const test = matrix.view('test');
  if (train.size === 0 || test.size === 0) {
    throw invalidArgument(`${data}: needs prompts in both train and test splits (train ${train.size}, test ${test.size})`);
  }
  log(`loaded ${matrix.meta.name}: ${matrix.size} prompts × ${matrix.modelCount} models in ${((performance.now() - t0) / 1000).toFixed(1)}s`);

  const routers: EvalRouter[] = [];
  let mixtureScores: Float64Array | undefined;
  const probePrompt = replayPrompts(test).slice(0, 1); // tells a soft router (mixture decisions) apart
  for (const spec of specs) {
    const router = createRouter(spec);
    const t = performance.now();
    await router.fit(train, { seed, log });
    log(`fitted ${spec} in ${((performance.now() - t) / 1000).toFixed(1)}s`);
    if (router.judgeAnswers) {
      // a cascade: its judge rates the test prompts' recorded answers, and replay walks each chain
      routers.push({ name: spec, router, judged: await judgedColumns(router, train, test) });
      continue;
    }
    const probe = await router.route(probePrompt, { lambda: 0, detail: 'choice' });
    if (probe[0]?.kind !== 'mixture') {
      routers.push({ name: spec, router });
      continue;
    }
    // soft routing, credited two ways (docs/metrics.md): the best recorded answer among the k (upper
    // bound) and the answer a response scorer trained on train picks (deployable), where texts exist
    routers.push({ name: `${spec} [best-of-k bound]`, router });
    if (!hasResponses(test)) {
      log(`${spec}: this dataset has no responses.jsonl.gz, so soft routing is credited with the best-of-k upper bound only`);
      continue;
    }
    mixtureScores ??= await responseScorerColumns(train, test, seed, log);
    routers.push({ name: `${spec} [scorer picks]`, router, mixtureScores });
  }
  const result = await evaluate(test, train, routers, { lambdas, bootstrap, seed, onProgress: progressReporter() });
  if (online) result.online = await evaluateOnline(test, train, banditSpecs, { lambdas: onlineLambdas, seeds, adaptation: true, onProgress: progressReporter() });
  writeOutput('out', join(out, 'results.json'), JSON.stringify(result, null, 1) + '\n');
  writeOutput('out', join(out, 'report.html'), await renderReport(result));
  process.stdout.write(summaryTable(result) + (result.online ? `\n\n${onlineTable(result.online)}` : '') + `\n\nwrote ${join(out, 'results.json')} and ${join(out, 'report.html')}\n`);
}
