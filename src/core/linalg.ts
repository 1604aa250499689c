/** Dense linear algebra on typed arrays: Gram matrices, Cholesky solves, PCA by subspace iteration. */
import { SwitchyardError } from './errors.js';
import { createRng } from './random.js';
import { RowMatrix } from './simd.js';

/** Column means of row vectors. */
export function columnMeans(X: readonly Float32Array[], d: number): Float64Array {
  const mean = new Float64Array(d);
  for (const x of X) for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (x[j] as number);
  for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) / Math.max(1, X.length);
  return mean;
}

/** Σ (x − mean)(x − mean)ᵀ over the given rows (all rows when `rows` is undefined), d x d. */
export function centeredGram(X: readonly Float32Array[], mean: Float64Array, rows?: ArrayLike<number>): Float64Array {
  const d = mean.length;
  const G = new Float64Array(d * d);
  const xc = new Float64Array(d);
  const n = rows ? rows.length : X.length;
  for (let r = 0; r < n; r++) {
    const x = X[rows ? (rows[r] as number) : r] as Float32Array;
    for (let j = 0; j < d; j++) xc[j] = (x[j] as number) - (mean[j] as number);
    for (let a = 0; a < d; a++) {
      const va = xc[a] as number;
      if (va === 0) continue;
      const off = a * d;
      for (let b = a; b < d; b++) G[off + b] = (G[off + b] as number) + va * (xc[b] as number);
    }
  }
  for (let a = 0; a < d; a++) for (let b = 0; b < a; b++) G[a * d + b] = G[b * d + a] as number;
  return G;
}

/** In-place Cholesky factor (lower) of a symmetric positive-definite d x d matrix. */
export function cholesky(A: Float64Array, d: number): Float64Array {
  const L = A;
  for (let j = 0; j < d; j++) {
    let s = L[j * d + j] as number;
    for (let k = 0; k < j; k++) s -= (L[j * d + k] as number) ** 2;
    if (!(s > 0)) throw new SwitchyardError('invalid_argument', 'matrix is not positive definite (increase the ridge penalty)');
    const ljj = Math.sqrt(s);
    L[j * d + j] = ljj;
    for (let i = j + 1; i < d; i++) {
      let t = L[i * d + j] as number;
      for (let k = 0; k < j; k++) t -= (L[i * d + k] as number) * (L[j * d + k] as number);
      L[i * d + j] = t / ljj;
    }
    for (let k = j + 1; k < d; k++) L[j * d + k] = 0;
  }
  return L;
}

/** Solves L Lᵀ X = B for X (d x c, row-major), overwriting B. */
export function choleskySolve(L: Float64Array, d: number, B: Float64Array, c: number): Float64Array {
  for (let col = 0; col < c; col++) {
    for (let i = 0; i < d; i++) {
      let s = B[i * c + col] as number;
      for (let k = 0; k < i; k++) s -= (L[i * d + k] as number) * (B[k * c + col] as number);
      B[i * c + col] = s / (L[i * d + i] as number);
    }
    for (let i = d - 1; i >= 0; i--) {
      let s = B[i * c + col] as number;
      for (let k = i + 1; k < d; k++) s -= (L[k * d + i] as number) * (B[k * c + col] as number);
      B[i * c + col] = s / (L[i * d + i] as number);
    }
  }
  return B;
}

export interface Pca {
  readonly mean: Float32Array;
  /** k x d, rows orthonormal, by decreasing variance. */
  readonly components: Float32Array;
  readonly k: number;
  readonly d: number;
  readonly explained: number[];
}

/** Top-k principal components by block subspace iteration on the covariance (seeded). */
export function fitPca(X: readonly Float32Array[], k: number, seed = 0, iterations = 12): Pca {
  const d = (X[0] as Float32Array).length;
  const kk = Math.min(k, d);
  const mean = columnMeans(X, d);
  const C = centeredGram(X, mean);
  const rng = createRng(seed);
  let Q = new Float64Array(d * kk).map(() => rng.next() - 0.5); // d x kk
  const Z = new Float64Array(d * kk);
  const orth = (M: Float64Array): void => {
    for (let a = 0; a < kk; a++) {
      for (let b = 0; b < a; b++) {
        let s = 0;
        for (let i = 0; i < d; i++) s += (M[i * kk + a] as number) * (M[i * kk + b] as number);
        for (let i = 0; i < d; i++) M[i * kk + a] = (M[i * kk + a] as number) - s * (M[i * kk + b] as number);
      }
      let n = 0;
      for (let i = 0; i < d; i++) n += (M[i * kk + a] as number) ** 2;
      n = Math.sqrt(n) || 1;
      for (let i = 0; i < d; i++) M[i * kk + a] = (M[i * kk + a] as number) / n;
    }
  };
  orth(Q);
  for (let it = 0; it < iterations; it++) {
    Z.fill(0);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        const cij = C[i * d + j] as number;
        if (cij === 0) continue;
        for (let a = 0; a < kk; a++) Z[i * kk + a] = (Z[i * kk + a] as number) + cij * (Q[j * kk + a] as number);
      }
    }
    orth(Z);
    Q = Float64Array.from(Z);
  }
  // Rayleigh quotients for ordering
  const eig: Array<{ a: number; v: number }> = [];
  for (let a = 0; a < kk; a++) {
    let v = 0;
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (C[i * d + j] as number) * (Q[j * kk + a] as number);
      v += s * (Q[i * kk + a] as number);
    }
    eig.push({ a, v: v / Math.max(1, X.length) });
  }
  eig.sort((x, y) => y.v - x.v);
  const components = new Float32Array(kk * d);
  eig.forEach(({ a }, r) => {
    for (let i = 0; i < d; i++) components[r * d + i] = Q[i * kk + a] as number;
  });
  return { mean: Float32Array.from(mean), components, k: kk, d, explained: eig.map((e) => e.v) };
}

/** Transposed components (d rows of k) as a SIMD row matrix and Σ_i c_ri μ_i, derived once per basis. */
const projectionCache = new WeakMap<Pca, { ct: RowMatrix; offset: Float64Array }>();

function projectionOf(p: Pca): { ct: RowMatrix; offset: Float64Array } {
  let cached = projectionCache.get(p);
  if (!cached) {
    const ct = new Float32Array(p.d * p.k);
    const offset = new Float64Array(p.k);
    for (let r = 0; r < p.k; r++) {
      let o = 0;
      for (let i = 0; i < p.d; i++) {
        const c = p.components[r * p.d + i] as number;
        ct[i * p.k + r] = c;
        o += c * (p.mean[i] as number);
      }
      offset[r] = o;
    }
    cached = { ct: new RowMatrix(ct, p.d, p.k), offset };
    projectionCache.set(p, cached);
  }
  return cached;
}

/** Projects x onto the components: C (x − mean). Zero entries of x cost nothing (sparse hashing vectors). */
export function project(p: Pca, x: Float32Array, out: Float32Array = new Float32Array(p.k)): Float32Array {
  const { ct, offset } = projectionOf(p);
  const acc = ct.combine(x);
  for (let r = 0; r < p.k; r++) out[r] = (acc[r] as number) - (offset[r] as number);
  return out;
}
