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

export function fitPlatt(pred: readonly number[], target: readonly number[], iterations = 100): Platt {
  const x = pred.map(logit);
  const n = x.length;
  if (n < 10) return { a: 1, b: 0 };
  const RIDGE = 1e-3; // a small pull towards the identity map (a = 1, b = 0)
  const loss = (a: number, b: number): number => {
    let l = RIDGE * ((a - 1) ** 2 + b * b) * 0.5;
    for (let i = 0; i < n; i++) {
      const z = a * (x[i] as number) + b;
      const y = target[i] as number;
      // log(1 + e^z) − y z, computed stably
      l += ((z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z))) - y * z) / n;
    }
    return l;
  };
  let a = 1;
  let b = 0;
  let current = loss(a, b);
  for (let it = 0; it < iterations; it++) {
    let ga = RIDGE * (a - 1);
    let gb = RIDGE * b;
    let haa = RIDGE;
    let hab = 0;
    let hbb = RIDGE;
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
    // damped Newton: halve the step until the loss goes down
    let t = 1;
    let next = loss(a - da, b - db);
    while (next > current && t > 1e-6) {
      t /= 2;
      next = loss(a - t * da, b - t * db);
    }
    if (next > current) break;
    a -= t * da;
    b -= t * db;
    const moved = current - next;
    current = next;
    if (moved < 1e-12) break;
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
