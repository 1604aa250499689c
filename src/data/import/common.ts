/** Pieces shared by the importers: token counting, price tables, seeded stratified splits. */
import { readFileSync } from 'node:fs';
import { countTokens } from 'gpt-tokenizer/encoding/cl100k_base';
import { z } from 'zod';
import { DataError } from '../../core/errors.js';
import { createRng, shuffleInPlace } from '../../core/random.js';
import type { MatrixRow, ModelCard, Split } from '../../spec/dataset.js';
import { formatZodIssues } from '../load.js';

export const TOKENIZER = 'cl100k_base (npm gpt-tokenizer)';

export function tokens(text: string): number {
  return text === '' ? 0 : countTokens(text);
}

export const PriceTableSchema = z.record(
  z.string(),
  z.object({ inputPricePerMTok: z.number().nonnegative(), outputPricePerMTok: z.number().nonnegative() }),
);
export type PriceTable = z.infer<typeof PriceTableSchema>;

export function readPriceTable(file: string): PriceTable {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new DataError([`${file}: cannot read price table: ${(e as Error).message}`], 'import_invalid');
  }
  const parsed = PriceTableSchema.safeParse(raw);
  if (!parsed.success) throw new DataError(formatZodIssues(file, parsed.error), 'import_invalid');
  return parsed.data;
}

/**
 * Model cards for the models seen in `rows`: prices from the table where given, otherwise a blended
 * price estimated from the recorded costs (USD per token over all input+output tokens).
 */
export function modelCards(modelIds: readonly string[], rows: readonly MatrixRow[], prices?: PriceTable): ModelCard[] {
  return modelIds.map((id) => {
    const known = prices?.[id];
    if (known) return { id, ...known, priceSource: 'price table given to the importer' };
    let cost = 0;
    let toks = 0;
    for (const r of rows) {
      const o = r.outcomes[id];
      if (!o) continue;
      cost += o.costUsd;
      toks += (o.inputTokens ?? 0) + (o.outputTokens ?? 0);
    }
    const perM = toks > 0 ? (cost / toks) * 1e6 : 0;
    const rounded = Number(perM.toPrecision(6));
    return {
      id,
      inputPricePerMTok: rounded,
      outputPricePerMTok: rounded,
      priceSource: `estimated by the importer: recorded cost / ${TOKENIZER} tokens (input and output blended)`,
    };
  });
}

/** Seeded split stratified by task: within each task, `testFraction` of prompts go to test. */
export function stratifiedSplit(
  items: ReadonlyArray<{ id: string; task: string }>,
  testFraction: number,
  seed: number,
): Map<string, Split> {
  const byTask = new Map<string, string[]>();
  for (const it of items) {
    const list = byTask.get(it.task) ?? [];
    list.push(it.id);
    byTask.set(it.task, list);
  }
  const rng = createRng(seed);
  const out = new Map<string, Split>();
  for (const task of [...byTask.keys()].sort()) {
    const ids = shuffleInPlace([...(byTask.get(task) as string[])].sort(), rng);
    const nTest = Math.round(ids.length * testFraction);
    ids.forEach((id, k) => out.set(id, k < nTest ? 'test' : 'train'));
  }
  return out;
}
