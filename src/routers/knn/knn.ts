/**
 * `knn`: a model's predicted quality on a prompt = the mean recorded score over the k most similar
 * training prompts (cosine on PCA-reduced embeddings), shrunk towards its overall mean. k is chosen
 * by leave-one-out on train: the k whose leave-one-out predictions route best (train AIQ; Brier
 * score breaks ties); those predictions are the out-of-fold predictions used for calibration.
 */
import { z } from 'zod';
import { base64ToF32, f32ToBase64 } from '../../core/encode-f32.js';
import { fitPca, project, type Pca } from '../../core/linalg.js';
import { RowMatrix } from '../../core/simd.js';
import { createRng, shuffleInPlace } from '../../core/random.js';
import { normalizeInPlace } from '../../core/vec.js';
import type { FitContext, RouterArtifact } from '../../spec/router.js';
import { parseState } from '../artifact.js';
import { PredictorRouter, predictorConfig, type PredictorOptions } from '../predictor.js';

export interface KnnOptions extends PredictorOptions {
  /** Neighbours, or `auto` (chosen by leave-one-out CV). */
  readonly k?: number | 'auto';
  /** PCA width for the search (0 = the full embedding). */
  readonly pca?: number;
  /** Pseudo-count of the shrinkage towards each model's mean. */
  readonly prior?: number;
}

const K_GRID = [5, 10, 20, 40, 80, 160, 320, 640];
const LOO_QUERIES = 3000;

const StateSchema = z.object({
  k: z.number().int().positive(),
  n: z.number().int().positive(),
  dim: z.number().int().positive(),
  vectors: z.string(),
  scores: z.string(),
  means: z.array(z.number()),
  pca: z.object({ mean: z.string(), components: z.string(), k: z.number().int(), d: z.number().int() }).nullable(),
});

/** Indices of the `k` largest values of `sims` (excluding `skip`), in no particular order. */
export function topK(sims: Float32Array, k: number, skip = -1, out: Int32Array = new Int32Array(k)): Int32Array {
  // a min-heap of the best k seen
  const heapV = new Float32Array(k);
  const heapI = out;
  let size = 0;
  const n = sims.length;
  for (let j = 0; j < n; j++) {
    if (j === skip) continue;
    const v = sims[j] as number;
    if (size < k) {
      let c = size++;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if ((heapV[p] as number) <= v) break;
        heapV[c] = heapV[p] as number;
        heapI[c] = heapI[p] as number;
        c = p;
      }
      heapV[c] = v;
      heapI[c] = j;
    } else if (v > (heapV[0] as number)) {
      let c = 0;
      for (;;) {
        const l = 2 * c + 1;
        if (l >= k) break;
        const r = l + 1;
        const s = r < k && (heapV[r] as number) < (heapV[l] as number) ? r : l;
        if ((heapV[s] as number) >= v) break;
        heapV[c] = heapV[s] as number;
        heapI[c] = heapI[s] as number;
        c = s;
      }
      heapV[c] = v;
      heapI[c] = j;
    }
  }
  return size < k ? heapI.subarray(0, size) : heapI;
}

/**
 * The same set as `topK` (ties at the boundary aside) in O(n): the k-th largest similarity by
 * quickselect on a scratch copy, then one pass. For routing, where the order does not matter.
 */
export function topKSelect(sims: Float32Array, k: number, scratch: Float32Array, out: Int32Array): Int32Array {
  const n = sims.length;
  if (k >= n) {
    for (let j = 0; j < n; j++) out[j] = j;
    return out.subarray(0, n);
  }
  const a = scratch.subarray(0, n);
  a.set(sims);
  // quickselect for the element of rank n − k (ascending), i.e. the k-th largest
  const target = n - k;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  const threshold = a[target] as number;
  let c = 0;
  for (let j = 0; j < n; j++) if ((sims[j] as number) > threshold) out[c++] = j;
  for (let j = 0; j < n && c < k; j++) if ((sims[j] as number) === threshold) out[c++] = j;
  return out.subarray(0, c);
}

export class KnnRouter extends PredictorRouter {
  readonly kind = 'knn';
  readonly version = 1;
  private kOption: number | 'auto';
  private pcaWidth: number;
  private prior: number;
  private k = 20;
  private pca: Pca | null = null;
  private vectors: Float32Array = new Float32Array(0);
  private scores: Float32Array = new Float32Array(0);
  private means: number[] = [];
  private scratch = new Float32Array(0);
  private neigh = new Int32Array(0);
  private n = 0;
  private dim = 0;
  private sims: Float32Array = new Float32Array(0);
  private qbuf: Float32Array = new Float32Array(0);

  constructor(options: KnnOptions = {}) {
    super(options);
    this.kOption = options.k ?? 'auto';
    this.pcaWidth = options.pca ?? 64;
    this.prior = options.prior ?? 2;
  }

  private reduce(x: Float32Array, out?: Float32Array): Float32Array {
    if (!this.pca) return out ? (out.set(x), out) : x;
    return normalizeInPlace(project(this.pca, x, out));
  }

  protected async fitQuality(X: readonly Float32Array[], Y: Float64Array, ctx: FitContext, trainAiq: (oof: Float64Array) => number): Promise<Float64Array> {
    const n = X.length;
    const M = this.cards.length;
    const d0 = (X[0] as Float32Array).length;
    this.pca = this.pcaWidth > 0 && this.pcaWidth < d0 ? fitPca(X, this.pcaWidth, ctx.seed) : null;
    this.dim = this.pca ? this.pca.k : d0;
    this.n = n;
    this.vectors = new Float32Array(n * this.dim);
    X.forEach((x, i) => this.vectors.set(this.reduce(x), i * this.dim));
    this.scores = Float32Array.from(Y);
    this.means = [];
    for (let m = 0; m < M; m++) {
      let s = 0;
      let c = 0;
      for (let i = 0; i < n; i++) {
        const y = Y[i * M + m] as number;
        if (!Number.isNaN(y)) {
          s += y;
          c++;
        }
      }
      this.means.push(c > 0 ? s / c : 0.5);
    }
    this.sims = new Float32Array(n);

    // leave-one-out on (a sample of) train rows: neighbours sorted by similarity, then every k at once
    const grid = K_GRID.filter((k) => k < n);
    if (grid.length === 0) grid.push(Math.max(1, n - 1));
    const kMax = this.kOption === 'auto' ? (grid[grid.length - 1] as number) : Math.min(this.kOption, n - 1);
    const queries = shuffleInPlace(Array.from({ length: n }, (_, i) => i), createRng(ctx.seed)).slice(0, LOO_QUERIES);
    const kList = this.kOption === 'auto' ? grid : [kMax];
    const neighbours = new Map<number, Int32Array>();
    for (const i of queries) {
      this.similarities(this.vectors.subarray(i * this.dim, (i + 1) * this.dim));
      const idx = Array.from(topK(this.sims, kMax, i)).sort((a, b) => (this.sims[b] as number) - (this.sims[a] as number));
      neighbours.set(i, Int32Array.from(idx));
    }
    const oofFor = (k: number): Float64Array => {
      const oof = new Float64Array(n * M).fill(Number.NaN);
      for (const [i, sorted] of neighbours) for (let m = 0; m < M; m++) oof[i * M + m] = this.aggregate(sorted.subarray(0, k), m);
      return oof;
    };
    let best: { k: number; aiq: number; brier: number; oof: Float64Array } = { k: kList[0] as number, aiq: -Infinity, brier: Infinity, oof: new Float64Array(0) };
    const notes: string[] = [];
    for (const k of kList) {
      const oof = oofFor(k);
      let sse = 0;
      let cnt = 0;
      oof.forEach((p, j) => {
        const y = Y[j] as number;
        if (Number.isNaN(p) || Number.isNaN(y)) return;
        sse += (p - y) ** 2;
        cnt++;
      });
      const brier = sse / Math.max(1, cnt);
      const aiq = kList.length > 1 ? trainAiq(oof) : 0;
      notes.push(`${k}:${aiq.toFixed(4)}/${brier.toFixed(4)}`);
      if (aiq > best.aiq + 1e-9 || (Math.abs(aiq - best.aiq) <= 1e-9 && brier < best.brier)) best = { k, aiq, brier, oof };
    }
    this.k = best.k;
    ctx.log?.(`knn: k=${this.k} (leave-one-out train AIQ/Brier by k: ${notes.join(' ')})`);
    return best.oof;
  }

  /** The training vectors as a SIMD row matrix (built once per set of vectors). */
  private matrix: { readonly of: Float32Array; readonly rows: RowMatrix } | undefined;

  /** this.sims = similarity of q to every training prompt (a view, valid until the next call). */
  private similarities(q: Float32Array): void {
    if (this.matrix?.of !== this.vectors) this.matrix = { of: this.vectors, rows: new RowMatrix(this.vectors, this.n, this.dim) };
    this.sims = this.matrix.rows.dots(q);
  }

  private aggregate(neigh: ArrayLike<number>, m: number): number {
    const M = this.cards.length;
    let s = this.prior * (this.means[m] as number);
    let c = this.prior;
    for (let t = 0; t < neigh.length; t++) {
      const y = this.scores[(neigh[t] as number) * M + m] as number;
      if (Number.isNaN(y)) continue;
      s += y;
      c++;
    }
    return s / c;
  }

  protected predictQuality(x: Float32Array, out: Float64Array, offset: number): void {
    if (this.qbuf.length !== this.dim) this.qbuf = new Float32Array(this.dim);
    const q = this.reduce(x, this.qbuf);
    this.similarities(q);
    const k = Math.min(this.k, this.n);
    if (this.scratch.length !== this.n) this.scratch = new Float32Array(this.n);
    if (this.neigh.length !== k) this.neigh = new Int32Array(k);
    const neigh = topKSelect(this.sims, k, this.scratch, this.neigh);
    for (let m = 0; m < this.cards.length; m++) out[offset + m] = this.aggregate(neigh, m);
  }

  protected familyConfig(): Record<string, unknown> {
    return { k: this.kOption, pca: this.pcaWidth, prior: this.prior };
  }

  protected familyState(): unknown {
    return {
      k: this.k,
      n: this.n,
      dim: this.dim,
      vectors: f32ToBase64(this.vectors),
      scores: f32ToBase64(this.scores),
      means: this.means,
      pca: this.pca ? { mean: f32ToBase64(this.pca.mean), components: f32ToBase64(this.pca.components), k: this.pca.k, d: this.pca.d } : null,
    };
  }

  protected restoreFamily(_config: Readonly<Record<string, unknown>>, state: unknown): void {
    const s = parseState(StateSchema, state, this.kind);
    this.k = s.k;
    this.n = s.n;
    this.dim = s.dim;
    this.vectors = base64ToF32(s.vectors);
    this.scores = base64ToF32(s.scores);
    this.means = s.means;
    this.pca = s.pca ? { mean: base64ToF32(s.pca.mean), components: base64ToF32(s.pca.components), k: s.pca.k, d: s.pca.d, explained: [] } : null;
    this.sims = new Float32Array(this.n);
  }

  static fromArtifact(a: RouterArtifact): KnnRouter {
    const c = a.config;
    const k = c['k'] === 'auto' ? 'auto' : Number(c['k']);
    return new KnnRouter({ ...predictorConfig(c), k, pca: Number(c['pca'] ?? 64), prior: Number(c['prior'] ?? 2) }).restore(a);
  }
}
