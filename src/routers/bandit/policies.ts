/**
 * Bandit arm policies (MetaLLM): each keeps per-arm statistics of the reward target and picks
 * argmax_a (estimate_a + exploration_a) − penalty_a, where penalty_a = λ · ĉ_a / costScale comes from
 * the router (0 for the ratio reward). Context-free: UCB1, Thompson sampling, ε-greedy; contextual:
 * LinUCB (disjoint, ridge prior) with Sherman–Morrison updates of each arm's inverse design matrix.
 * Choices are pure functions of (state, prompt): randomness is keyed on the prompt and the number
 * of observations so far, so one prompt at several λ sees the same draw.
 */
import { z } from 'zod';
import { base64ToF64, f64ToBase64 } from '../../core/encode-f32.js';
import { betaSample, createRng, gaussian, hashString, keyedUniform } from '../../core/random.js';

export interface Choice {
  readonly arm: number;
  /** Estimate and exploration term of every arm (only when asked: full detail). */
  readonly estimates?: Float64Array;
  readonly bonuses?: Float64Array;
}

export interface ArmPolicy {
  readonly name: string;
  readonly contextual: boolean;
  choose(x: Float64Array, key: string, penalty: Float64Array, mask: Uint8Array, detail: boolean): Choice;
  observe(arm: number, x: Float64Array, target: number): void;
  /** Offline bootstrap: many observations at once. */
  observeBatch(arm: number, xs: readonly Float64Array[], targets: readonly number[]): void;
  addArm(): void;
  toState(): unknown;
}

function argmaxPlusBonus(est: Float64Array, bonus: Float64Array, penalty: Float64Array, mask: Uint8Array): number {
  let best = -1;
  let bv = -Infinity;
  for (let a = 0; a < est.length; a++) {
    if (mask[a] !== 1) continue;
    const v = (bonus[a] === Infinity ? 1e9 - (penalty[a] as number) * 1e-9 : (est[a] as number) + (bonus[a] as number) - (penalty[a] as number));
    if (v > bv) {
      bv = v;
      best = a;
    }
  }
  return best;
}

// ---- context-free statistics, shared by UCB1, Thompson and ε-greedy ------------------------
const CountsState = z.object({ n: z.array(z.number()), sum: z.array(z.number()), sumSq: z.array(z.number()), total: z.number() });

class Counts {
  n: number[];
  sum: number[];
  sumSq: number[];
  total: number;
  constructor(arms: number, private readonly gamma: number, s?: z.infer<typeof CountsState>) {
    this.n = s?.n ?? new Array<number>(arms).fill(0);
    this.sum = s?.sum ?? new Array<number>(arms).fill(0);
    this.sumSq = s?.sumSq ?? new Array<number>(arms).fill(0);
    this.total = s?.total ?? 0;
  }
  observe(a: number, r: number): void {
    if (this.gamma < 1) {
      for (let k = 0; k < this.n.length; k++) {
        this.n[k] = (this.n[k] as number) * this.gamma;
        this.sum[k] = (this.sum[k] as number) * this.gamma;
        this.sumSq[k] = (this.sumSq[k] as number) * this.gamma;
      }
    }
    this.n[a] = (this.n[a] as number) + 1;
    this.sum[a] = (this.sum[a] as number) + r;
    this.sumSq[a] = (this.sumSq[a] as number) + r * r;
    this.total++;
  }
  mean(a: number): number {
    const n = this.n[a] as number;
    return n > 0 ? (this.sum[a] as number) / n : 0;
  }
  add(): void {
    this.n.push(0);
    this.sum.push(0);
    this.sumSq.push(0);
  }
  state(): z.infer<typeof CountsState> {
    return { n: this.n, sum: this.sum, sumSq: this.sumSq, total: this.total };
  }
}

/** The context-free policies: per-arm counts and sums, an exploration rule on top. */
abstract class CountingPolicy implements ArmPolicy {
  abstract readonly name: string;
  readonly contextual = false;
  protected readonly c: Counts;
  constructor(arms: number, gamma: number, state?: unknown) {
    this.c = new Counts(arms, gamma, state === undefined ? undefined : CountsState.parse(state));
  }
  /** Fills each arm's exploration term; may instead force an arm (ε-greedy's random pick). */
  protected abstract explore(key: string, est: Float64Array, bonus: Float64Array, mask: Uint8Array): number | undefined;
  choose(_x: Float64Array, key: string, penalty: Float64Array, mask: Uint8Array, detail: boolean): Choice {
    const A = this.c.n.length;
    const est = new Float64Array(A);
    const bonus = new Float64Array(A);
    for (let a = 0; a < A; a++) est[a] = this.c.mean(a);
    const arm = this.explore(key, est, bonus, mask) ?? argmaxPlusBonus(est, bonus, penalty, mask);
    return detail ? { arm, estimates: est, bonuses: bonus } : { arm };
  }
  observe(arm: number, _x: Float64Array, target: number): void {
    this.c.observe(arm, target);
  }
  observeBatch(arm: number, _xs: readonly Float64Array[], targets: readonly number[]): void {
    for (const t of targets) this.c.observe(arm, t);
  }
  addArm(): void {
    this.c.add();
  }
  toState(): unknown {
    return this.c.state();
  }
}

export class Ucb1 extends CountingPolicy {
  readonly name = 'ucb1';
  constructor(arms: number, private readonly explore_ = 1, gamma = 1, state?: unknown) {
    super(arms, gamma, state);
  }
  protected explore(_key: string, _est: Float64Array, bonus: Float64Array): undefined {
    const N = Math.max(1, this.c.n.reduce((s, v) => s + v, 0));
    for (let a = 0; a < bonus.length; a++) {
      const n = this.c.n[a] as number;
      bonus[a] = n > 0 ? this.explore_ * Math.sqrt((2 * Math.log(N)) / n) : Infinity;
    }
    return undefined;
  }
}

/** Thompson sampling: Beta–Bernoulli for binary scores, Gaussian (known noise) for graded scores. */
export class Thompson extends CountingPolicy {
  readonly name = 'thompson';
  constructor(arms: number, private readonly binary: boolean, private readonly seed: number, gamma = 1, state?: unknown) {
    super(arms, gamma, state);
  }
  protected explore(key: string, est: Float64Array, bonus: Float64Array): undefined {
    const rng = createRng(hashString(`${key}#${this.c.total}`, this.seed >>> 0));
    for (let a = 0; a < bonus.length; a++) {
      const n = this.c.n[a] as number;
      const s = this.c.sum[a] as number;
      const draw = this.binary ? betaSample(rng, 1 + s, 1 + Math.max(0, n - s)) : (s + 0.5) / (n + 1) + gaussian(rng) * Math.sqrt(0.25 / (n + 1));
      bonus[a] = draw - (est[a] as number);
    }
    return undefined;
  }
}

export class EpsilonGreedy extends CountingPolicy {
  readonly name = 'epsilon-greedy';
  constructor(arms: number, private readonly epsilon: number, private readonly seed: number, gamma = 1, state?: unknown) {
    super(arms, gamma, state);
  }
  protected explore(key: string, _est: Float64Array, bonus: Float64Array, mask: Uint8Array): number | undefined {
    for (let a = 0; a < bonus.length; a++) bonus[a] = (this.c.n[a] as number) > 0 ? 0 : Infinity; // try every arm once
    const k = `${key}#${this.c.total}`;
    if (keyedUniform(this.seed, k) >= this.epsilon) return undefined;
    const allowed = [...mask.keys()].filter((a) => mask[a] === 1);
    return allowed[Math.floor(keyedUniform(this.seed + 1, k) * allowed.length)] as number;
  }
}

// ---- LinUCB ------------------------------------------------------------------------------
const LinState = z.object({
  d: z.number().int().positive(),
  bases: z.array(z.string()).default([]),
  arms: z.array(z.object({ ainv: z.string(), b: z.string(), theta: z.string(), n: z.number(), base: z.number().int().default(-1) })),
});

interface LinArm {
  ainv: Float64Array;
  b: Float64Array;
  theta: Float64Array;
  n: number;
  /** Index of a base A₀⁻¹ with A ⪰ A₀ (set by the offline bootstrap), or -1 for reg·I. */
  base: number;
}

/** A⁻¹x into z; returns xᵀA⁻¹x. */
function quadratic(A: Float64Array, x: Float64Array, z: Float64Array, d: number): number {
  let q = 0;
  for (let i = 0, off = 0; i < d; i++, off += d) {
    let s0 = 0;
    let s1 = 0;
    let j = 0;
    for (; j + 1 < d; j += 2) {
      s0 += (A[off + j] as number) * (x[j] as number);
      s1 += (A[off + j + 1] as number) * (x[j + 1] as number);
    }
    if (j < d) s0 += (A[off + j] as number) * (x[j] as number);
    const s = s0 + s1;
    z[i] = s;
    q += (x[i] as number) * s;
  }
  return q;
}

function sameVector(a: Float64Array, b: Float64Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** xᵀAx for a symmetric A from its upper triangle (half the work of A·x). */
function symmetricQuadratic(A: Float64Array, x: Float64Array, d: number): number {
  let q = 0;
  for (let i = 0, off = 0; i < d; i++, off += d) {
    const xi = x[i] as number;
    if (xi === 0) continue;
    let s = 0;
    for (let j = i + 1; j < d; j++) s += (A[off + j] as number) * (x[j] as number);
    q += xi * ((A[off + i] as number) * xi + 2 * s);
  }
  return q;
}

/**
 * Disjoint LinUCB: per arm, ridge estimate θ_a = A_a⁻¹ b_a, score xᵀθ_a + α √(xᵀ A_a⁻¹ x).
 * A_a⁻¹ is kept up to date by Sherman–Morrison (O(d²) per update) and θ by recursive least squares.
 * Choosing is exact but lazy: every arm's A_a dominates the A₀ it was bootstrapped to (updates only
 * add xxᵀ), so √(xᵀA₀⁻¹x) — computed once per step for all arms sharing A₀ — bounds every bonus,
 * and exact bonuses are computed only for arms whose bound could still win. The chosen arm's A⁻¹x
 * is kept for the update that follows with the same context.
 */
export class LinUcb implements ArmPolicy {
  readonly name = 'linucb';
  readonly contextual = true;
  private arms: LinArm[];
  private bases: Float64Array[] = [];
  private readonly z: Float64Array;
  private last: { arm: number; x: Float64Array; z: Float64Array } | undefined;
  private readonly bestZ: Float64Array;
  private est = new Float64Array(0);
  private bound = new Float64Array(0);
  private readonly order: number[] = [];
  constructor(arms: number, readonly d: number, private readonly alpha: number, private readonly reg: number, private readonly gamma = 1, state?: unknown) {
    this.z = new Float64Array(d);
    this.bestZ = new Float64Array(d);
    if (state !== undefined) {
      const s = LinState.parse(state);
      this.bases = s.bases.map(base64ToF64);
      this.arms = s.arms.map((a) => ({ ainv: base64ToF64(a.ainv), b: base64ToF64(a.b), theta: base64ToF64(a.theta), n: a.n, base: a.base }));
    } else {
      this.arms = Array.from({ length: arms }, () => this.freshArm());
    }
  }
  private freshArm(): LinArm {
    const ainv = new Float64Array(this.d * this.d);
    for (let i = 0; i < this.d; i++) ainv[i * this.d + i] = 1 / this.reg;
    return { ainv, b: new Float64Array(this.d), theta: new Float64Array(this.d), n: 0, base: -1 };
  }
  choose(x: Float64Array, _key: string, penalty: Float64Array, mask: Uint8Array, detail: boolean): Choice {
    const A = this.arms.length;
    const d = this.d;
    if (this.est.length !== A) {
      this.est = new Float64Array(A);
      this.bound = new Float64Array(A);
    }
    const est = detail ? new Float64Array(A) : this.est;
    for (let a = 0; a < A; a++) {
      const th = (this.arms[a] as LinArm).theta;
      let s = 0;
      for (let i = 0; i < d; i++) s += (th[i] as number) * (x[i] as number);
      est[a] = s;
    }
    if (detail) {
      const bonus = Float64Array.from(this.arms, (arm) => this.alpha * Math.sqrt(Math.max(0, quadratic(arm.ainv, x, this.z, d))));
      return { arm: argmaxPlusBonus(est, bonus, penalty, mask), estimates: est, bonuses: bonus };
    }
    // upper bounds from the bases (one quadratic form per distinct base), then exact values lazily
    let xx = 0;
    for (let i = 0; i < d; i++) xx += (x[i] as number) ** 2;
    const bound = this.bound;
    const order = this.order;
    order.length = 0;
    let baseIdx = -2;
    let baseQ = 0;
    for (let a = 0; a < A; a++) {
      if (mask[a] !== 1) continue;
      const arm = this.arms[a] as LinArm;
      let q: number;
      if (this.gamma < 1) q = Infinity;
      else if (arm.base < 0) q = xx / this.reg;
      else if (arm.base === baseIdx) q = baseQ;
      else {
        q = symmetricQuadratic(this.bases[arm.base] as Float64Array, x, d);
        baseIdx = arm.base;
        baseQ = q;
      }
      bound[a] = (est[a] as number) - (penalty[a] as number) + this.alpha * Math.sqrt(Math.max(0, q));
      order.push(a);
    }
    order.sort((p, q) => (bound[q] as number) - (bound[p] as number));
    let best = -1;
    let bv = -Infinity;
    for (const a of order) {
      if ((bound[a] as number) <= bv) break;
      const q = quadratic((this.arms[a] as LinArm).ainv, x, this.z, d);
      const v = (est[a] as number) + this.alpha * Math.sqrt(Math.max(0, q)) - (penalty[a] as number);
      if (v > bv) {
        bv = v;
        best = a;
        this.bestZ.set(this.z);
      }
    }
    this.last = best >= 0 ? { arm: best, x, z: this.bestZ } : undefined;
    return { arm: best };
  }
  observe(a: number, x: Float64Array, target: number): void {
    const arm = this.arms[a] as LinArm;
    const d = this.d;
    const A = arm.ainv;
    if (this.gamma < 1) {
      // A ← γA + xxᵀ: A⁻¹ ← A⁻¹/γ then the rank-one update; b ← γ b
      for (let k = 0; k < A.length; k++) A[k] = (A[k] as number) / this.gamma;
      for (let k = 0; k < d; k++) arm.b[k] = (arm.b[k] as number) * this.gamma;
      this.last = undefined;
    }
    let z = this.z;
    let xz: number;
    const last = this.last;
    if (last && last.arm === a && sameVector(last.x, x)) {
      z = last.z; // A⁻¹x from the choice just made
      xz = 0;
      for (let i = 0; i < d; i++) xz += (x[i] as number) * (z[i] as number);
    } else {
      xz = quadratic(A, x, z, d);
    }
    this.last = undefined;
    const denom = 1 + xz;
    for (let i = 0, off = 0; i < d; i++, off += d) {
      const zi = (z[i] as number) / denom;
      if (zi === 0) continue;
      let j = 0;
      for (; j + 1 < d; j += 2) {
        A[off + j] = (A[off + j] as number) - zi * (z[j] as number);
        A[off + j + 1] = (A[off + j + 1] as number) - zi * (z[j + 1] as number);
      }
      if (j < d) A[off + j] = (A[off + j] as number) - zi * (z[j] as number);
    }
    // recursive least squares: θ ← θ + A_new⁻¹ x (r − xᵀθ) = θ + z (r − xᵀθ) / (1 + xᵀz)
    let pred = 0;
    for (let i = 0; i < d; i++) pred += (arm.theta[i] as number) * (x[i] as number);
    const g = (target - pred) / denom;
    for (let i = 0; i < d; i++) {
      arm.b[i] = (arm.b[i] as number) + target * (x[i] as number);
      arm.theta[i] = (arm.theta[i] as number) + (z[i] as number) * g;
    }
    arm.n++;
  }
  /** Offline bootstrap; afterwards the arm's A⁻¹ becomes its base (shared with arms that reached the same one). */
  observeBatch(a: number, xs: readonly Float64Array[], targets: readonly number[]): void {
    xs.forEach((x, k) => this.observe(a, x, targets[k] as number));
    if (this.gamma < 1 || xs.length === 0) return;
    const arm = this.arms[a] as LinArm;
    const same = this.bases.findIndex((b) => b.length === arm.ainv.length && b.every((v, i) => v === arm.ainv[i]));
    arm.base = same >= 0 ? same : this.bases.push(Float64Array.from(arm.ainv)) - 1;
  }
  /**
   * A new arm starts from the mean of the existing arms' estimates (θ₀, as a ridge prior: b = reg·θ₀)
   * with a fresh A = reg·I, so its exploration bonus is large and it gets tried.
   */
  addArm(): void {
    const arm = this.freshArm();
    const others = this.arms.filter((a) => a.n > 0);
    for (const o of others) for (let i = 0; i < this.d; i++) arm.theta[i] = (arm.theta[i] as number) + (o.theta[i] as number) / others.length;
    for (let i = 0; i < this.d; i++) arm.b[i] = this.reg * (arm.theta[i] as number);
    this.arms.push(arm);
  }
  toState(): unknown {
    return {
      d: this.d,
      bases: this.bases.map(f64ToBase64),
      arms: this.arms.map((a) => ({ ainv: f64ToBase64(a.ainv), b: f64ToBase64(a.b), theta: f64ToBase64(a.theta), n: a.n, base: a.base })),
    };
  }
}
