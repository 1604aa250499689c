import { invalidArgument } from '../../core/errors.js';
import { openDataset } from '../../data/open.js';
import { applyPricesFlag } from '../../data/reprice.js';
import { configModels } from '../prices.js';
import { fmtCost, fmtNum, textTable } from '../../eval/format.js';
import { PredictorRouter } from '../../routers/predictor.js';
import { createRouter } from '../../routers/registry.js';
import { numberFlag, parse, prepareOutput, requireString, writeOutput } from '../args.js';

const USAGE = `usage: switchyard train --data DIR --router NAME [--encoder SPEC] [--prices FILE] [--seed N] --out router.json

  --data DIR       a routing-matrix folder or RouterBench CSVs; the router is fitted on its train split
  --router NAME    a router (switchyard routers), with options as kind:key=value;key=value
  --encoder SPEC   encoder for learned routers: use-lite (default), hashing, openai-compatible:baseURL=…;model=…;dim=…
  --prices FILE    fit at other prices than the dataset's: a JSON price table
                   {"<model>": {"inputPricePerMTok": n, "outputPricePerMTok": n}} or a gateway config
                   (switchyard.yaml: its models' prices); recorded costs are scaled to them
  --out FILE       where the router artifact (versioned JSON) is written`;

export async function runTrain(argv: string[]): Promise<void> {
  const { values } = parse(argv, { data: { type: 'string' }, router: { type: 'string' }, encoder: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, prices: { type: 'string' } }, USAGE);
  const data = requireString(values, 'data', USAGE);
  const spec = requireString(values, 'router', USAGE);
  const out = requireString(values, 'out', USAGE);
  prepareOutput('out', out); // before fitting, so a bad --out fails at once
  const seed = numberFlag(values, 'seed', 0, Number.isInteger, 'an integer');
  const encoder = values['encoder'];
  const full = typeof encoder === 'string' ? `${spec}${spec.includes(':') ? ';' : ':'}encoder=${encoder}` : spec;
  const router = createRouter(full);
  const log = (line: string): void => void process.stderr.write(line + '\n');
  const prices = values['prices'];
  const matrix = typeof prices === 'string' ? applyPricesFlag(openDataset(data, log), prices, configModels, log) : openDataset(data, log);
  const train = matrix.view('train');
  if (train.size === 0) throw invalidArgument(`${data}: no prompts in the train split`);
  const t0 = performance.now();
  await router.fit(train, { seed, log });
  const secs = (performance.now() - t0) / 1000;
  writeOutput('out', out, JSON.stringify(router.toArtifact()) + '\n');
  const lines = [`trained ${full} on ${train.size} prompts × ${matrix.modelCount} models in ${secs.toFixed(1)} s → ${out}`];
  if (router instanceof PredictorRouter) {
    lines.push(`calibration: ECE ${fmtNum(router.report.eceRaw, 4)} raw → ${fmtNum(router.report.eceCalibrated, 4)} calibrated (${router.report.rows} out-of-fold predictions)`);
    const rows = router.curve.filter((p) => Math.round(p.lambda * 100) % 25 === 0).map((p) => [p.lambda.toFixed(2), fmtNum(p.quality), fmtCost(p.cost)]);
    lines.push('', 'operating curve on train (out-of-fold):', textTable(['λ', 'quality', 'cost/prompt'], rows));
  }
  process.stdout.write(lines.join('\n') + '\n');
}
