/**
 * Seeded bootstrap of per-prompt columns: for each resample of the prompts (with replacement), the
 * mean of every column. A column may hold NaN where a value is absent (a single model with no
 * outcome on that prompt); its mean is then over the present values only.
 */
import { createRng } from '../core/random.js';

export interface BootstrapMeans {
  readonly resamples: number;
  readonly columns: number;
  /** resamples x columns, row-major. */
  readonly means: Float64Array;
}

export function bootstrapMeans(columns: readonly Float64Array[], n: number, resamples: number, seed: number): BootstrapMeans {
  const C = columns.length;
  const dense: number[] = [];
  const sparse: number[] = [];
  columns.forEach((col, c) => (col.some((v) => Number.isNaN(v)) ? sparse : dense).push(c));
  const D = dense.length;
  const packed = new Float64Array(n * D);
  for (let i = 0; i < n; i++) for (let k = 0; k < D; k++) packed[i * D + k] = (columns[dense[k] as number] as Float64Array)[i] as number;

  const means = new Float64Array(resamples * C);
  const rng = createRng(seed);
  const acc = new Float64Array(D);
  const counts = new Uint32Array(n);
  for (let b = 0; b < resamples; b++) {
    counts.fill(0);
    for (let k = 0; k < n; k++) {
      const i = rng.int(n);
      counts[i] = (counts[i] as number) + 1;
    }
    acc.fill(0);
    for (let i = 0; i < n; i++) {
      const w = counts[i] as number;
      if (w === 0) continue;
      const off = i * D;
      for (let k = 0; k < D; k++) acc[k] = (acc[k] as number) + w * (packed[off + k] as number);
    }
    for (let k = 0; k < D; k++) means[b * C + (dense[k] as number)] = (acc[k] as number) / n;
    for (const c of sparse) {
      const col = columns[c] as Float64Array;
      let s = 0;
      let w = 0;
      for (let i = 0; i < n; i++) {
        const cnt = counts[i] as number;
        const v = col[i] as number;
        if (cnt === 0 || Number.isNaN(v)) continue;
        s += cnt * v;
        w += cnt;
      }
      means[b * C + c] = w > 0 ? s / w : Number.NaN;
    }
  }
  return { resamples, columns: C, means };
}
