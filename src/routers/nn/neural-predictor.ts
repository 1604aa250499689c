/**
 * What the neural quality predictors (MLP, MF) share: the PCA-whitened input, K-fold cross-fitting
 * (out-of-fold predictions for calibration and the λ scale; the K networks averaged at prediction
 * time) and the artifact plumbing. A network supplies init, a forward pass to probabilities, and
 * the gradient of one sample's loss.
 */
import { z } from 'zod';
import { base64ToF32, f32ToBase64 } from '../../core/encode-f32.js';
import type { FitContext } from '../../spec/router.js';
import { parseState } from '../artifact.js';
import { PredictorRouter, type PredictorOptions } from '../predictor.js';
import { InputStateSchema, InputTransform } from './input.js';
import { crossFit, type CrossFittable } from './train-loop.js';

export interface NeuralOptions extends PredictorOptions {
  readonly pca?: number;
  readonly epochs?: number;
  readonly lr?: number;
  /** Cross-fitting folds (networks averaged at prediction time). */
  readonly folds?: number;
}

const SharedState = z.object({ d: z.number().int(), input: InputStateSchema, folds: z.array(z.array(z.string())).min(1) }).loose();

export abstract class NeuralPredictor extends PredictorRouter implements CrossFittable {
  protected pcaWidth: number;
  protected epochs: number;
  protected lr: number;
  protected folds: number;
  protected d = 0;
  protected input = new InputTransform(null, []);
  protected foldParams: Float32Array[][] = [];
  /** Per-model mean score on train (for initialising output biases). */
  protected meanScores: number[] = [];
  protected X: Float32Array[] = [];
  protected Y: Float64Array = new Float64Array(0);
  protected probs: Float64Array = new Float64Array(0);
  params: Float32Array[] = [];
  grads: Float32Array[] = [];

  constructor(options: NeuralOptions, defaultLr: number) {
    super(options);
    this.pcaWidth = options.pca ?? 128;
    this.epochs = options.epochs ?? 60;
    this.lr = options.lr ?? defaultLr;
    this.folds = options.folds ?? 5;
  }

  abstract init(seed: number): void;
  abstract backward(i: number): number;
  /** Probabilities for an input vector into out[offset..offset+M). */
  protected abstract run(z: Float32Array, out: Float64Array, offset: number): void;
  /** Called once the whitened training inputs (this.X) exist, before the first network is initialised. */
  protected inputsReady(): void {}
  /** (Re)allocates per-call buffers once dimensions are known. */
  protected abstract allocate(): void;
  protected abstract netConfig(): Record<string, unknown>;
  protected abstract netState(): Record<string, unknown>;
  protected abstract restoreNet(state: Record<string, unknown>): void;

  forward(i: number, out: Float64Array): void {
    this.run(this.X[i] as Float32Array, out, 0);
  }

  protected async fitQuality(X: readonly Float32Array[], Y: Float64Array, ctx: FitContext): Promise<Float64Array> {
    const n = X.length;
    const M = this.cards.length;
    this.input = InputTransform.fit(X, this.pcaWidth, ctx.seed);
    this.X = X.map((x) => this.input.apply(x));
    this.d = (this.X[0] as Float32Array).length;
    this.Y = Y;
    this.inputsReady();
    this.meanScores = Array.from({ length: M }, (_, m) => {
      let s = 0;
      let c = 0;
      for (let i = 0; i < n; i++) if (!Number.isNaN(Y[i * M + m] as number)) (s += Y[i * M + m] as number), c++;
      return c > 0 ? s / c : 0.5;
    });
    const { foldParams, oof, results } = crossFit(this, n, M, Y, this.folds, { epochs: this.epochs, batch: 32, lr: this.lr, weightDecay: 1e-4, patience: 5, seed: ctx.seed });
    this.foldParams = foldParams;
    const ce = results.reduce((s, r) => s + r.validLoss, 0) / results.length;
    ctx.log?.(`${this.kind}: ${this.folds}-fold cross-fit, best epochs ${results.map((r) => r.bestEpoch).join('/')}, validation cross-entropy ${ce.toFixed(4)}`);
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
      this.run(z, this.probs, 0);
      for (let m = 0; m < M; m++) out[offset + m] = (out[offset + m] as number) + (this.probs[m] as number) / this.foldParams.length;
    }
  }

  protected familyConfig(): Record<string, unknown> {
    return { pca: this.pcaWidth, epochs: this.epochs, lr: this.lr, folds: this.folds, ...this.netConfig() };
  }

  protected familyState(): unknown {
    return { d: this.d, input: this.input.toState(), folds: this.foldParams.map((f) => f.map(f32ToBase64)), ...this.netState() };
  }

  protected restoreFamily(_config: Readonly<Record<string, unknown>>, state: unknown): void {
    const s = parseState(SharedState, state, this.kind);
    this.d = s.d;
    this.input = InputTransform.fromState(s.input);
    this.foldParams = s.folds.map((f) => f.map(base64ToF32));
    this.params = this.foldParams[0] as Float32Array[];
    this.restoreNet(s);
    this.allocate();
  }
}

/** Shared neural options back from an artifact's config. */
export function neuralConfig(c: Readonly<Record<string, unknown>>): NeuralOptions {
  return { pca: Number(c['pca']), epochs: Number(c['epochs']), lr: Number(c['lr']), folds: Number(c['folds'] ?? 5) };
}
