import { invalidArgument } from '../../core/errors.js';
import { openDataset } from '../../data/open.js';
import { hasResponses, readAnswers } from '../../eval/mixture-scores.js';
import { ResponseScorer } from '../../routers/post-generation/response-scorer.js';
import { numberFlag, parse, prepareOutput, requireString, writeOutput } from '../args.js';

const USAGE = `usage: switchyard train-scorer --data DIR [--seed N] --out scorer.json

Fits a response scorer on the recorded answers of a dataset's train split (responses.jsonl.gz): it
predicts an answer's score from the answer itself, which model wrote it and its length. A gateway
route with soft routing can use it to pick one of the proposers' answers
(routes.<name>.aggregate.scorer) instead of asking an aggregator model.`;

export async function runTrainScorer(argv: string[]): Promise<void> {
  const { values } = parse(argv, { data: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' } }, USAGE);
  const data = requireString(values, 'data', USAGE);
  const out = requireString(values, 'out', USAGE);
  prepareOutput('out', out);
  const seed = numberFlag(values, 'seed', 0, Number.isInteger, 'an integer');
  const train = openDataset(data).view('train');
  if (!hasResponses(train)) throw invalidArgument(`--data: ${data} has no responses.jsonl.gz (answer texts) to learn from`);
  const { fit } = await readAnswers(train);
  if (fit.length === 0) throw invalidArgument(`--data: ${data} has no scored answers in its train split`);
  const t0 = performance.now();
  const scorer = await ResponseScorer.fit(fit, { seed });
  writeOutput('out', out, JSON.stringify(scorer.toArtifact()) + '\n');
  process.stdout.write(`trained a response scorer on ${fit.length} train answers in ${((performance.now() - t0) / 1000).toFixed(1)} s → ${out}\n`);
}
