/**
 * The cross-attention network of the `cross-attention` router (arXiv 2506.09157, one head), with
 * hand-written gradients on typed arrays. Queries are the prompt's token embeddings (a trainable
 * table over a hashed vocabulary) and/or its sentence embedding projected to d; keys are one
 * learned capability embedding per model:
 *
 *   a_l = softmax(q_l Kᵀ / √d)          (attention of query l over the n models)
 *   w   = Σ_l ω_l a_l                    (routing weights, a distribution over models)
 *
 * ω_l = 1/L over the token queries; with the sentence query too, it weighs ρ (`sentenceWeight`) and
 * the tokens share 1 − ρ, so one sentence vector is not drowned by a hundred tokens.
 *   p_j = σ(b_j + γ_j · log(n·w_j) + α_j · q̄·k_j/√d + v·q̄)   (quality of model j; q̄ = mean query)
 *
 * The α term (the token-averaged attention logit) lets the quality head express how good model j
 * is for this prompt in absolute terms, which the normalised weights w alone cannot.
 *
 * The loss of one prompt (docs/cross-attention.md) is the masked cross-entropy of p against the
 * recorded scores plus β times the cost-aware expected-utility loss −Σ_j w_j (y_j − λ_t c̃_j).
 */
import { createRng, gaussian, type Rng } from '../../core/random.js';
import { sigmoid } from '../nn/adam.js';

export type QueryMode = 'tokens' | 'sentence' | 'both';

export interface NetShape {
  /** Hashed vocabulary size (token ids in [0, vocab)); 0 when tokens are not used. */
  readonly vocab: number;
  /** Width of the sentence feature (after PCA); 0 when it is not used. */
  readonly feature: number;
  readonly dim: number;
  readonly models: number;
  readonly maxLen: number;
  /** ρ, the sentence query's share of the attention when tokens are used too (default 0.5). */
  readonly sentenceWeight?: number;
}

/** One prompt as the network sees it. */
export interface NetInput {
  readonly ids: Int32Array;
  readonly x: Float32Array | undefined;
}

/** Parameter blocks, in order: E (vocab×d), P (d×feature), v (d), K (n×d), b (n), γ (n), α (n). */
export const ENCODER_BLOCKS = 3;

export function initParams(shape: NetShape, meanScores: readonly number[], seed: number): Float32Array[] {
  const rng: Rng = createRng(seed);
  const { vocab, feature, dim: d, models: n } = shape;
  const E = Float32Array.from({ length: vocab * d }, () => gaussian(rng) * 0.3);
  const P = Float32Array.from({ length: d * feature }, () => gaussian(rng) * Math.sqrt(1 / Math.max(1, feature)));
  const v = new Float32Array(d);
  const K = Float32Array.from({ length: n * d }, () => gaussian(rng) * 0.3);
  const b = Float32Array.from(meanScores, (p) => Math.log(Math.max(1e-3, p) / Math.max(1e-3, 1 - p)));
  const g = new Float32Array(n).fill(1);
  const alpha = new Float32Array(n).fill(1);
  return [E, P, v, K, b, g, alpha];
}

/** Forward/backward buffers for one prompt at a time (not re-entrant). */
export class AttentionNet {
  private readonly q: Float64Array;
  private readonly a: Float64Array;
  readonly w: Float64Array;
  private readonly u: Float64Array;
  private readonly sbar: Float64Array;
  readonly p: Float64Array;
  private readonly qbar: Float64Array;
  private readonly g: Float64Array;
  private readonly dq: Float64Array;
  private readonly ds: Float64Array;
  private L = 0;
  private readonly omega: Float64Array;
  private readonly invSqrtD: number;

  constructor(readonly shape: NetShape) {
    const { dim: d, models: n, maxLen } = shape;
    this.q = new Float64Array((maxLen + 1) * d);
    this.a = new Float64Array((maxLen + 1) * n);
    this.w = new Float64Array(n);
    this.u = new Float64Array(n);
    this.sbar = new Float64Array(n);
    this.p = new Float64Array(n);
    this.qbar = new Float64Array(d);
    this.g = new Float64Array(n);
    this.dq = new Float64Array(d);
    this.ds = new Float64Array(n);
    this.omega = new Float64Array(maxLen + 1);
    this.invSqrtD = 1 / Math.sqrt(d);
  }

  /** Fills w (routing weights) and p (quality probabilities) for one prompt. */
  forward(params: readonly Float32Array[], input: NetInput): void {
    const [E, P, v, K, b, gam, alpha] = params as Blocks;
    const { dim: d, models: n, feature, vocab } = this.shape;
    const q = this.q;
    let L = 0;
    if (vocab > 0) {
      const ids = input.ids.length > 0 ? input.ids : EMPTY;
      for (const t of ids) {
        const off = t * d;
        for (let r = 0; r < d; r++) q[L * d + r] = E[off + r] as number;
        L++;
      }
    }
    if (feature > 0 && input.x) {
      const x = input.x;
      for (let r = 0; r < d; r++) {
        let acc = 0;
        const off = r * feature;
        for (let t = 0; t < feature; t++) acc += (P[off + t] as number) * (x[t] as number);
        q[L * d + r] = acc;
      }
      L++;
    }
    this.L = L;
    const tokens = input.x && feature > 0 ? L - 1 : L;
    const rho = tokens === L ? 0 : tokens === 0 ? 1 : (this.shape.sentenceWeight ?? 0.5);
    for (let l = 0; l < L; l++) this.omega[l] = l < tokens ? (1 - rho) / tokens : rho;
    this.w.fill(0);
    this.qbar.fill(0);
    this.sbar.fill(0);
    for (let l = 0; l < L; l++) {
      const ql = l * d;
      const al = l * n;
      const om = this.omega[l] as number;
      let max = -Infinity;
      for (let j = 0; j < n; j++) {
        let s = 0;
        const kj = j * d;
        for (let r = 0; r < d; r++) s += (q[ql + r] as number) * (K[kj + r] as number);
        s *= this.invSqrtD;
        this.a[al + j] = s;
        this.sbar[j] = (this.sbar[j] as number) + s * om;
        if (s > max) max = s;
      }
      let z = 0;
      for (let j = 0; j < n; j++) {
        const e = Math.exp((this.a[al + j] as number) - max);
        this.a[al + j] = e;
        z += e;
      }
      for (let j = 0; j < n; j++) {
        const aj = (this.a[al + j] as number) / z;
        this.a[al + j] = aj;
        this.w[j] = (this.w[j] as number) + aj * om;
      }
      for (let r = 0; r < d; r++) this.qbar[r] = (this.qbar[r] as number) + (q[ql + r] as number) * om;
    }
    let h = 0;
    for (let r = 0; r < d; r++) h += (v[r] as number) * (this.qbar[r] as number);
    for (let j = 0; j < n; j++) {
      const uj = Math.log(n * Math.max(this.w[j] as number, 1e-9));
      this.u[j] = uj;
      this.p[j] = sigmoid((b[j] as number) + (gam[j] as number) * uj + (alpha[j] as number) * (this.sbar[j] as number) + h);
    }
  }

  /**
   * Accumulates the gradient of one prompt's loss into `grads` after `forward`; returns the loss.
   * y: recorded scores (NaN = none) and c: relative costs, both at `offset`; β weighs the
   * expected-utility term, λ_t is the training trade-off.
   */
  backward(params: readonly Float32Array[], grads: readonly Float32Array[], input: NetInput, y: Float64Array, c: Float64Array, offset: number, beta: number, lambdaTrain: number): number {
    const [, , v, K, , gam, alpha] = params as Blocks;
    const [gE, gP, gv, gK, gb, gg, ga] = grads as Blocks;
    const { dim: d, models: n, feature, vocab } = this.shape;
    const L = this.L;
    let loss = 0;
    let gh = 0;
    for (let j = 0; j < n; j++) {
      const yj = y[offset + j] as number;
      if (Number.isNaN(yj)) {
        this.g[j] = 0;
        this.ds[j] = 0;
        continue;
      }
      const pj = this.p[j] as number;
      loss -= yj * Math.log(Math.max(pj, 1e-7)) + (1 - yj) * Math.log(Math.max(1 - pj, 1e-7));
      const dz = pj - yj;
      gh += dz;
      gb[j] = (gb[j] as number) + dz;
      gg[j] = (gg[j] as number) + dz * (this.u[j] as number);
      ga[j] = (ga[j] as number) + dz * (this.sbar[j] as number);
      this.ds[j] = dz * (alpha[j] as number);
      const wj = this.w[j] as number;
      const r = yj - lambdaTrain * (c[offset + j] as number);
      loss -= beta * wj * r;
      this.g[j] = (wj > 1e-9 ? (dz * (gam[j] as number)) / wj : 0) - beta * r;
    }
    for (let r = 0; r < d; r++) {
      gv[r] = (gv[r] as number) + gh * (this.qbar[r] as number);
    }
    const q = this.q;
    for (let l = 0; l < L; l++) {
      const ql = l * d;
      const al = l * n;
      let dot = 0;
      for (let j = 0; j < n; j++) dot += (this.a[al + j] as number) * (this.g[j] as number);
      const om = this.omega[l] as number;
      for (let r = 0; r < d; r++) this.dq[r] = gh * (v[r] as number) * om;
      for (let j = 0; j < n; j++) {
        const ds = ((this.a[al + j] as number) * ((this.g[j] as number) - dot) + (this.ds[j] as number)) * om;
        if (ds === 0) continue;
        const s = ds * this.invSqrtD;
        const kj = j * d;
        for (let r = 0; r < d; r++) {
          this.dq[r] = (this.dq[r] as number) + s * (K[kj + r] as number);
          gK[kj + r] = (gK[kj + r] as number) + s * (q[ql + r] as number);
        }
      }
      const tokens = vocab > 0 ? (input.ids.length > 0 ? input.ids.length : 1) : 0;
      if (l < tokens) {
        const off = (input.ids.length > 0 ? (input.ids[l] as number) : 0) * d;
        for (let r = 0; r < d; r++) gE[off + r] = (gE[off + r] as number) + (this.dq[r] as number);
      } else if (feature > 0 && input.x) {
        const x = input.x;
        for (let r = 0; r < d; r++) {
          const gr = this.dq[r] as number;
          if (gr === 0) continue;
          const off = r * feature;
          for (let t = 0; t < feature; t++) gP[off + t] = (gP[off + t] as number) + gr * (x[t] as number);
        }
      }
    }
    return loss;
  }
}

const EMPTY = Int32Array.of(0);

type Blocks = [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
