/**
 * Adding a model to a trained cross-attention network (CrossAttentionRouter.addModel): the
 * neighbour search, the grown parameter blocks, and fitting the new model's row alone.
 */
import { createRng, gaussian } from '../../core/random.js';
import { Adam } from '../nn/adam.js';
import type { AttentionNet, NetInput } from './attention-net.js';

export interface Neighbour {
  readonly model: string;
  readonly m: number;
  readonly correlation: number;
}

/** The (up to 3) models whose predicted quality correlates best, and positively, with the new model's scores. */
export function nearestModels(models: readonly string[], predicted: Float64Array, scores: readonly number[]): Neighbour[] {
  const n = models.length;
  return models
    .map((model, m) => ({ model, m, correlation: pearson(scores, scores.map((_, i) => predicted[i * n + m] as number)) }))
    .filter((r) => r.correlation > 0)
    .sort((a, b) => b.correlation - a.correlation)
    .slice(0, 3);
}

/**
 * One fold's parameter blocks with a row for the new model: key (and b, γ, α) the
 * correlation-weighted mean of the neighbours' (warm), or random with the mean score as prior (cold).
 */
export function growBlocks(params: readonly Float32Array[], d: number, neighbours: readonly Neighbour[], meanScore: number, warm: boolean, seed: number): Float32Array[] {
  const [E, P, v, K, b, g, a] = params as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
  const rng = createRng(seed);
  const total = neighbours.reduce((s, r) => s + r.correlation, 0);
  const blend = (block: Float32Array, width: number, r: number): number => neighbours.reduce((s, nb) => s + ((block[nb.m * width + r] as number) * nb.correlation) / total, 0);
  const grow = (block: Float32Array, width: number, init: (r: number) => number): Float32Array => {
    const out = new Float32Array(block.length + width);
    out.set(block);
    for (let r = 0; r < width; r++) out[block.length + r] = init(r);
    return out;
  };
  const prior = logit(meanScore);
  return [
    E,
    P,
    v,
    grow(K, d, (r) => (warm ? blend(K, d, r) : gaussian(rng) * 0.3)),
    grow(b, 1, () => (warm ? blend(b, 1, 0) : prior)),
    grow(g, 1, () => (warm ? blend(g, 1, 0) : 1)),
    grow(a, 1, () => (warm ? blend(a, 1, 0) : 1)),
  ];
}

export interface RowFit {
  readonly net: AttentionNet;
  readonly inputs: readonly NetInput[];
  readonly scores: readonly number[];
  /** Index of the new model (the last one). */
  readonly n: number;
  readonly d: number;
  readonly lr: number;
  readonly beta: number;
  readonly epochs: number;
}

/**
 * Shifts the new model's bias until its mean predicted quality on the labelled prompts matches
 * their recorded mean, then fits its row (key, b, γ, α) on them with every other parameter frozen.
 */
export function fitNewRow(params: Float32Array[], f: RowFit): void {
  const { net, inputs, n, d } = f;
  const N = n + 1;
  const meanScore = f.scores.reduce((s, v) => s + v, 0) / f.scores.length;
  const b = params[4] as Float32Array;
  for (let it = 0; it < 3; it++) {
    let mean = 0;
    for (const input of inputs) {
      net.forward(params, input);
      mean += (net.p[n] as number) / inputs.length;
    }
    b[n] = (b[n] as number) + logit(meanScore) - logit(mean);
  }
  const Y = new Float64Array(inputs.length * N).fill(Number.NaN);
  f.scores.forEach((v, i) => (Y[i * N + n] = v));
  const C = new Float64Array(inputs.length * N);
  const grads = params.map((p) => new Float32Array(p.length));
  const own = (blocks: Float32Array[]): Float32Array[] => [3, 4, 5, 6].map((k) => (blocks[k] as Float32Array).subarray(k === 3 ? n * d : n));
  const adam = new Adam(own(params), f.lr, 1e-4);
  for (let e = 0; e < f.epochs; e++) {
    for (let s = 0; s < inputs.length; s += 10) {
      const end = Math.min(inputs.length, s + 10);
      for (let i = s; i < end; i++) {
        net.forward(params, inputs[i] as NetInput);
        net.backward(params, grads, inputs[i] as NetInput, Y, C, i * N, f.beta, 0);
      }
      adam.step(own(grads), end - s);
      for (const g of grads) g.fill(0);
    }
  }
}

function logit(p: number): number {
  return Math.log(Math.max(1e-4, p) / Math.max(1e-4, 1 - p));
}

export function pearson(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n;
  const mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = (a[i] as number) - ma;
    const z = (b[i] as number) - mb;
    sab += x * z;
    saa += x * x;
    sbb += z * z;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}
