/**
 * `linear`: per-model ridge regression of the recorded score on the prompt embedding (one shared
 * Gram matrix, all models solved at once). The penalty is chosen by 5-fold cross-validation on
 * train — the folds' Gram matrices are subtracted from the full one, so each fold costs one solve —
 * by the train AIQ of the folds' out-of-fold routing (mean squared error breaks ties).
 */
import { z } from 'zod';
import { base64ToF32, f32ToBase64 } from '../../core/encode-f32.js';
import { centeredGram, cholesky, choleskySolve, columnMeans } from '../../core/linalg.js';
import { createRng, shuffleInPlace } from '../../core/random.js';
import type { FitContext, RouterArtifact } from '../../spec/router.js';
import { parseState } from '../artifact.js';
import { PredictorRouter, predictorConfig, type PredictorOptions } from '../predictor.js';

export interface LinearOptions extends PredictorOptions {
  /** Ridge penalty relative to the mean feature variance, or `auto` (CV over 1e-3 … 10). */
  readonly alpha?: number | 'auto';
}

const ALPHAS = [1e-2, 1e-1, 1, 10, 100];
const FOLDS = 5;

const StateSchema = z.object({
  alpha: z.number(),
  d: z.number().int().positive(),
  xMean: z.string(),
  yMean: z.array(z.number()),
  weights: z.string(),
});

function solveRidge(G: Float64Array, B: Float64Array, d: number, M: number, penalty: number): Float64Array {
  const A = Float64Array.from(G);
  for (let j = 0; j < d; j++) A[j * d + j] = (A[j * d + j] as number) + penalty;
  return choleskySolve(cholesky(A, d), d, Float64Array.from(B), M);
}

export class LinearRouter extends PredictorRouter {
  readonly kind = 'linear';
  readonly version = 1;
  private alphaOption: number | 'auto';
  private alpha = 1;
  private d = 0;
  private xMean: Float64Array = new Float64Array(0);
  private yMean: number[] = [];
  /** d x M, row-major. */
  private W: Float64Array = new Float64Array(0);
  /** yMean − xMeanᵀW for the W it was computed from: a prediction then reads only x's non-zero entries. */
  private intercept: { readonly W: Float64Array; readonly b: Float64Array } | undefined;

  constructor(options: LinearOptions = {}) {
    super(options);
    this.alphaOption = options.alpha ?? 'auto';
  }

  protected async fitQuality(X: readonly Float32Array[], Y: Float64Array, ctx: FitContext, trainAiq: (oof: Float64Array) => number): Promise<Float64Array> {
    const n = X.length;
    const M = this.cards.length;
    const d = (X[0] as Float32Array).length;
    this.d = d;
    this.xMean = columnMeans(X, d);
    this.yMean = [];
    for (let m = 0; m < M; m++) {
      let s = 0;
      let c = 0;
      for (let i = 0; i < n; i++) if (!Number.isNaN(Y[i * M + m] as number)) (s += Y[i * M + m] as number), c++;
      this.yMean.push(c > 0 ? s / c : 0.5);
    }
    const G = centeredGram(X, this.xMean);
    const B = this.crossProducts(X, Y, undefined);
    let trace = 0;
    for (let j = 0; j < d; j++) trace += G[j * d + j] as number;
    const unit = trace / d || 1;

    const order = shuffleInPlace(Array.from({ length: n }, (_, i) => i), createRng(ctx.seed));
    const folds = Array.from({ length: FOLDS }, (_, f) => order.filter((_, k) => k % FOLDS === f));
    const foldG = folds.map((rows) => centeredGram(X, this.xMean, rows));
    const foldB = folds.map((rows) => this.crossProducts(X, Y, rows));
    const alphas = this.alphaOption === 'auto' ? ALPHAS : [this.alphaOption];
    let best: { alpha: number; aiq: number; mse: number; oof: Float64Array } = { alpha: alphas[0] as number, aiq: -Infinity, mse: Infinity, oof: new Float64Array(0) };
    const notes: string[] = [];
    for (const alpha of alphas) {
      const oof = new Float64Array(n * M).fill(Number.NaN);
      folds.forEach((rows, f) => {
        const Gf = G.map((v, k) => v - (foldG[f] as Float64Array)[k]!);
        const Bf = B.map((v, k) => v - (foldB[f] as Float64Array)[k]!);
        this.W = solveRidge(Gf, Bf, d, M, alpha * unit);
        for (const i of rows) this.predictRaw(X[i] as Float32Array, oof, i * M);
      });
      let sse = 0;
      let cnt = 0;
      oof.forEach((p, k) => {
        const y = Y[k] as number;
        if (!Number.isNaN(y)) (sse += (p - y) ** 2), cnt++;
      });
      const mse = sse / Math.max(1, cnt);
      const aiq = alphas.length > 1 ? trainAiq(oof) : 0;
      notes.push(`${alpha}:${aiq.toFixed(4)}/${mse.toFixed(4)}`);
      if (aiq > best.aiq + 1e-9 || (Math.abs(aiq - best.aiq) <= 1e-9 && mse < best.mse)) best = { alpha, aiq, mse, oof };
    }
    this.alpha = best.alpha;
    this.W = solveRidge(G, B, d, M, this.alpha * unit);
    ctx.log?.(`linear: alpha=${this.alpha} (5-fold train AIQ/MSE by alpha: ${notes.join(' ')})`);
    return best.oof;
  }

  /** Σ (x − x̄)(y − ȳ) over rows, d x M; a missing score counts as the model's mean (no signal). */
  private crossProducts(X: readonly Float32Array[], Y: Float64Array, rows: readonly number[] | undefined): Float64Array {
    const d = this.d;
    const M = this.cards.length;
    const B = new Float64Array(d * M);
    const list = rows ?? X.map((_, i) => i);
    for (const i of list) {
      const x = X[i] as Float32Array;
      for (let m = 0; m < M; m++) {
        const y = Y[i * M + m] as number;
        if (Number.isNaN(y)) continue;
        const r = y - (this.yMean[m] as number);
        for (let j = 0; j < d; j++) B[j * M + m] = (B[j * M + m] as number) + ((x[j] as number) - (this.xMean[j] as number)) * r;
      }
    }
    return B;
  }

  private predictRaw(x: Float32Array, out: Float64Array, offset: number): void {
    const d = this.d;
    const M = this.cards.length;
    if (this.intercept?.W !== this.W) {
      const b = Float64Array.from(this.yMean);
      for (let j = 0; j < d; j++) for (let m = 0; m < M; m++) b[m] = (b[m] as number) - (this.xMean[j] as number) * (this.W[j * M + m] as number);
      this.intercept = { W: this.W, b };
    }
    for (let m = 0; m < M; m++) out[offset + m] = this.intercept.b[m] as number;
    for (let j = 0; j < d; j++) {
      const v = x[j] as number;
      if (v === 0) continue; // hashing embeddings are sparse
      const off = j * M;
      for (let m = 0; m < M; m++) out[offset + m] = (out[offset + m] as number) + v * (this.W[off + m] as number);
    }
  }

  protected predictQuality(x: Float32Array, out: Float64Array, offset: number): void {
    this.predictRaw(x, out, offset);
  }

  protected familyConfig(): Record<string, unknown> {
    return { alpha: this.alphaOption };
  }

  protected familyState(): unknown {
    return { alpha: this.alpha, d: this.d, xMean: f32ToBase64(Float32Array.from(this.xMean)), yMean: this.yMean, weights: f32ToBase64(Float32Array.from(this.W)) };
  }

  protected restoreFamily(_config: Readonly<Record<string, unknown>>, state: unknown): void {
    const s = parseState(StateSchema, state, this.kind);
    this.alpha = s.alpha;
    this.d = s.d;
    this.xMean = Float64Array.from(base64ToF32(s.xMean));
    this.yMean = s.yMean;
    this.W = Float64Array.from(base64ToF32(s.weights));
  }

  static fromArtifact(a: RouterArtifact): LinearRouter {
    const c = a.config;
    return new LinearRouter({ ...predictorConfig(c), alpha: c['alpha'] === 'auto' ? 'auto' : Number(c['alpha']) }).restore(a);
  }
}
