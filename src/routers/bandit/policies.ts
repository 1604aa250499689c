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

export class Ucb1 implements ArmPolicy {
  readonly name = 'ucb1';
  readonly contextual = false;
  private readonly c: Counts;
  constructor(arms: number, private readonly explore = 1, gamma = 1, state?: unknown) {
    this.c = new Counts(arms, gamma, state === undefined ? undefined : CountsState.parse(state));
  }
  choose(_x: Float64Array, _key: string, penalty: Float64Array, mask: Uint8Array, detail: boolean): Choice {
    const A = this.c.n.length;
    const est = new Float64Array(A);
    const bonus = new Float64Array(A);
    const N = Math.max(1, this.c.n.reduce((s, v) => s + v, 0));
    for (let a = 0; a < A; a++) {
      const n = this.c.n[a] as number;
      est[a] = this.c.mean(a);
      bonus[a] = n > 0 ? this.explore * Math.sqrt((2 * Math.log(N)) / n) : Infinity;
    }
    const arm = argmaxPlusBonus(est, bonus, penalty, mask);
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

/** Thompson sampling: Beta–Bernoulli for binary scores, Gaussian (known noise) for graded scores. */
export class Thompson implements ArmPolicy {
  readonly name = 'thompson';
  readonly contextual = false;
  private readonly c: Counts;
  constructor(arms: number, private readonly binary: boolean, private readonly seed: number, gamma = 1, state?: unknown) {
    this.c = new Counts(arms, gamma, state === undefined ? undefined : CountsState.parse(state));
  }
  choose(_x: Float64Array, key: string, penalty: Float64Array, mask: Uint8Array, detail: boolean): Choice {
    const A = this.c.n.length;
    const rng = createRng(hashString(`${key}#${this.c.total}`, this.seed >>> 0));
    const est = new Float64Array(A);
    const bonus = new Float64Array(A);
    for (let a = 0; a < A; a++) {
      const n = this.c.n[a] as number;
      const s = this.c.sum[a] as number;
      const draw = this.binary ? betaSample(rng, 1 + s, 1 + Math.max(0, n - s)) : (s + 0.5) / (n + 1) + gaussian(rng) * Math.sqrt(0.25 / (n + 1));
      est[a] = this.c.mean(a);
      bonus[a] = draw - (est[a] as number);
    }
    const arm = argmaxPlusBonus(est, bonus, penalty, mask);
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

export class EpsilonGreedy implements ArmPolicy {
  readonly name = 'epsilon-greedy';
  readonly contextual = false;
  private readonly c: Counts;
  constructor(arms: number, private readonly epsilon: number, private readonly seed: number, gamma = 1, state?: unknown) {
    this.c = new Counts(arms, gamma, state === undefined ? undefined : CountsState.parse(state));
  }
  choose(_x: Float64Array, key: string, penalty: Float64Array, mask: Uint8Array, detail: boolean): Choice {
    const A = this.c.n.length;
    const est = new Float64Array(A);
    const bonus = new Float64Array(A);
    for (let a = 0; a < A; a++) {
      est[a] = this.c.mean(a);
      bonus[a] = (this.c.n[a] as number) > 0 ? 0 : Infinity; // try every arm once
    }
    const k = `${key}#${this.c.total}`;
    if (keyedUniform(this.seed, k) < this.epsilon) {
      const allowed = [...mask.keys()].filter((a) => mask[a] === 1);
      const arm = allowed[Math.floor(keyedUniform(this.seed + 1, k) * allowed.length)] as number;
      return detail ? { arm, estimates: est, bonuses: bonus } : { arm };
    }
    const arm = argmaxPlusBonus(est, bonus, penalty, mask);
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

// ---- LinUCB ------------------------------------------------------------------------------
const LinState = z.object({
  d: z.number().int().positive(),
  arms: z.array(z.object({ ainv: z.string(), b: z.string(), theta: z.string(), n: z.number(), rho: z.number() })),
});

interface LinArm {
  ainv: Float64Array;
  b: Float64Array;
  theta: Float64Array;
  n: number;
  /** An upper bound on the largest eigenvalue of A⁻¹ (A only grows without discount). */
  rho: number;
}

/**
 * Disjoint LinUCB: per arm, ridge estimate θ_a = A_a⁻¹ b_a, score xᵀθ_a + α √(xᵀ A_a⁻¹ x).
 * A_a⁻¹ is kept up to date by Sherman–Morrison (O(d²) per update); choosing computes the exact
 * bonus only for arms whose mean plus an upper bound on the bonus (α ‖x‖ √ρ_a) could still win.
 */
export class LinUcb implements ArmPolicy {
  readonly name = 'linucb';
  readonly contextual = true;
  private arms: LinArm[];
  private readonly z: Float64Array;
  constructor(arms: number, readonly d: number, private readonly alpha: number, private readonly reg: number, private readonly gamma = 1, state?: unknown) {
    this.z = new Float64Array(d);
    if (state !== undefined) {
      const s = LinState.parse(state);
      this.arms = s.arms.map((a) => ({ ainv: base64ToF64(a.ainv), b: base64ToF64(a.b), theta: base64ToF64(a.theta), n: a.n, rho: a.rho }));
    } else {
      this.arms = Array.from({ length: arms }, () => this.freshArm());
    }
  }
  private freshArm(): LinArm {
    const ainv = new Float64Array(this.d * this.d);
    for (let i = 0; i < this.d; i++) ainv[i * this.d + i] = 1 / this.reg;
    return { ainv, b: new Float64Array(this.d), theta: new Float64Array(this.d), n: 0, rho: 1 / this.reg };
  }
  private bonus(arm: LinArm, x: Float64Array): number {
    const d = this.d;
    const A = arm.ainv;
    let q = 0;
    for (let i = 0; i < d; i++) {
      const xi = x[i] as number;
      if (xi === 0) continue;
      let s = 0;
      const off = i * d;
      for (let j = 0; j < d; j++) s += (A[off + j] as number) * (x[j] as number);
      q += xi * s;
    }
    return this.alpha * Math.sqrt(Math.max(0, q));
  }
  choose(x: Float64Array, _key: string, penalty: Float64Array, mask: Uint8Array, detail: boolean): Choice {
    const A = this.arms.length;
    const est = new Float64Array(A);
    let xx = 0;
    for (let i = 0; i < this.d; i++) xx += (x[i] as number) ** 2;
    const xn = Math.sqrt(xx);
    for (let a = 0; a < A; a++) {
      const th = (this.arms[a] as LinArm).theta;
      let s = 0;
      for (let i = 0; i < this.d; i++) s += (th[i] as number) * (x[i] as number);
      est[a] = s;
    }
    if (detail) {
      const bonus = Float64Array.from(this.arms, (arm) => this.bonus(arm, x));
      return { arm: argmaxPlusBonus(est, bonus, penalty, mask), estimates: est, bonuses: bonus };
    }
    // visit arms by optimistic bound; stop when no remaining bound can beat the best exact value
    const order = [...est.keys()].filter((a) => mask[a] === 1);
    const bound = (a: number): number => (est[a] as number) - (penalty[a] as number) + this.alpha * xn * Math.sqrt((this.arms[a] as LinArm).rho);
    order.sort((p, q) => bound(q) - bound(p));
    let best = -1;
    let bv = -Infinity;
    for (const a of order) {
      if (bound(a) <= bv) break;
      const v = (est[a] as number) + this.bonus(this.arms[a] as LinArm, x) - (penalty[a] as number);
      if (v > bv) {
        bv = v;
        best = a;
      }
    }
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
      arm.rho /= this.gamma;
    }
    const z = this.z;
    let xz = 0;
    for (let i = 0; i < d; i++) {
      let s = 0;
      const off = i * d;
      for (let j = 0; j < d; j++) s += (A[off + j] as number) * (x[j] as number);
      z[i] = s;
      xz += (x[i] as number) * s;
    }
    const denom = 1 + xz;
    for (let i = 0; i < d; i++) {
      const zi = (z[i] as number) / denom;
      if (zi === 0) continue;
      const off = i * d;
      for (let j = 0; j < d; j++) A[off + j] = (A[off + j] as number) - zi * (z[j] as number);
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
    if (arm.n % 256 === 0 && this.gamma === 1) this.tighten(arm);
  }
  observeBatch(a: number, xs: readonly Float64Array[], targets: readonly number[]): void {
    xs.forEach((x, k) => this.observe(a, x, targets[k] as number));
    this.tighten(this.arms[a] as LinArm);
  }
  /** Gershgorin: λ_max(A⁻¹) ≤ max_i Σ_j |A⁻¹_ij| — a valid, cheaper-than-eigen bound for pruning. */
  private tighten(arm: LinArm): void {
    let max = 0;
    for (let i = 0; i < this.d; i++) {
      let s = 0;
      for (let j = 0; j < this.d; j++) s += Math.abs(arm.ainv[i * this.d + j] as number);
      max = Math.max(max, s);
    }
    arm.rho = Math.min(arm.rho, max);
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
    return { d: this.d, arms: this.arms.map((a) => ({ ainv: f64ToBase64(a.ainv), b: f64ToBase64(a.b), theta: f64ToBase64(a.theta), n: a.n, rho: a.rho })) };
  }
}
