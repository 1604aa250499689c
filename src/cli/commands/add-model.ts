import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DataError, SwitchyardError, invalidArgument } from '../../core/errors.js';
import { createRng, shuffleInPlace } from '../../core/random.js';
import { formatZodIssues } from '../../data/load.js';
import { openDataset } from '../../data/open.js';
import { readArtifactFile } from '../../routers/artifact.js';
import { CrossAttentionRouter, type LabelledOutcome } from '../../routers/cross-attention/cross-attention.js';
import { routerFromArtifact } from '../../routers/registry.js';
import type { ModelCard } from '../../spec/dataset.js';
import { numberFlag, parse, prepareOutput, requireString, writeOutput } from '../args.js';

const USAGE = `usage: switchyard add-model --router ROUTER.json --model ID --out NEW.json
         (--data DIR [--labelled N] [--seed N] | --labels FILE.jsonl --input-price P --output-price P)

Adds a model to a trained cross-attention router without retraining it: the new model's embedding
starts from the existing models whose predictions correlate best with its scores on a few labelled
prompts, and is then fitted on those prompts alone (docs/cross-attention.md).

  --data DIR          take the model's card and its recorded scores on N random train prompts from a dataset
  --labelled N        how many labelled prompts (default 50)
  --labels FILE       JSON lines {"prompt": "...", "score": 0..1, "outputTokens": n (optional)}
  --input-price P     USD per million input tokens (with --labels)
  --output-price P    USD per million output tokens (with --labels)`;

const LabelSchema = z.object({ prompt: z.string().min(1), score: z.number().min(0).max(1), outputTokens: z.number().nonnegative().optional() });

function readLabels(file: string): LabelledOutcome[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SwitchyardError('data_not_found', `--labels: cannot read ${file}: ${(e as Error).message}`);
  }
  const out: LabelledOutcome[] = [];
  const errors: string[] = [];
  text.split('\n').forEach((line, k) => {
    if (line.trim() === '') return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (e) {
      errors.push(`${file}:${k + 1}: invalid JSON: ${(e as Error).message}`);
      return;
    }
    const r = LabelSchema.safeParse(raw);
    if (!r.success) errors.push(...formatZodIssues(`${file}:${k + 1}`, r.error));
    else out.push({ prompt: { text: r.data.prompt }, score: r.data.score, ...(r.data.outputTokens !== undefined ? { outputTokens: r.data.outputTokens } : {}) });
  });
  if (errors.length > 0) throw new DataError(errors);
  return out;
}

export async function runAddModel(argv: string[]): Promise<void> {
  const { values } = parse(
    argv,
    { router: { type: 'string' }, model: { type: 'string' }, out: { type: 'string' }, data: { type: 'string' }, labelled: { type: 'string' }, seed: { type: 'string' }, labels: { type: 'string' }, 'input-price': { type: 'string' }, 'output-price': { type: 'string' } },
    USAGE,
  );
  const routerFile = requireString(values, 'router', USAGE);
  const id = requireString(values, 'model', USAGE);
  const out = requireString(values, 'out', USAGE);
  prepareOutput('out', out);
  const router = await routerFromArtifact(readArtifactFile(routerFile));
  if (!(router instanceof CrossAttentionRouter)) throw invalidArgument(`--router: only a cross-attention router can add a model without retraining (${routerFile} is ${router.kind}); retrain it with the new model instead`);
  let card: ModelCard;
  let labelled: LabelledOutcome[];
  if (typeof values['data'] === 'string') {
    const matrix = openDataset(values['data']);
    const m = matrix.modelIndex(id);
    if (m === undefined) throw invalidArgument(`--model: ${values['data']} has no model "${id}" (it has ${matrix.modelIds.join(', ')})`);
    card = matrix.models[m] as ModelCard;
    const n = numberFlag(values, 'labelled', 50, (v) => Number.isInteger(v) && v >= 2, 'an integer ≥ 2');
    const train = matrix.view('train');
    const rows = shuffleInPlace(Array.from({ length: train.size }, (_, i) => i), createRng(numberFlag(values, 'seed', 0, Number.isInteger, 'an integer')))
      .filter((i) => !Number.isNaN(train.score(i, m)))
      .slice(0, n);
    labelled = rows.map((i) => ({ prompt: { text: train.text(i) }, score: train.score(i, m), outputTokens: train.outputTokens(i, m) }));
  } else if (typeof values['labels'] === 'string') {
    const price = (name: string): number => {
      if (values[name] === undefined) throw invalidArgument(`--${name} is required with --labels\n\n${USAGE}`);
      return numberFlag(values, name, 0, (v) => v >= 0, 'a price ≥ 0 (USD per million tokens)');
    };
    card = { id, inputPricePerMTok: price('input-price'), outputPricePerMTok: price('output-price') };
    labelled = readLabels(values['labels']);
  } else {
    throw invalidArgument(`give --data DIR or --labels FILE\n\n${USAGE}`);
  }
  const t0 = performance.now();
  const report = await router.addModel(card, labelled);
  writeOutput('out', out, JSON.stringify(router.toArtifact()) + '\n');
  const near = report.neighbours.map((nb) => `${nb.model} (r = ${nb.correlation.toFixed(2)})`).join(', ') || 'none (random start)';
  process.stdout.write(`added ${id} from ${report.prompts} labelled prompts in ${((performance.now() - t0) / 1000).toFixed(1)} s; started from ${near} → ${out}\n`);
}
