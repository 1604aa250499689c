/**
 * A training view without some models (for holding a model back, e.g. to test adding it later):
 * the same prompts, every call for the remaining models forwarded to the underlying view.
 */
import type { TrainingData } from '../spec/router.js';

export function withoutModels(data: TrainingData, drop: readonly string[]): TrainingData {
  const keep = data.models.flatMap((m, k) => (drop.includes(m.id) ? [] : [k]));
  const at = (m: number): number => keep[m] as number;
  return {
    models: keep.map((k) => data.models[k] as (typeof data.models)[number]),
    size: data.size,
    text: (i) => data.text(i),
    id: (i) => data.id(i),
    score: (i, m) => data.score(i, at(m)),
    cost: (i, m) => data.cost(i, at(m)),
    inputTokens: (i, m) => data.inputTokens(i, at(m)),
    outputTokens: (i, m) => data.outputTokens(i, at(m)),
  };
}
