/**
 * Online replay for learners that update from feedback (bandits): the test split is streamed in a
 * seeded order; for each prompt the router picks, sees only its pick's recorded outcome, updates,
 * and moves on. Reward = score − λ · cost / costScale (costScale = the dearest model's mean train
 * cost). Reported per router and λ over several seeds: mean reward, quality and cost, regret against
 * the best fixed model in hindsight and against the oracle, and curves over time.
 */
import { invalidArgument } from '../core/errors.js';
import { createRng, shuffleInPlace } from '../core/random.js';
import type { MatrixView } from '../data/routing-matrix.js';
import { modelStats } from '../data/stats.js';
import { BanditRouter } from '../routers/bandit/bandit.js';
import { createRouter } from '../routers/registry.js';
import type { ModelCard } from '../spec/dataset.js';
import type { PromptInput, Router, TrainingData } from '../spec/router.js';
import { replayPrompts } from './replay.js';

export interface OnlineOptions {
  readonly lambdas?: readonly number[];
  readonly seeds?: number;
  readonly checkpoints?: number;
  /** Run the adaptation scenario (a held-back model added midway) for the first bandit. */
  readonly adaptation?: boolean;
  readonly onProgress?: (done: number, total: number, label: string) => void;
}

export interface OnlineCurvePoint {
  readonly t: number;
  readonly meanReward: number;
  readonly regretFixed: number;
}

export interface OnlineRouterResult {
  readonly name: string;
  readonly lambda: number;
  readonly seeds: number;
  readonly meanReward: number;
  readonly meanQuality: number;
  readonly meanCost: number;
  readonly cumulativeReward: number;
  readonly regretFixed: number;
  readonly regretOracle: number;
  /** Mean reward minus the best fixed model's, with a 95% t-interval over seeds. */
  readonly vsBestFixed: { readonly delta: number; readonly low: number; readonly high: number };
  readonly curve: OnlineCurvePoint[];
}

export interface AdaptationResult {
  readonly router: string;
  readonly lambda: number;
  readonly model: string;
  readonly addedAt: number;
  /** Share of the new model's calls over the last quarter of the stream. */
  readonly finalShare: number;
  /** Prompts after its arrival until its share in a sliding window (20 prompts, fewer on tiny splits) reaches half of finalShare (null: never). */
  readonly promptsToShare: number | null;
}

export interface OnlineResult {
  readonly costScale: number;
  readonly bestFixed: Array<{ readonly lambda: number; readonly model: string; readonly meanReward: number }>;
  readonly oracle: Array<{ readonly lambda: number; readonly meanReward: number }>;
  readonly routers: OnlineRouterResult[];
  readonly adaptation: AdaptationResult[];
}

const T975: Record<number, number> = { 1: 12.71, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228 };

function tInterval(xs: readonly number[]): { delta: number; low: number; high: number } {
  const n = xs.length;
  const mean = xs.reduce((s, v) => s + v, 0) / n;
  if (n < 2) return { delta: mean, low: mean, high: mean };
  const sd = Math.sqrt(xs.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  const half = (T975[n - 1] ?? 1.96) * (sd / Math.sqrt(n));
  return { delta: mean, low: mean - half, high: mean + half };
}

/** Per-prompt reward of every model at λ (NaN where a model has no outcome). */
function rewards(view: MatrixView, lambda: number, costScale: number): Float64Array {
  const M = view.matrix.modelCount;
  const r = new Float64Array(view.size * M);
  for (let i = 0; i < view.size; i++) for (let m = 0; m < M; m++) r[i * M + m] = view.score(i, m) - (lambda * view.cost(i, m)) / costScale;
  return r;
}

interface StreamStats {
  reward: number;
  quality: number;
  cost: number;
  curve: OnlineCurvePoint[];
  choices: Int32Array;
}

async function stream(router: Router, view: MatrixView, prompts: readonly PromptInput[], order: readonly number[], lambda: number, costScale: number, bestFixed: Float64Array, checkpoints: number, onStep?: (t: number) => void): Promise<StreamStats> {
  let reward = 0;
  let quality = 0;
  let cost = 0;
  let fixed = 0;
  const curve: OnlineCurvePoint[] = [];
  const every = Math.max(1, Math.floor(order.length / checkpoints));
  const choices = new Int32Array(order.length);
  for (let t = 0; t < order.length; t++) {
    onStep?.(t);
    const i = order[t] as number;
    const p = prompts[i] as PromptInput;
    const [d] = await router.route([p], { lambda, detail: 'choice' });
    const m = view.matrix.modelIndex(d?.models[0] ?? '') as number;
    const s = view.score(i, m);
    const c = view.cost(i, m);
    if (Number.isNaN(s)) throw invalidArgument(`${router.kind}: chose ${d?.models[0]} for prompt ${view.id(i)}, which has no recorded outcome there`);
    choices[t] = m;
    reward += s - (lambda * c) / costScale;
    quality += s;
    cost += c;
    fixed += bestFixed[i] as number;
    await router.update?.([{ prompt: p, model: view.matrix.modelIds[m] as string, score: s, costUsd: c }]);
    if ((t + 1) % every === 0 || t === order.length - 1) curve.push({ t: t + 1, meanReward: reward / (t + 1), regretFixed: fixed - reward });
  }
  return { reward, quality, cost, curve, choices };
}

export async function evaluateOnline(view: MatrixView, train: MatrixView, specs: readonly string[], options: OnlineOptions = {}): Promise<OnlineResult> {
  const lambdas = [...(options.lambdas ?? [0.3, 0.6])];
  const seeds = options.seeds ?? 5;
  const checkpoints = options.checkpoints ?? 50;
  const M = view.matrix.modelCount;
  const n = view.size;
  const stats = modelStats(train);
  const costScale = Math.max(...stats.map((s) => (Number.isNaN(s.meanCost) ? 0 : s.meanCost)));
  const prompts = replayPrompts(view);
  const total = specs.length * lambdas.length * seeds;
  let done = 0;
  const bestFixed: OnlineResult['bestFixed'] = [];
  const oracle: OnlineResult['oracle'] = [];
  const routers: OnlineRouterResult[] = [];
  const adaptation: AdaptationResult[] = [];

  for (const lambda of lambdas) {
    const r = rewards(view, lambda, costScale);
    // best fixed model in hindsight (a model missing on a prompt is credited its mean there)
    const totals = Array.from({ length: M }, (_, m) => {
      let s = 0;
      let c = 0;
      for (let i = 0; i < n; i++) if (!Number.isNaN(r[i * M + m] as number)) (s += r[i * M + m] as number), c++;
      return { m, mean: c > 0 ? s / c : -Infinity };
    });
    const best = totals.reduce((a, b) => (b.mean > a.mean ? b : a));
    const fixedCol = Float64Array.from({ length: n }, (_, i) => (Number.isNaN(r[i * M + best.m] as number) ? best.mean : (r[i * M + best.m] as number)));
    const fixedSum = fixedCol.reduce((a, v) => a + v, 0);
    let oracleSum = 0;
    for (let i = 0; i < n; i++) {
      let mx = -Infinity;
      for (let m = 0; m < M; m++) if (!Number.isNaN(r[i * M + m] as number)) mx = Math.max(mx, r[i * M + m] as number);
      oracleSum += mx;
    }
    bestFixed.push({ lambda, model: view.matrix.modelIds[best.m] as string, meanReward: best.mean });
    oracle.push({ lambda, meanReward: oracleSum / n });

    for (const spec of specs) {
      const perSeed: Array<StreamStats> = [];
      for (let seed = 0; seed < seeds; seed++) {
        const router = createRouter(withSeed(spec, seed));
        if (!router.update) throw invalidArgument(`--online: router "${spec}" does not learn online (no update); evaluate it offline`);
        await router.fit(train, { seed });
        const order = shuffleInPlace(Array.from({ length: n }, (_, i) => i), createRng(1000 + seed));
        perSeed.push(await stream(router, view, prompts, order, lambda, costScale, fixedCol, checkpoints));
        options.onProgress?.(++done, total, `${spec} λ=${lambda}`);
      }
      const mean = (f: (s: StreamStats) => number): number => perSeed.reduce((s, x) => s + f(x), 0) / perSeed.length;
      const curve = (perSeed[0] as StreamStats).curve.map((p, k) => ({
        t: p.t,
        meanReward: perSeed.reduce((s, x) => s + (x.curve[k]?.meanReward ?? 0), 0) / perSeed.length,
        regretFixed: perSeed.reduce((s, x) => s + (x.curve[k]?.regretFixed ?? 0), 0) / perSeed.length,
      }));
      routers.push({
        name: spec,
        lambda,
        seeds,
        meanReward: mean((s) => s.reward / n),
        meanQuality: mean((s) => s.quality / n),
        meanCost: mean((s) => s.cost / n),
        cumulativeReward: mean((s) => s.reward),
        regretFixed: mean((s) => fixedSum - s.reward),
        regretOracle: mean((s) => oracleSum - s.reward),
        vsBestFixed: tInterval(perSeed.map((s) => (s.reward - fixedSum) / n)),
        curve,
      });
    }
    // the adaptation scenario runs for the first bootstrapped contextual bandit (else the first bandit)
    const first = specs.find((s) => s.startsWith('linucb') && !s.includes('bootstrap=false')) ?? specs[0];
    if (options.adaptation && first) adaptation.push(await adaptationScenario(view, train, first, lambda, costScale, best.m));
  }
  return { costScale, bestFixed, oracle, routers, adaptation };
}

function withSeed(spec: string, seed: number): string {
  if (/(^|[:;])seed=/.test(spec)) return spec;
  return `${spec}${spec.includes(':') ? ';' : ':'}seed=${seed}`;
}

/** A training view with one model held back. */
function withoutModel(view: MatrixView, held: number): TrainingData {
  const keep = view.models.map((_, m) => m).filter((m) => m !== held);
  return {
    models: keep.map((m) => view.models[m] as ModelCard),
    size: view.size,
    text: (i) => view.text(i),
    id: (i) => view.id(i),
    score: (i, m) => view.score(i, keep[m] as number),
    cost: (i, m) => view.cost(i, keep[m] as number),
    inputTokens: (i, m) => view.inputTokens(i, keep[m] as number),
    outputTokens: (i, m) => view.outputTokens(i, keep[m] as number),
  };
}

/** The held-back model (the best fixed model for λ) joins midway; how fast does it get its share? */
async function adaptationScenario(view: MatrixView, train: MatrixView, spec: string, lambda: number, costScale: number, held: number): Promise<AdaptationResult> {
  const router = createRouter(withSeed(spec, 0));
  if (!(router instanceof BanditRouter)) throw invalidArgument(`adaptation: "${spec}" is not a bandit`);
  await router.fit(withoutModel(train, held), { seed: 0 });
  const heldId = view.matrix.modelIds[held] as string;
  const n = view.size;
  const order = shuffleInPlace(Array.from({ length: n }, (_, i) => i), createRng(1000));
  const addedAt = Math.floor(n / 2);
  const base = replayPrompts(view);
  const choices: boolean[] = [];
  for (let t = 0; t < n; t++) {
    if (t === addedAt) {
      const out = modelStats(train)[held]?.meanOutputTokens ?? 0;
      router.addModel(view.matrix.models[held] as ModelCard, Number.isNaN(out) ? 0 : out);
    }
    const i = order[t] as number;
    const avail = (base[i]?.candidates ?? view.matrix.modelIds).filter((id) => t >= addedAt || id !== heldId);
    const p = { ...(base[i] as PromptInput), candidates: avail };
    const [d] = await router.route([p], { lambda, detail: 'choice' });
    const id = d?.models[0] as string;
    const m = view.matrix.modelIndex(id) as number;
    choices.push(id === heldId);
    await router.update([{ prompt: p, model: id, score: view.score(i, m), costUsd: view.cost(i, m) }]);
  }
  const lastQuarter = choices.slice(Math.floor((3 * n) / 4));
  const finalShare = lastQuarter.filter(Boolean).length / Math.max(1, lastQuarter.length);
  const W = Math.max(1, Math.min(20, Math.floor((n - addedAt) / 4)));
  let promptsToShare: number | null = null;
  if (finalShare > 0) {
    for (let t = addedAt + W; t <= n; t++) {
      const share = choices.slice(t - W, t).filter(Boolean).length / W;
      if (share >= finalShare / 2) {
        promptsToShare = t - addedAt;
        break;
      }
    }
  }
  return { router: spec, lambda, model: heldId, addedAt, finalShare, promptsToShare };
}
