/**
 * `mlp`: a multi-output MLP (embedding → PCA-whitened input → ReLU hidden layer → one sigmoid per
 * model) trained with masked cross-entropy against the recorded scores, Adam, minibatches of 32,
 * early stopping, 5-fold cross-fitting (NeuralPredictor). Hand-written gradients on typed arrays.
 */
import { createRng, gaussian } from '../../core/random.js';
import type { RouterArtifact } from '../../spec/router.js';
import { predictorConfig } from '../predictor.js';
import { sigmoid } from '../nn/adam.js';
import { NeuralPredictor, neuralConfig, type NeuralOptions } from '../nn/neural-predictor.js';
import { maskedBce } from '../nn/train-loop.js';

export interface MlpOptions extends NeuralOptions {
  readonly hidden?: number;
}

export class MlpRouter extends NeuralPredictor {
  readonly kind = 'mlp';
  readonly version = 1;
  private hidden: number;
  private h: Float64Array = new Float64Array(0);
  private dh: Float64Array = new Float64Array(0);

  constructor(options: MlpOptions = {}) {
    super(options, 1e-3);
    this.hidden = options.hidden ?? 64;
  }

  protected allocate(): void {
    this.h = new Float64Array(this.hidden);
    this.dh = new Float64Array(this.hidden);
    this.probs = new Float64Array(this.cards.length);
  }

  init(seed: number): void {
    const d = this.d;
    const H = this.hidden;
    const M = this.cards.length;
    const rng = createRng(seed);
    const W1 = Float32Array.from({ length: H * d }, () => gaussian(rng) * Math.sqrt(2 / d));
    const W2 = Float32Array.from({ length: M * H }, () => gaussian(rng) * Math.sqrt(1 / H));
    this.params = [W1, new Float32Array(H), W2, new Float32Array(M)];
    this.grads = this.params.map((p) => new Float32Array(p.length));
    this.allocate();
  }

  /** Forward pass; leaves hidden activations in this.h. */
  protected run(x: Float32Array, out: Float64Array, offset: number): void {
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

  backward(i: number): number {
    const x = this.X[i] as Float32Array;
    const d = this.d;
    const H = this.hidden;
    const M = this.cards.length;
    this.run(x, this.probs, 0);
    const [, , W2] = this.params as [Float32Array, Float32Array, Float32Array, Float32Array];
    const [gW1, gb1, gW2, gb2] = this.grads as [Float32Array, Float32Array, Float32Array, Float32Array];
    const { loss } = maskedBce(this.probs, this.Y, i * M, M);
    this.dh.fill(0);
    for (let m = 0; m < M; m++) {
      const y = this.Y[i * M + m] as number;
      if (Number.isNaN(y)) continue;
      const g = (this.probs[m] as number) - y;
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

  protected netConfig(): Record<string, unknown> {
    return { hidden: this.hidden };
  }

  protected netState(): Record<string, unknown> {
    return { h: this.hidden };
  }

  protected restoreNet(state: Record<string, unknown>): void {
    this.hidden = Number(state['h']);
  }

  static fromArtifact(a: RouterArtifact): MlpRouter {
    const c = a.config;
    return new MlpRouter({ ...predictorConfig(c), ...neuralConfig(c), hidden: Number(c['hidden']) }).restore(a);
  }
}
