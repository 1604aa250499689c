/**
 * The λ scale. The decision rule is argmax_m q̂_m − w · ĉ_m / ĉ_scale; λ ∈ [0, 1] is the user's knob
 * and w = w(λ) a monotone map fitted on train (out-of-fold predictions): w(0) = 0 (best quality),
 * w(1) = ∞ (lowest cost), and in between λ moves the router's mean cost evenly along a log axis
 * from its cost at λ = 0 to its cost at λ = 1. So 21 evenly spaced λ points trace the whole frontier
 * instead of bunching where nothing changes. See docs/routers.md.
 */
import { aiq, ndch } from '../eval/metrics.js';
import { invalidArgument } from '../core/errors.js';
import type { RoutePrefs } from '../spec/router.js';
import { decide } from './decision-rule.js';

export const W_MAX = 1e9;
/** Candidate trade-off weights: 0, then geometric from 1e-3 to 1e4, then "cost only". */
export const W_GRID: readonly number[] = [0, ...Array.from({ length: 141 }, (_, k) => 10 ** (-3 + k / 20)), W_MAX];

/** Out-of-fold predictions on train rows, ready for replay at any w. */
export interface ReplaySet {
  readonly rows: number;
  readonly M: number;
  /** rows x M predicted quality and cost; `mask` = models with a recorded outcome. */
  readonly q: Float64Array;
  readonly c: Float64Array;
  readonly mask: Uint8Array;
  readonly score: Float64Array;
  readonly cost: Float64Array;
  readonly scale: number;
}

export interface CurvePoint {
  readonly w: number;
  readonly cost: number;
  readonly quality: number;
}

export function replayAt(set: ReplaySet, w: number, q: Float64Array = set.q): CurvePoint {
  let sc = 0;
  let sq = 0;
  const M = set.M;
  for (let r = 0; r < set.rows; r++) {
    const m = decide(q, set.c, r * M, M, set.mask.subarray(r * M, (r + 1) * M), w, set.scale);
    sc += set.cost[r * M + m] as number;
    sq += set.score[r * M + m] as number;
  }
  return { w, cost: sc / set.rows, quality: sq / set.rows };
}

export function replayCurve(set: ReplaySet, q: Float64Array = set.q, grid: readonly number[] = W_GRID): CurvePoint[] {
  return grid.map((w) => replayAt(set, w, q));
}

/** AIQ of a curve on the replay set (maxCost = the dearest model's mean cost there). */
export function curveAiq(set: ReplaySet, curve: readonly CurvePoint[]): number {
  const M = set.M;
  let maxCost = 0;
  for (let m = 0; m < M; m++) {
    let s = 0;
    let n = 0;
    for (let r = 0; r < set.rows; r++) {
      if (set.mask[r * M + m] !== 1) continue;
      s += set.cost[r * M + m] as number;
      n++;
    }
    if (n > 0) maxCost = Math.max(maxCost, s / n);
  }
  return aiq(ndch(curve, maxCost), maxCost);
}

/**
 * The λ → w table (101 entries, λ = 0, 0.01, …, 1): w(λ) is the smallest grid weight whose mean cost
 * is at most the log-interpolated target cost(0)^(1−λ) · cost(1)^λ.
 */
export function fitLambdaScale(curve: readonly CurvePoint[]): number[] {
  const first = curve[0];
  const last = curve[curve.length - 1];
  if (!first || !last || !(first.cost > 0) || !(last.cost > 0) || first.cost <= last.cost) {
    return Array.from({ length: 101 }, (_, k) => (k === 100 ? W_MAX : k / (100 - k))); // plain λ/(1−λ)
  }
  // running minimum makes cost non-increasing in w
  const costs: number[] = [];
  let min = Infinity;
  for (const p of curve) costs.push((min = Math.min(min, p.cost)));
  const table: number[] = [];
  for (let k = 0; k <= 100; k++) {
    const lambda = k / 100;
    if (k === 0) table.push(0);
    else if (k === 100) table.push(W_MAX);
    else {
      const target = Math.exp((1 - lambda) * Math.log(first.cost) + lambda * Math.log(last.cost));
      const j = costs.findIndex((c) => c <= target * (1 + 1e-12));
      table.push((curve[j < 0 ? curve.length - 1 : j] as CurvePoint).w);
    }
  }
  for (let k = 1; k < table.length; k++) table[k] = Math.max(table[k] as number, table[k - 1] as number);
  return table;
}

/** w for any λ: linear in λ between table entries (in log w where both are positive). */
export function weightFor(table: readonly number[], lambda: number): number {
  if (lambda <= 0) return table[0] as number;
  if (lambda >= 1) return table[table.length - 1] as number;
  const pos = lambda * (table.length - 1);
  const lo = Math.floor(pos);
  const t = pos - lo;
  const a = table[lo] as number;
  const b = table[Math.min(table.length - 1, lo + 1)] as number;
  if (t === 0 || a === b) return a;
  if (a > 0 && b > 0 && b < W_MAX) return Math.exp(Math.log(a) + t * (Math.log(b) - Math.log(a)));
  return t < 0.5 ? a : b;
}

/** A point of a router's operating curve on train: at λ, its mean cost and quality. */
export interface OperatingPoint {
  readonly lambda: number;
  readonly cost: number;
  readonly quality: number;
}

/**
 * λ from the prefs on an operating curve (ascending λ): the smallest λ within `budgetUsd`, or the
 * largest that still reaches `targetQuality`; else `prefs.lambda`.
 */
export function resolveOnCurve(curve: readonly OperatingPoint[], prefs: RoutePrefs): number {
  if (prefs.budgetUsd !== undefined) {
    if (!(prefs.budgetUsd >= 0)) throw invalidArgument(`budgetUsd: expected a cost ≥ 0, got ${prefs.budgetUsd}`);
    const within = curve.find((p) => p.cost <= (prefs.budgetUsd as number));
    return within ? within.lambda : 1;
  }
  if (prefs.targetQuality !== undefined) {
    if (!(prefs.targetQuality >= 0 && prefs.targetQuality <= 1)) throw invalidArgument(`targetQuality: expected 0..1, got ${prefs.targetQuality}`);
    for (let k = curve.length - 1; k >= 0; k--) if ((curve[k] as OperatingPoint).quality >= prefs.targetQuality) return (curve[k] as OperatingPoint).lambda;
    return 0;
  }
  return prefs.lambda;
}
