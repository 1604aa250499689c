/**
 * Minibatch training with early stopping on a seeded validation split, shared by the MLP and MF
 * routers. A network only supplies per-sample forward/backward; the loop owns batching, epochs,
 * the validation loss and the best-epoch snapshot.
 */
import { createRng, shuffleInPlace } from '../../core/random.js';
import type { Rng } from '../../core/random.js';
import { Adam } from './adam.js';

export interface Trainable {
  readonly params: Float32Array[];
  readonly grads: Float32Array[];
  /** Per-block multipliers of the learning rate (default 1 for every block). */
  readonly lrScale?: readonly number[];
  /** Predicts sample i into out (M values); returns nothing. */
  forward(i: number, out: Float64Array): void;
  /** Accumulates the gradient of sample i's loss; returns its loss. */
  backward(i: number): number;
}

export interface TrainOptions {
  readonly epochs: number;
  readonly batch: number;
  readonly lr: number;
  readonly weightDecay: number;
  readonly patience: number;
  readonly seed: number;
}

export interface TrainResult {
  readonly bestEpoch: number;
  readonly epochsRun: number;
  readonly validLoss: number;
}

/** Masked binary cross-entropy of predictions against scores (NaN scores are skipped). */
export function maskedBce(pred: Float64Array, Y: Float64Array, offset: number, M: number): { loss: number; n: number } {
  let loss = 0;
  let n = 0;
  for (let m = 0; m < M; m++) {
    const y = Y[offset + m] as number;
    if (Number.isNaN(y)) continue;
    const p = Math.min(1 - 1e-7, Math.max(1e-7, pred[m] as number));
    loss -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
    n++;
  }
  return { loss, n };
}

export function trainWithEarlyStopping(
  net: Trainable,
  trainRows: readonly number[],
  validRows: readonly number[],
  validLoss: (rows: readonly number[]) => number,
  options: TrainOptions,
  rng: Rng = createRng(options.seed),
): TrainResult {
  const lr = net.lrScale ? net.params.map((_, k) => options.lr * (net.lrScale?.[k] ?? 1)) : options.lr;
  const adam = new Adam(net.params, lr, options.weightDecay);
  const order = [...trainRows];
  let best = Infinity;
  let bestEpoch = 0;
  let snapshot = net.params.map((p) => Float32Array.from(p));
  let since = 0;
  let epoch = 0;
  for (epoch = 1; epoch <= options.epochs; epoch++) {
    shuffleInPlace(order, rng);
    for (let s = 0; s < order.length; s += options.batch) {
      const end = Math.min(order.length, s + options.batch);
      for (let k = s; k < end; k++) net.backward(order[k] as number);
      adam.step(net.grads, end - s);
    }
    if (validRows.length === 0) {
      bestEpoch = epoch;
      continue;
    }
    const v = validLoss(validRows);
    if (v < best - 1e-6) {
      best = v;
      bestEpoch = epoch;
      snapshot = net.params.map((p) => Float32Array.from(p));
      since = 0;
    } else if (++since >= options.patience) {
      break;
    }
  }
  if (validRows.length > 0) net.params.forEach((p, k) => p.set(snapshot[k] as Float32Array));
  return { bestEpoch, epochsRun: Math.min(epoch, options.epochs), validLoss: best };
}

/** Seeded split of row indices into train and validation parts. */
export function splitRows(n: number, validFraction: number, seed: number): { train: number[]; valid: number[] } {
  const order = shuffleInPlace(Array.from({ length: n }, (_, i) => i), createRng(seed ^ 0x5eed));
  const nValid = n >= 50 ? Math.round(n * validFraction) : 0;
  return { valid: order.slice(0, nValid).sort((a, b) => a - b), train: order.slice(nValid) };
}

export interface CrossFittable extends Trainable {
  /** Fresh parameters for a fold (seeded). */
  init(seed: number): void;
  params: Float32Array[];
}

/**
 * K-fold cross-fitting: one network per fold, trained on the other folds with early stopping on its
 * own fold; that fold's predictions are out-of-fold predictions for every training row, and the K
 * networks are averaged at prediction time (a bagged ensemble).
 */
export function crossFit(
  net: CrossFittable,
  n: number,
  M: number,
  Y: Float64Array,
  folds: number,
  options: TrainOptions,
): { foldParams: Float32Array[][]; oof: Float64Array; results: TrainResult[] } {
  const order = shuffleInPlace(Array.from({ length: n }, (_, i) => i), createRng(options.seed ^ 0xf01d));
  const K = Math.max(2, Math.min(folds, n));
  const parts = Array.from({ length: K }, (_, f) => order.filter((_, k) => k % K === f));
  const out = new Float64Array(M);
  const validLoss = (rows: readonly number[]): number => {
    let loss = 0;
    let cnt = 0;
    for (const i of rows) {
      net.forward(i, out);
      const r = maskedBce(out, Y, i * M, M);
      loss += r.loss;
      cnt += r.n;
    }
    return loss / Math.max(1, cnt);
  };
  const oof = new Float64Array(n * M).fill(Number.NaN);
  const foldParams: Float32Array[][] = [];
  const results: TrainResult[] = [];
  parts.forEach((valid, f) => {
    const train = parts.filter((_, g) => g !== f).flat();
    net.init(options.seed + 7919 * f);
    results.push(trainWithEarlyStopping(net, train, valid, validLoss, { ...options, seed: options.seed + f }));
    for (const i of valid) {
      net.forward(i, out);
      oof.set(out, i * M);
    }
    foldParams.push(net.params.map((p) => Float32Array.from(p)));
  });
  return { foldParams, oof, results };
}
