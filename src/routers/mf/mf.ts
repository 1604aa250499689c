/**
 * `mf`: matrix factorisation in the style of RouteLLM, generalised from two models to N. Each model
 * has a learned embedding v_m; the prompt's embedding is projected to the same space, z = P x; the
 * score is s_m = b_m + v_m · z and the predicted quality σ(s_m). Trained on the recorded outcomes
 * pointwise (cross-entropy), pairwise (Bradley–Terry on every pair of models that scored
 * differently on a prompt, as RouteLLM trains on win/loss pairs) or both; Adam with early stopping
 * and 5-fold cross-fitting (NeuralPredictor).
 */
import { createRng, gaussian } from '../../core/random.js';
import type { RouterArtifact } from '../../spec/router.js';
import { predictorConfig } from '../predictor.js';
import { sigmoid } from '../nn/adam.js';
import { NeuralPredictor, neuralConfig, type NeuralOptions } from '../nn/neural-predictor.js';

export type MfLoss = 'pointwise' | 'pairwise' | 'both';

export interface MfOptions extends NeuralOptions {
  readonly dim?: number;
  readonly loss?: MfLoss;
}

export class MfRouter extends NeuralPredictor {
  readonly kind = 'mf';
  readonly version = 1;
  private k: number;
  private loss: MfLoss;
  private z: Float64Array = new Float64Array(0);
  private s: Float64Array = new Float64Array(0);
  private ds: Float64Array = new Float64Array(0);
  private dz: Float64Array = new Float64Array(0);

  constructor(options: MfOptions = {}) {
    super(options, 2e-3);
    this.k = options.dim ?? 32;
    this.loss = options.loss ?? 'both';
  }

  protected allocate(): void {
    const M = this.cards.length;
    this.z = new Float64Array(this.k);
    this.dz = new Float64Array(this.k);
    this.s = new Float64Array(M);
    this.ds = new Float64Array(M);
    this.probs = new Float64Array(M);
  }

  init(seed: number): void {
    const rng = createRng(seed);
    const M = this.cards.length;
    const P = Float32Array.from({ length: this.k * this.d }, () => gaussian(rng) * Math.sqrt(1 / this.d));
    const V = Float32Array.from({ length: M * this.k }, () => gaussian(rng) * 0.1);
    const b = Float32Array.from(this.meanScores, (p) => Math.log(Math.max(1e-3, p) / Math.max(1e-3, 1 - p)));
    this.params = [P, V, b];
    this.grads = this.params.map((p) => new Float32Array(p.length));
    this.allocate();
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

  protected run(x: Float32Array, out: Float64Array, offset: number): void {
    this.scores(x);
    for (let m = 0; m < this.cards.length; m++) out[offset + m] = sigmoid(this.s[m] as number);
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

  protected netConfig(): Record<string, unknown> {
    return { dim: this.k, loss: this.loss };
  }

  protected netState(): Record<string, unknown> {
    return { k: this.k };
  }

  protected restoreNet(state: Record<string, unknown>): void {
    this.k = Number(state['k']);
  }

  static fromArtifact(a: RouterArtifact): MfRouter {
    const c = a.config;
    const loss = c['loss'] === 'pointwise' || c['loss'] === 'pairwise' ? c['loss'] : 'both';
    return new MfRouter({ ...predictorConfig(c), ...neuralConfig(c), dim: Number(c['dim']), loss }).restore(a);
  }
}
