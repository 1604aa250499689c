/**
 * `mf`: matrix factorisation in the style of RouteLLM, generalised from two models to N. Each model
 * has a learned embedding v_m; the prompt's embedding is projected to the same space, z = P x; the
 * score is s_m = b_m + v_m · z and the predicted quality σ(s_m). Trained on the recorded outcomes
 * pointwise (cross-entropy), pairwise (Bradley–Terry on every pair of models that scored
 * differently on a prompt, as RouteLLM trains on win/loss pairs) or both; Adam with early stopping.
 */
import { z } from 'zod';
import { base64ToF32, f32ToBase64 } from '../../core/encode-f32.js';
import { createRng } from '../../core/random.js';
import type { FitContext, RouterArtifact } from '../../spec/router.js';
import { parseState } from '../artifact.js';
import { PredictorRouter, predictorConfig, type PredictorOptions } from '../predictor.js';
import { sigmoid } from '../nn/adam.js';
import { InputStateSchema, InputTransform } from '../nn/input.js';
import { crossFit, type CrossFittable } from '../nn/train-loop.js';

export type MfLoss = 'pointwise' | 'pairwise' | 'both';

export interface MfOptions extends PredictorOptions {
  readonly dim?: number;
  readonly pca?: number;
  readonly loss?: MfLoss;
  readonly epochs?: number;
  readonly lr?: number;
  readonly folds?: number;
}

const StateSchema = z.object({ d: z.number().int(), k: z.number().int(), input: InputStateSchema, folds: z.array(z.array(z.string()).length(3)).min(1) });

export class MfRouter extends PredictorRouter implements CrossFittable {
  readonly kind = 'mf';
  readonly version = 1;
  private k: number;
  private pcaWidth: number;
  private loss: MfLoss;
  private epochs: number;
  private lr: number;
  private folds: number;
  private foldParams: Float32Array[][] = [];
  private means: number[] = [];
  private d = 0;
  private input = new InputTransform(null, []);
  params: Float32Array[] = [];
  grads: Float32Array[] = [];
  private X: Float32Array[] = [];
  private Y: Float64Array = new Float64Array(0);
  private z: Float64Array = new Float64Array(0);
  private s: Float64Array = new Float64Array(0);
  private ds: Float64Array = new Float64Array(0);
  private dz: Float64Array = new Float64Array(0);

  constructor(options: MfOptions = {}) {
    super(options);
    this.k = options.dim ?? 32;
    this.pcaWidth = options.pca ?? 128;
    this.loss = options.loss ?? 'both';
    this.epochs = options.epochs ?? 60;
    this.lr = options.lr ?? 2e-3;
    this.folds = options.folds ?? 5;
  }

  private buffers(): void {
    const M = this.cards.length;
    this.z = new Float64Array(this.k);
    this.dz = new Float64Array(this.k);
    this.s = new Float64Array(M);
    this.ds = new Float64Array(M);
  }

  init(seed: number): void {
    const meanScores = this.means;
    const rng = createRng(seed);
    const M = this.cards.length;
    const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
    const P = Float32Array.from({ length: this.k * this.d }, () => gauss() * Math.sqrt(1 / this.d));
    const V = Float32Array.from({ length: M * this.k }, () => gauss() * 0.1);
    const b = Float32Array.from(meanScores, (p) => Math.log(Math.max(1e-3, p) / Math.max(1e-3, 1 - p)));
    this.params = [P, V, b];
    this.grads = this.params.map((p) => new Float32Array(p.length));
    this.buffers();
  }

  private scores(x: Float32Array): void {
    const [P, V, b] = this.params as [Float32Array, Float32Array, Float32Array];
    const d = this.d;
    const K = this.k;
    for (let r = 0; r < K; r++) {
      let acc = 0;
      const off = r * d;
      for (let i = 0; i < d; i++) acc += (P[off + i] as number) * (x[i] as number);
      this.z[r] = acc;
    }
    for (let m = 0; m < this.cards.length; m++) {
      let acc = b[m] as number;
      const off = m * K;
      for (let r = 0; r < K; r++) acc += (V[off + r] as number) * (this.z[r] as number);
      this.s[m] = acc;
    }
  }

  forward(i: number, out: Float64Array): void {
    this.scores(this.X[i] as Float32Array);
    for (let m = 0; m < this.cards.length; m++) out[m] = sigmoid(this.s[m] as number);
  }

  backward(i: number): number {
    const x = this.X[i] as Float32Array;
    const M = this.cards.length;
    const K = this.k;
    const d = this.d;
    this.scores(x);
    const [, V] = this.params as [Float32Array, Float32Array, Float32Array];
    const [gP, gV, gb] = this.grads as [Float32Array, Float32Array, Float32Array];
    this.ds.fill(0);
    let loss = 0;
    const wPoint = this.loss === 'pairwise' ? 0 : 1;
    const wPair = this.loss === 'pointwise' ? 0 : 1;
    for (let m = 0; m < M; m++) {
      const y = this.Y[i * M + m] as number;
      if (Number.isNaN(y) || wPoint === 0) continue;
      const p = sigmoid(this.s[m] as number);
      this.ds[m] = (this.ds[m] as number) + wPoint * (p - y);
      loss -= y * Math.log(Math.max(p, 1e-7)) + (1 - y) * Math.log(Math.max(1 - p, 1e-7));
    }
    if (wPair > 0) {
      let pairs = 0;
      for (let a = 0; a < M; a++) for (let c = 0; c < M; c++) if ((this.Y[i * M + a] as number) > (this.Y[i * M + c] as number)) pairs++;
      const w = pairs > 0 ? wPair / pairs : 0;
      for (let a = 0; a < M; a++) {
        const ya = this.Y[i * M + a] as number;
        if (Number.isNaN(ya)) continue;
        for (let c = 0; c < M; c++) {
          const yc = this.Y[i * M + c] as number;
          if (Number.isNaN(yc) || !(ya > yc)) continue;
          const g = 1 - sigmoid((this.s[a] as number) - (this.s[c] as number));
          this.ds[a] = (this.ds[a] as number) - w * g;
          this.ds[c] = (this.ds[c] as number) + w * g;
          loss -= w * Math.log(Math.max(1 - g, 1e-7));
        }
      }
    }
    this.dz.fill(0);
    for (let m = 0; m < M; m++) {
      const g = this.ds[m] as number;
      if (g === 0) continue;
      gb[m] = (gb[m] as number) + g;
      const off = m * K;
      for (let r = 0; r < K; r++) {
        gV[off + r] = (gV[off + r] as number) + g * (this.z[r] as number);
        this.dz[r] = (this.dz[r] as number) + g * (V[off + r] as number);
      }
    }
    for (let r = 0; r < K; r++) {
      const g = this.dz[r] as number;
      if (g === 0) continue;
      const off = r * d;
      for (let t = 0; t < d; t++) gP[off + t] = (gP[off + t] as number) + g * (x[t] as number);
    }
    return loss;
  }

  protected async fitQuality(X: readonly Float32Array[], Y: Float64Array, ctx: FitContext): Promise<Float64Array> {
    const n = X.length;
    const M = this.cards.length;
    this.input = InputTransform.fit(X, this.pcaWidth, ctx.seed);
    this.X = X.map((x) => this.input.apply(x));
    this.d = (this.X[0] as Float32Array).length;
    this.Y = Y;
    const means = Array.from({ length: M }, (_, m) => {
      let s = 0;
      let c = 0;
      for (let i = 0; i < n; i++) if (!Number.isNaN(Y[i * M + m] as number)) (s += Y[i * M + m] as number), c++;
      return c > 0 ? s / c : 0.5;
    });
    this.means = means;
    const { foldParams, oof, results } = crossFit(this, n, M, Y, this.folds, { epochs: this.epochs, batch: 32, lr: this.lr, weightDecay: 1e-4, patience: 5, seed: ctx.seed });
    this.foldParams = foldParams;
    ctx.log?.(`mf: ${this.loss} loss, ${this.folds}-fold cross-fit, best epochs ${results.map((r) => r.bestEpoch).join('/')}`);
    this.X = [];
    this.Y = new Float64Array(0);
    return oof;
  }

  protected predictQuality(x: Float32Array, out: Float64Array, offset: number): void {
    const z = this.input.apply(x);
    const M = this.cards.length;
    for (let m = 0; m < M; m++) out[offset + m] = 0;
    for (const params of this.foldParams) {
      this.params = params;
      this.scores(z);
      for (let m = 0; m < M; m++) out[offset + m] = (out[offset + m] as number) + sigmoid(this.s[m] as number) / this.foldParams.length;
    }
  }

  protected familyConfig(): Record<string, unknown> {
    return { dim: this.k, pca: this.pcaWidth, loss: this.loss, epochs: this.epochs, lr: this.lr, folds: this.folds };
  }

  protected familyState(): unknown {
    return { d: this.d, k: this.k, input: this.input.toState(), folds: this.foldParams.map((f) => f.map(f32ToBase64)) };
  }

  protected restoreFamily(_config: Readonly<Record<string, unknown>>, state: unknown): void {
    const s = parseState(StateSchema, state, this.kind);
    this.d = s.d;
    this.k = s.k;
    this.input = InputTransform.fromState(s.input);
    this.foldParams = s.folds.map((f) => f.map(base64ToF32));
    this.params = this.foldParams[0] as Float32Array[];
    this.buffers();
  }

  static fromArtifact(a: RouterArtifact): MfRouter {
    const c = a.config;
    const loss = c['loss'] === 'pointwise' || c['loss'] === 'pairwise' ? c['loss'] : 'both';
    return new MfRouter({ ...predictorConfig(c), dim: Number(c['dim']), pca: Number(c['pca']), loss, epochs: Number(c['epochs']), lr: Number(c['lr']), folds: Number(c['folds'] ?? 5) }).restore(a);
  }
}
