/**
 * `mlp`: a multi-output MLP (embedding → PCA-whitened input → ReLU hidden layer → one sigmoid per
 * model) trained with masked cross-entropy against the recorded scores, Adam, minibatches of 32 and
 * early stopping on a seeded 20% validation part of train, whose predictions are the out-of-fold
 * predictions for calibration and the λ scale. Hand-written gradients on typed arrays.
 */
import { z } from 'zod';
import { base64ToF32, f32ToBase64 } from '../../core/encode-f32.js';
import { createRng } from '../../core/random.js';
import type { FitContext, RouterArtifact } from '../../spec/router.js';
import { parseState } from '../artifact.js';
import { PredictorRouter, predictorConfig, type PredictorOptions } from '../predictor.js';
import { sigmoid } from '../nn/adam.js';
import { InputStateSchema, InputTransform } from '../nn/input.js';
import { crossFit, maskedBce, type CrossFittable } from '../nn/train-loop.js';

export interface MlpOptions extends PredictorOptions {
  readonly hidden?: number;
  readonly pca?: number;
  readonly epochs?: number;
  readonly lr?: number;
  /** Cross-fitting folds (networks averaged at prediction time). */
  readonly folds?: number;
}

const StateSchema = z.object({ d: z.number().int(), h: z.number().int(), input: InputStateSchema, folds: z.array(z.array(z.string()).length(4)).min(1) });

export class MlpRouter extends PredictorRouter implements CrossFittable {
  readonly kind = 'mlp';
  readonly version = 1;
  private hidden: number;
  private pcaWidth: number;
  private epochs: number;
  private lr: number;
  private folds: number;
  private foldParams: Float32Array[][] = [];
  private d = 0;
  private input = new InputTransform(null, []);
  params: Float32Array[] = [];
  grads: Float32Array[] = [];
  private X: Float32Array[] = [];
  private Y: Float64Array = new Float64Array(0);
  private h: Float64Array = new Float64Array(0);
  private out: Float64Array = new Float64Array(0);
  private dh: Float64Array = new Float64Array(0);

  constructor(options: MlpOptions = {}) {
    super(options);
    this.hidden = options.hidden ?? 64;
    this.pcaWidth = options.pca ?? 128;
    this.epochs = options.epochs ?? 60;
    this.lr = options.lr ?? 1e-3;
    this.folds = options.folds ?? 5;
  }

  init(seed: number): void {
    const d = this.d;
    const H = this.hidden;
    const M = this.cards.length;
    const rng = createRng(seed);
    const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
    const W1 = Float32Array.from({ length: H * d }, () => gauss() * Math.sqrt(2 / d));
    const W2 = Float32Array.from({ length: M * H }, () => gauss() * Math.sqrt(1 / H));
    this.params = [W1, new Float32Array(H), W2, new Float32Array(M)];
    this.grads = this.params.map((p) => new Float32Array(p.length));
    this.h = new Float64Array(H);
    this.dh = new Float64Array(H);
    this.out = new Float64Array(M);
  }

  /** Forward pass on an input vector; leaves hidden activations in this.h. */
  private run(x: Float32Array, out: Float64Array, offset: number): void {
    const d = this.d;
    const H = this.hidden;
    const M = this.cards.length;
    const [W1, b1, W2, b2] = this.params as [Float32Array, Float32Array, Float32Array, Float32Array];
    for (let j = 0; j < H; j++) {
      let s = b1[j] as number;
      const off = j * d;
      for (let i = 0; i < d; i++) s += (W1[off + i] as number) * (x[i] as number);
      this.h[j] = s > 0 ? s : 0;
    }
    for (let m = 0; m < M; m++) {
      let s = b2[m] as number;
      const off = m * H;
      for (let j = 0; j < H; j++) s += (W2[off + j] as number) * (this.h[j] as number);
      out[offset + m] = sigmoid(s);
    }
  }

  forward(i: number, out: Float64Array): void {
    this.run(this.X[i] as Float32Array, out, 0);
  }

  backward(i: number): number {
    const x = this.X[i] as Float32Array;
    const d = this.d;
    const H = this.hidden;
    const M = this.cards.length;
    this.run(x, this.out, 0);
    const [, , W2] = this.params as [Float32Array, Float32Array, Float32Array, Float32Array];
    const [gW1, gb1, gW2, gb2] = this.grads as [Float32Array, Float32Array, Float32Array, Float32Array];
    const { loss } = maskedBce(this.out, this.Y, i * M, M);
    this.dh.fill(0);
    for (let m = 0; m < M; m++) {
      const y = this.Y[i * M + m] as number;
      if (Number.isNaN(y)) continue;
      const g = (this.out[m] as number) - y;
      gb2[m] = (gb2[m] as number) + g;
      const off = m * H;
      for (let j = 0; j < H; j++) {
        gW2[off + j] = (gW2[off + j] as number) + g * (this.h[j] as number);
        this.dh[j] = (this.dh[j] as number) + g * (W2[off + j] as number);
      }
    }
    for (let j = 0; j < H; j++) {
      if ((this.h[j] as number) <= 0) continue;
      const g = this.dh[j] as number;
      gb1[j] = (gb1[j] as number) + g;
      const off = j * d;
      for (let k = 0; k < d; k++) gW1[off + k] = (gW1[off + k] as number) + g * (x[k] as number);
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
    const { foldParams, oof, results } = crossFit(this, n, M, Y, this.folds, { epochs: this.epochs, batch: 32, lr: this.lr, weightDecay: 1e-4, patience: 5, seed: ctx.seed });
    this.foldParams = foldParams;
    ctx.log?.(`mlp: ${this.folds}-fold cross-fit, best epochs ${results.map((r) => r.bestEpoch).join('/')}, validation cross-entropy ${(results.reduce((s, r) => s + r.validLoss, 0) / results.length).toFixed(4)}`);
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
      this.run(z, this.out, 0);
      for (let m = 0; m < M; m++) out[offset + m] = (out[offset + m] as number) + (this.out[m] as number) / this.foldParams.length;
    }
  }

  protected familyConfig(): Record<string, unknown> {
    return { hidden: this.hidden, pca: this.pcaWidth, epochs: this.epochs, lr: this.lr, folds: this.folds };
  }

  protected familyState(): unknown {
    return { d: this.d, h: this.hidden, input: this.input.toState(), folds: this.foldParams.map((f) => f.map(f32ToBase64)) };
  }

  protected restoreFamily(_config: Readonly<Record<string, unknown>>, state: unknown): void {
    const s = parseState(StateSchema, state, this.kind);
    this.d = s.d;
    this.hidden = s.h;
    this.input = InputTransform.fromState(s.input);
    this.foldParams = s.folds.map((f) => f.map(base64ToF32));
    this.params = this.foldParams[0] as Float32Array[];
    this.h = new Float64Array(this.hidden);
    this.dh = new Float64Array(this.hidden);
    this.out = new Float64Array(this.cards.length);
  }

  static fromArtifact(a: RouterArtifact): MlpRouter {
    const c = a.config;
    return new MlpRouter({ ...predictorConfig(c), hidden: Number(c['hidden']), pca: Number(c['pca']), epochs: Number(c['epochs']), lr: Number(c['lr']), folds: Number(c['folds'] ?? 5) }).restore(a);
  }
}
