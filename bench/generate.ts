/** A generated routing matrix of any size (for benchmarks): N test prompts (+ N/4 train) x M models, seeded. */
import { createRng } from '../src/core/random.js';
import type { DatasetMeta, MatrixRow } from '../src/spec/dataset.js';

const VOCAB = 'the a of to and in is for on with how what why explain write code function data model price cost quality fast slow best worst list sort graph tree number prime sum story poem email legal medical math physics chemistry history'.split(' ');

export function generateMatrix(n: number, M: number, seed = 1, trainCount?: number): { meta: DatasetMeta; rows: MatrixRow[] } {
  const rng = createRng(seed);
  const models = Array.from({ length: M }, (_, m) => {
    const price = 0.1 * Math.pow(1.18, m);
    return { id: `model-${String(m).padStart(2, '0')}`, inputPricePerMTok: Number(price.toFixed(4)), outputPricePerMTok: Number((price * 3).toFixed(4)) };
  });
  const skill = models.map((_, m) => 0.35 + (0.55 * m) / (M - 1));
  const rows: MatrixRow[] = [];
  const nTrain = trainCount ?? Math.ceil(n / 4);
  for (let i = 0; i < n + nTrain; i++) {
    const len = 8 + rng.int(40);
    const prompt = Array.from({ length: len }, () => VOCAB[rng.int(VOCAB.length)]).join(' ');
    const difficulty = rng.next();
    const outcomes: MatrixRow['outcomes'] = {};
    models.forEach((card, m) => {
      const inputTokens = len + 5;
      const outputTokens = 20 + rng.int(300);
      const p = Math.min(0.98, Math.max(0.02, (skill[m] as number) + 0.5 * (0.5 - difficulty)));
      outcomes[card.id] = {
        score: rng.next() < p ? 1 : 0,
        costUsd: (inputTokens * card.inputPricePerMTok + outputTokens * card.outputPricePerMTok) / 1e6,
        inputTokens,
        outputTokens,
      };
    });
    rows.push({ id: `g${i}`, prompt, task: `task-${i % 12}`, split: i < nTrain ? 'train' : 'test', outcomes });
  }
  return { meta: { name: `generated-${n}x${M}`, scoreKind: 'binary', costModel: 'tokens x list price', models }, rows };
}
