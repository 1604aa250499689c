/** Small generated routing matrices for tests: prompts whose topic decides which model is right. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRng } from '../../src/core/random.js';
import { buildMatrix } from '../../src/data/load.js';
import type { RoutingMatrix } from '../../src/data/routing-matrix.js';
import { writeDataset } from '../../src/data/write.js';
import type { DatasetMeta, MatrixRow, ResponseRow } from '../../src/spec/dataset.js';

export const TOPICS = ['math', 'code', 'chat', 'law'] as const;
const WORDS: Record<(typeof TOPICS)[number], string[]> = {
  math: ['integral', 'equation', 'prime', 'matrix', 'derivative', 'sum'],
  code: ['python', 'function', 'compile', 'bug', 'array', 'loop'],
  chat: ['hello', 'weather', 'movie', 'friend', 'recipe', 'travel'],
  law: ['contract', 'court', 'statute', 'liability', 'tenant', 'appeal'],
};

export interface SyntheticOptions {
  readonly prompts?: number;
  readonly models?: number;
  readonly seed?: number;
  readonly name?: string;
  /** Also write answer texts (responses.jsonl.gz): a right answer reads differently from a wrong one, with noise. */
  readonly answers?: boolean;
}

/**
 * Model 0 is strong and dear; the others are cheap specialists, each good on some topics.
 * So a router that reads the prompt can beat every fixed model.
 */
export function syntheticRows(options: SyntheticOptions = {}): { meta: DatasetMeta; rows: MatrixRow[] } {
  const n = options.prompts ?? 200;
  const M = options.models ?? 4;
  const rng = createRng(options.seed ?? 7);
  const models = Array.from({ length: M }, (_, m) => ({
    id: m === 0 ? 'big-model' : `small-${m}`,
    provider: 'test',
    inputPricePerMTok: m === 0 ? 10 : 0.2 * m,
    outputPricePerMTok: m === 0 ? 30 : 0.4 * m,
  }));
  const rows: MatrixRow[] = [];
  for (let i = 0; i < n; i++) {
    const topicIdx = rng.int(TOPICS.length);
    const topic = TOPICS[topicIdx] as (typeof TOPICS)[number];
    const words = Array.from({ length: 6 }, () => WORDS[topic][rng.int(6)]).join(' ');
    const prompt = `Question ${i} about ${words}?`;
    const outcomes: MatrixRow['outcomes'] = {};
    models.forEach((card, m) => {
      const pGood = m === 0 ? 0.85 : (topicIdx % (M - 1)) + 1 === m ? 0.9 : 0.3;
      const inputTokens = 10 + rng.int(20);
      const outputTokens = 20 + rng.int(50);
      outcomes[card.id] = {
        score: rng.next() < pGood ? 1 : 0,
        costUsd: (inputTokens * card.inputPricePerMTok + outputTokens * card.outputPricePerMTok) / 1e6,
        inputTokens,
        outputTokens,
      };
    });
    rows.push({ id: `p${i}`, prompt, task: topic, split: i % 4 === 0 ? 'test' : 'train', outcomes });
  }
  const meta: DatasetMeta = { name: options.name ?? 'synthetic', scoreKind: 'binary', costModel: 'tokens x list price', models };
  return { meta, rows };
}

export function syntheticMatrix(options: SyntheticOptions = {}): RoutingMatrix {
  const { meta, rows } = syntheticRows(options);
  return buildMatrix(meta, rows);
}

/** Writes a synthetic dataset to a fresh temp folder and returns its path. */
export function syntheticDir(options: SyntheticOptions = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-syn-'));
  const { meta, rows } = syntheticRows(options);
  writeDataset(dir, meta, rows, options.answers ? syntheticAnswers(rows, options.seed ?? 7) : []);
  return dir;
}

/** Answer texts for synthetic rows: a right answer usually states a result, a wrong one usually hedges (15% the other way). */
export function syntheticAnswers(rows: readonly MatrixRow[], seed: number): ResponseRow[] {
  const rng = createRng(seed + 1);
  const out: ResponseRow[] = [];
  for (const row of rows) {
    for (const [model, o] of Object.entries(row.outcomes)) {
      const right = (o.score >= 0.5) !== rng.next() < 0.15;
      const response = right ? `The result is ${rng.int(100)}. Checked twice, so this answer is final.` : `I am not sure; perhaps ${rng.int(100)}, or maybe something else entirely.`;
      out.push({ id: row.id, model, response });
    }
  }
  return out;
}
