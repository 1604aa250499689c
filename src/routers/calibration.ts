/**
 * Calibration of predicted qualities: Platt scaling per model (q' = σ(a · logit(q) + b), fitted by
 * Newton's method on out-of-fold predictions, cross-entropy against the recorded scores). It is
 * smooth and monotone, so it keeps every model's ranking of prompts while making the models'
 * predictions comparable; the expected calibration error (10 equal-width bins) reports the result.
 */
export interface Platt {
  readonly a: number;
  readonly b: number;
}

const EPS = 1e-4;

export function logit(p: number): number {
  const q = p < EPS ? EPS : p > 1 - EPS ? 1 - EPS : Number.isNaN(p) ? 0.5 : p;
  return Math.log(q / (1 - q));
}

export function fitPlatt(pred: readonly number[], target: readonly number[], iterations = 50): Platt {
  let a = 1;
  let b = 0;
  const x = pred.map(logit);
  const n = x.length;
  if (n < 10) return { a, b };
  for (let it = 0; it < iterations; it++) {
    // gradient and Hessian of the mean cross-entropy, with a small ridge towards (1, 0)
    let ga = 1e-3 * (a - 1);
    let gb = 1e-3 * b;
    let haa = 1e-3;
    let hab = 0;
    let hbb = 1e-3;
    for (let i = 0; i < n; i++) {
      const xi = x[i] as number;
      const p = 1 / (1 + Math.exp(-(a * xi + b)));
      const r = (p - (target[i] as number)) / n;
      const w = (p * (1 - p)) / n;
      ga += r * xi;
      gb += r;
      haa += w * xi * xi;
      hab += w * xi;
      hbb += w;
    }
    const det = haa * hbb - hab * hab;
    if (!(Math.abs(det) > 1e-18)) break;
    const da = (hbb * ga - hab * gb) / det;
    const db = (haa * gb - hab * ga) / det;
    a -= da;
    b -= db;
    if (Math.abs(da) + Math.abs(db) < 1e-9) break;
  }
  return { a: Number(a.toFixed(6)), b: Number(b.toFixed(6)) };
}

export function applyPlatt(c: Platt, p: number): number {
  return 1 / (1 + Math.exp(-(c.a * logit(p) + c.b)));
}

/** Expected calibration error over 10 equal-width bins of the prediction. */
export function expectedCalibrationError(pred: readonly number[], target: readonly number[], bins = 10): number {
  const sumP = new Float64Array(bins);
  const sumY = new Float64Array(bins);
  pred.forEach((p, i) => {
    const b = Math.min(bins - 1, Math.max(0, Math.floor(p * bins)));
    sumP[b] = (sumP[b] as number) + p;
    sumY[b] = (sumY[b] as number) + (target[i] as number);
  });
  let ece = 0;
  for (let b = 0; b < bins; b++) ece += Math.abs((sumP[b] as number) - (sumY[b] as number));
  return pred.length > 0 ? ece / pred.length : 0;
}

/** Per-model Platt fits on an out-of-fold matrix (n x M, NaN = no prediction or no score). */
export function fitCalibrators(oof: Float64Array, Y: Float64Array, M: number): { calibrators: Platt[]; raw: { p: number[]; y: number[] }[] } {
  const calibrators: Platt[] = [];
  const raw: { p: number[]; y: number[] }[] = [];
  for (let m = 0; m < M; m++) {
    const p: number[] = [];
    const y: number[] = [];
    for (let k = m; k < oof.length; k += M) {
      if (Number.isNaN(oof[k] as number) || Number.isNaN(Y[k] as number)) continue;
      p.push(oof[k] as number);
      y.push(Y[k] as number);
    }
    calibrators.push(fitPlatt(p, y));
    raw.push({ p, y });
  }
  return { calibrators, raw };
}

export function applyCalibrators(oof: Float64Array, calibrators: readonly Platt[], M: number): Float64Array {
  return oof.map((v, k) => (Number.isNaN(v) ? v : applyPlatt(calibrators[k % M] as Platt, v)));
}
