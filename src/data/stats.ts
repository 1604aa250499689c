/** Per-model summaries over a training view (recorded outcomes only; absent outcomes are skipped). */
import type { TrainingData } from '../spec/router.js';

export interface ModelStats {
  readonly model: string;
  readonly n: number;
  readonly meanScore: number;
  readonly meanCost: number;
  readonly meanInputTokens: number;
  readonly meanOutputTokens: number;
}

export function modelStats(data: TrainingData): ModelStats[] {
  return data.models.map((card, m) => {
    let n = 0;
    let s = 0;
    let c = 0;
    let it = 0;
    let ot = 0;
    let tokN = 0;
    for (let i = 0; i < data.size; i++) {
      const score = data.score(i, m);
      if (Number.isNaN(score)) continue;
      n++;
      s += score;
      c += data.cost(i, m);
      const a = data.inputTokens(i, m);
      const b = data.outputTokens(i, m);
      if (!Number.isNaN(a) && !Number.isNaN(b)) {
        it += a;
        ot += b;
        tokN++;
      }
    }
    return {
      model: card.id,
      n,
      meanScore: n > 0 ? s / n : Number.NaN,
      meanCost: n > 0 ? c / n : Number.NaN,
      meanInputTokens: tokN > 0 ? it / tokN : Number.NaN,
      meanOutputTokens: tokN > 0 ? ot / tokN : Number.NaN,
    };
  });
}

/** Models ordered best first: higher mean score, then cheaper. Models with no outcomes go last. */
export function rankByQuality(stats: readonly ModelStats[]): string[] {
  return [...stats]
    .sort((a, b) => (Number.isNaN(a.meanScore) ? 1 : 0) - (Number.isNaN(b.meanScore) ? 1 : 0) || b.meanScore - a.meanScore || a.meanCost - b.meanCost)
    .map((s) => s.model);
}

/** Models ordered cheapest first (then better). */
export function rankByCost(stats: readonly ModelStats[]): string[] {
  return [...stats]
    .sort((a, b) => (Number.isNaN(a.meanCost) ? 1 : 0) - (Number.isNaN(b.meanCost) ? 1 : 0) || a.meanCost - b.meanCost || b.meanScore - a.meanScore)
    .map((s) => s.model);
}
