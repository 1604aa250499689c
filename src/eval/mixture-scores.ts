/**
 * Scores for crediting soft routing with a deployable post-generation choice: a response scorer
 * fitted on the train split's recorded answers scores every test answer (n×M, NaN where the dataset
 * has no answer text). See EvalRouter.mixtureScores.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { streamResponses } from '../data/load.js';
import type { MatrixView } from '../data/routing-matrix.js';
import { ResponseScorer, type ResponseItem, type ScoredResponse } from '../routers/post-generation/response-scorer.js';
import type { Router } from '../spec/router.js';

export function hasResponses(view: MatrixView): boolean {
  return view.matrix.dir !== undefined && existsSync(join(view.matrix.dir, 'responses.jsonl.gz'));
}

/** The recorded answers of `train`'s prompts with their scores, and (optionally) those of `test` to score. */
export async function readAnswers(train: MatrixView, test?: MatrixView): Promise<{ fit: ScoredResponse[]; items: ResponseItem[]; slots: number[] }> {
  const dir = train.matrix.dir as string;
  const M = train.matrix.modelCount;
  const trainRow = new Map<string, number>();
  const testRow = new Map<string, number>();
  for (let i = 0; i < train.size; i++) trainRow.set(train.id(i), i);
  if (test) for (let i = 0; i < test.size; i++) testRow.set(test.id(i), i);
  const fit: ScoredResponse[] = [];
  const items: ResponseItem[] = [];
  const slots: number[] = [];
  for await (const r of streamResponses(dir)) {
    const m = train.matrix.modelIndex(r.model);
    if (m === undefined) continue;
    const i = trainRow.get(r.id);
    if (i !== undefined) {
      const score = train.score(i, m);
      if (!Number.isNaN(score)) fit.push({ prompt: train.text(i), model: r.model, response: r.response, score });
      continue;
    }
    const k = testRow.get(r.id);
    if (k !== undefined && test) {
      items.push({ prompt: test.text(k), model: r.model, response: r.response });
      slots.push(k * M + m);
    }
  }
  return { fit, items, slots };
}

export async function responseScorerColumns(train: MatrixView, test: MatrixView, seed: number, log?: (line: string) => void): Promise<Float64Array> {
  const { fit, items, slots } = await readAnswers(train, test);
  const t0 = performance.now();
  const scorer = await ResponseScorer.fit(fit, { seed });
  const predicted = await scorer.score(items);
  const out = new Float64Array(test.size * test.matrix.modelCount).fill(Number.NaN);
  slots.forEach((slot, k) => (out[slot] = predicted[k] as number));
  log?.(`response scorer: fitted on ${fit.length} train answers, scored ${items.length} test answers in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
  return out;
}

/** A cascade router's own judge's ratings of every test answer (n×M, NaN where the dataset has no answer text). See EvalRouter.judged. */
export async function judgedColumns(router: Router, train: MatrixView, test: MatrixView): Promise<Float64Array> {
  const out = new Float64Array(test.size * test.matrix.modelCount).fill(Number.NaN);
  if (!router.judgeAnswers || !hasResponses(test)) return out;
  const { items, slots } = await readAnswers(train, test);
  const rated = await router.judgeAnswers(items.map((x) => ({ prompt: x.prompt, model: x.model, answer: x.response })));
  slots.forEach((slot, k) => (out[slot] = rated[k] as number));
  return out;
}
