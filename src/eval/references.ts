/** Reference points computed straight from the recorded outcomes: single models and the oracle. */
import type { MatrixView } from '../data/routing-matrix.js';
import type { CostQuality, SingleModelResult } from './types.js';

/** Per-prompt columns of one single model on a view (NaN where it has no outcome). */
export function singleColumns(view: MatrixView, m: number): { cost: Float64Array; quality: Float64Array } {
  const cost = new Float64Array(view.size);
  const quality = new Float64Array(view.size);
  for (let i = 0; i < view.size; i++) {
    quality[i] = view.score(i, m);
    cost[i] = Number.isNaN(quality[i] as number) ? Number.NaN : view.cost(i, m);
  }
  return { cost, quality };
}

export function meanIgnoringNaN(values: Float64Array, idx?: readonly number[]): { mean: number; n: number } {
  let s = 0;
  let n = 0;
  const visit = (v: number): void => {
    if (!Number.isNaN(v)) {
      s += v;
      n++;
    }
  };
  if (idx) for (const i of idx) visit(values[i] as number);
  else for (const v of values) visit(v);
  return { mean: n > 0 ? s / n : Number.NaN, n };
}

export function singleResults(view: MatrixView): SingleModelResult[] {
  return view.matrix.modelIds.map((model, m) => {
    const { cost, quality } = singleColumns(view, m);
    const q = meanIgnoringNaN(quality);
    return { model, n: q.n, quality: q.mean, cost: meanIgnoringNaN(cost).mean };
  });
}

/** Oracle per prompt: the best recorded score, the cheapest model among ties. */
export function oracleColumns(view: MatrixView): { cost: Float64Array; quality: Float64Array } {
  const cost = new Float64Array(view.size);
  const quality = new Float64Array(view.size);
  const M = view.matrix.modelCount;
  for (let i = 0; i < view.size; i++) {
    let bq = -Infinity;
    let bc = Infinity;
    for (let m = 0; m < M; m++) {
      const q = view.score(i, m);
      if (Number.isNaN(q)) continue;
      const c = view.cost(i, m);
      if (q > bq || (q === bq && c < bc)) {
        bq = q;
        bc = c;
      }
    }
    quality[i] = bq === -Infinity ? Number.NaN : bq;
    cost[i] = bq === -Infinity ? Number.NaN : bc;
  }
  return { cost, quality };
}

export function columnsMean(cols: { cost: Float64Array; quality: Float64Array }, idx?: readonly number[]): CostQuality {
  return { cost: meanIgnoringNaN(cols.cost, idx).mean, quality: meanIgnoringNaN(cols.quality, idx).mean };
}
