/**
 * Offline replay: routers (already fitted on train) decide on every test prompt for every λ, and
 * each decision is credited with the recorded score and cost of the model it picked.
 */
import { invalidArgument } from '../core/errors.js';
import type { MatrixView } from '../data/routing-matrix.js';
import { modelStats, rankByCost, rankByQuality } from '../data/stats.js';
import type { PromptInput, Router } from '../spec/router.js';
import { bootstrapMeans } from './bootstrap.js';
import { aiq, apgr, costToReach, cpt, ndch, qualityAtCost, quantileSorted, type Point } from './metrics.js';
import { columnsMean, oracleColumns, singleColumns, singleResults } from './references.js';
import type { AiqDeltaCI, CostQuality, EvalResult, RouterPoint, RouterResult, TaskResult } from './types.js';

export interface EvalRouter {
  readonly name: string;
  /** Fitted on the train split. */
  readonly router: Router;
  /**
   * How a mixture (soft routing) is credited. Absent: the best recorded score among its models (an
   * upper bound, a perfect aggregator). Given: n×M predicted scores of each test prompt's answers
   * (a response scorer; NaN = no answer text), and the mixture is credited the recorded score of the
   * answer ranked first — a deployable post-generation choice. Cost counts every call either way.
   */
  readonly mixtureScores?: Float64Array;
  /**
   * For a cascade router: n×M ratings of each test prompt's recorded answers by the router's own
   * answer judge (`Router.judgeAnswers`; NaN = no answer text, never accepted). A cascade decision
   * walks its chain, pays each call and is credited the recorded score of the first answer rated at
   * or above its step's threshold (the last model's otherwise).
   */
  readonly judged?: Float64Array;
}

export interface EvalOptions {
  /** λ values, or a count of evenly spaced points in [0, 1] (default 21). */
  readonly lambdas?: number | readonly number[];
  /** Bootstrap resamples for the AIQ-delta interval (default 1000; 0 = none). */
  readonly bootstrap?: number;
  readonly seed?: number;
  readonly onProgress?: (done: number, total: number, label: string) => void;
}

export function lambdaGrid(spec: number | readonly number[] = 21): number[] {
  if (typeof spec !== 'number') {
    for (const l of spec) if (!(l >= 0 && l <= 1)) throw invalidArgument(`lambdas: ${l} is outside [0, 1]`);
    return [...spec].sort((a, b) => a - b);
  }
  if (!Number.isInteger(spec) || spec < 2) throw invalidArgument(`lambdas: expected an integer ≥ 2, got ${spec}`);
  return Array.from({ length: spec }, (_, k) => Number((k / (spec - 1)).toFixed(6)));
}

/** The prompts of a view as routers see them: text, plus candidates where some model has no outcome. */
export function replayPrompts(view: MatrixView): PromptInput[] {
  const M = view.matrix.modelCount;
  const out: PromptInput[] = [];
  for (let i = 0; i < view.size; i++) {
    const available = view.available(i);
    const base = { id: view.id(i), text: view.text(i) };
    out.push(available.length === M ? base : { ...base, candidates: available });
  }
  return out;
}

interface RouterColumns {
  cost: Float64Array[];
  quality: Float64Array[];
  choice: Int32Array[];
}

/** A cascade's replay on prompt i: the calls it pays until a step's answer is accepted, and that answer's recorded score. */
function replayCascade(view: MatrixView, i: number, models: readonly number[], accept: readonly number[], judged: Float64Array): { cost: number; quality: number; model: number } {
  const M = view.matrix.modelCount;
  let cost = 0;
  for (let k = 0; k < models.length; k++) {
    const m = models[k] as number;
    cost += view.cost(i, m);
    if (k === models.length - 1 || (judged[i * M + m] as number) >= (accept[k] as number)) return { cost, quality: view.score(i, m), model: m };
  }
  throw new Error('unreachable: a cascade keeps its last answer');
}

async function replayRouter(view: MatrixView, prompts: readonly PromptInput[], router: Router, lambdas: readonly number[], tick: () => void, scores?: Float64Array, judged?: Float64Array): Promise<RouterColumns> {
  const n = view.size;
  const M = view.matrix.modelCount;
  const out: RouterColumns = { cost: [], quality: [], choice: [] };
  for (const lambda of lambdas) {
    const decisions = await router.route(prompts, { lambda, detail: 'choice' });
    const cost = new Float64Array(n);
    const quality = new Float64Array(n);
    const choice = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const d = decisions[i];
      if (!d || d.models.length === 0 || (d.kind === 'single' && d.models.length !== 1) || (d.kind === 'cascade' && (!judged || d.accept?.length !== d.models.length - 1))) {
        const why = d?.kind === 'cascade' ? (judged ? `a cascade of ${d.models.length} models needs ${d.models.length - 1} threshold(s)` : 'a cascade needs its judge\'s ratings of the recorded answers (EvalRouter.judged)') : `got ${d ? `${d.kind} of ${d.models.length}` : 'none'}`;
        throw invalidArgument(`${router.kind}: offline replay credits single, mixture and cascade decisions; ${why} for prompt ${view.id(i)}`);
      }
      const indices = d.models.map((id) => {
        const m = view.matrix.modelIndex(id);
        if (m === undefined || Number.isNaN(view.score(i, m))) throw invalidArgument(`${router.kind}: chose ${id} for prompt ${view.id(i)}, which has no recorded outcome there`);
        return m;
      });
      if (d.kind === 'cascade') {
        const r = replayCascade(view, i, indices, d.accept as readonly number[], judged as Float64Array);
        quality[i] = r.quality;
        cost[i] = r.cost;
        choice[i] = r.model;
        continue;
      }
      // a mixture pays every call; it is credited its best recorded score (an upper bound: a perfect
      // aggregator), or with mixtureScores the recorded score of the answer the scorer ranks first
      let credited = -Infinity;
      let rank = -Infinity;
      let spent = 0;
      let bestModel = -1;
      for (const m of indices) {
        const q = view.score(i, m);
        spent += view.cost(i, m);
        const r = scores ? (scores[i * M + m] as number) : q;
        if (bestModel < 0 || r > rank) {
          rank = Number.isNaN(r) ? -Infinity : r;
          credited = q;
          bestModel = m;
        }
      }
      quality[i] = credited;
      cost[i] = spent;
      choice[i] = bestModel;
    }
    out.cost.push(cost);
    out.quality.push(quality);
    out.choice.push(choice);
    tick();
  }
  return out;
}

function mean(a: Float64Array): number {
  let s = 0;
  for (const v of a) s += v;
  return s / a.length;
}

function byTask(view: MatrixView, cost: Float64Array, quality: Float64Array, taskIdx: Map<string, number[]>): Record<string, CostQuality> {
  const out: Record<string, CostQuality> = {};
  for (const [task, idx] of taskIdx) out[task] = columnsMean({ cost, quality }, idx);
  return out;
}

export async function evaluate(view: MatrixView, train: MatrixView, routers: readonly EvalRouter[], options: EvalOptions = {}): Promise<EvalResult> {
  const lambdas = lambdaGrid(options.lambdas);
  const n = view.size;
  const M = view.matrix.modelCount;
  const modelIds = view.matrix.modelIds;
  const t0 = performance.now();

  const taskIdx = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const t = view.task(i);
    const list = taskIdx.get(t) ?? [];
    list.push(i);
    taskIdx.set(t, list);
  }

  const singles = singleResults(view);
  const singleCols = modelIds.map((_, m) => singleColumns(view, m));
  const oracleCols = oracleColumns(view);
  const maxCost = Math.max(...singles.map((s) => s.cost).filter((c) => Number.isFinite(c)));
  const trainStats = modelStats(train);
  const bestName = rankByQuality(trainStats)[0] as string;
  const cheapName = rankByCost(trainStats)[0] as string;
  const bestSingle = singles.find((s) => s.model === bestName) as (typeof singles)[number];
  const cheapest = singles.find((s) => s.model === cheapName) as (typeof singles)[number];
  const mixPoints = (i: (m: number) => Point): Point[] => modelIds.map((_, m) => i(m));
  const mixHull = ndch(mixPoints((m) => singles[m] as Point), maxCost);
  const twoModel = M === 2 ? { strong: bestName, weak: modelIds.find((id) => id !== bestName) as string } : undefined;

  const prompts = replayPrompts(view);
  const total = routers.length * lambdas.length;
  let done = 0;
  const columns: RouterColumns[] = [];
  for (const { name, router, mixtureScores, judged } of routers) {
    columns.push(
      await replayRouter(
        view,
        prompts,
        router,
        lambdas,
        () => {
          done++;
          options.onProgress?.(done, total, name);
        },
        mixtureScores,
        judged,
      ),
    );
  }
  const t1 = performance.now();

  const results: RouterResult[] = routers.map(({ name, router }, r) => {
    const cols = columns[r] as RouterColumns;
    const points: RouterPoint[] = lambdas.map((lambda, k) => {
      const cost = cols.cost[k] as Float64Array;
      const quality = cols.quality[k] as Float64Array;
      const counts = new Array<number>(M).fill(0);
      for (const m of cols.choice[k] as Int32Array) counts[m] = (counts[m] as number) + 1;
      const shares: Record<string, number> = {};
      counts.forEach((c, m) => {
        if (c > 0) shares[modelIds[m] as string] = c / n;
      });
      return { lambda, cost: mean(cost), quality: mean(quality), shares, byTask: byTask(view, cost, quality, taskIdx) };
    });
    const hull = ndch(points, maxCost);
    const reach = costToReach(hull, bestSingle.quality);
    const result: RouterResult = {
      name,
      kind: router.kind,
      points,
      hull,
      aiq: aiq(hull, maxCost),
      aiqDeltaCI: null,
      qualityAtBestSingleCost: qualityAtCost(hull, bestSingle.cost),
      costToMatchBestSingle: reach === null ? null : reach / bestSingle.cost,
    };
    if (!twoModel) return result;
    const strongQ = (singles.find((s) => s.model === twoModel.strong) as (typeof singles)[number]).quality;
    const weakQ = (singles.find((s) => s.model === twoModel.weak) as (typeof singles)[number]).quality;
    const sharePoints = points.map((p) => ({ strongShare: p.shares[twoModel.strong] ?? 0, quality: p.quality }));
    return { ...result, apgr: apgr(sharePoints, weakQ, strongQ), cpt50: cpt(sharePoints, weakQ, strongQ, 0.5), cpt80: cpt(sharePoints, weakQ, strongQ, 0.8) };
  });

  const resamples = options.bootstrap ?? 1000;
  if (resamples > 0 && routers.length > 0) {
    const cis = aiqDeltaIntervals(columns, singleCols, n, maxCost, resamples, options.seed ?? 0);
    results.forEach((r, k) => {
      const ci = cis[k] as Omit<AiqDeltaCI, 'delta'>;
      (results[k] as { aiqDeltaCI: AiqDeltaCI | null }).aiqDeltaCI = { delta: r.aiq - aiq(mixHull, maxCost), ...ci };
    });
  }

  const tasks: TaskResult[] = [...taskIdx].map(([task, idx]) => ({
    task,
    n: idx.length,
    oracle: columnsMean(oracleCols, idx),
    singles: Object.fromEntries(modelIds.map((id, m) => [id, columnsMean(singleCols[m] as { cost: Float64Array; quality: Float64Array }, idx)])),
  }));

  return {
    schema: 'switchyard.eval/v1',
    dataset: view.matrix.meta.name,
    split: 'test',
    fitSplit: 'train',
    prompts: n,
    models: [...modelIds],
    prices: Object.fromEntries(view.matrix.models.map((c) => [c.id, { inputPricePerMTok: c.inputPricePerMTok, outputPricePerMTok: c.outputPricePerMTok, ...(c.priceSource ? { source: c.priceSource } : {}) }])),
    lambdas,
    maxCost,
    reference: {
      oracle: columnsMean(oracleCols),
      bestSingle,
      cheapest,
      mixHull: { hull: mixHull, aiq: aiq(mixHull, maxCost) },
      singles,
      ...(twoModel ? { twoModel } : {}),
    },
    routers: results,
    tasks,
    seconds: { routing: (t1 - t0) / 1000, metrics: (performance.now() - t1) / 1000 },
  };
}

/** 95% bootstrap interval of AIQ(router) − AIQ(mix hull), resampling test prompts; maxCost stays fixed. */
function aiqDeltaIntervals(
  routerCols: readonly RouterColumns[],
  singleCols: ReadonlyArray<{ cost: Float64Array; quality: Float64Array }>,
  n: number,
  maxCost: number,
  resamples: number,
  seed: number,
): Array<Omit<AiqDeltaCI, 'delta'>> {
  // Identical columns (a baseline's λ points often coincide) are resampled once.
  const unique: Float64Array[] = [];
  const byHash = new Map<string, number[]>();
  const slot = (col: Float64Array): number => {
    let h = 0;
    for (let i = 0; i < col.length; i++) h = (h * 31 + (col[i] as number) * 1e9 * (i + 1)) % 1e12;
    const key = `${h}`;
    const bucket = byHash.get(key) ?? [];
    const hit = bucket.find((k) => (unique[k] as Float64Array).every((v, i) => Object.is(v, col[i])));
    if (hit !== undefined) return hit;
    const k = unique.push(col) - 1;
    bucket.push(k);
    byHash.set(key, bucket);
    return k;
  };
  const singleSlots = singleCols.map((c) => [slot(c.cost), slot(c.quality)] as const);
  const routerSlots = routerCols.map((rc) => rc.cost.map((c, k) => [slot(c), slot(rc.quality[k] as Float64Array)] as const));
  const { means } = bootstrapMeans(unique, n, resamples, seed);
  const C = unique.length;
  const deltas = routerCols.map(() => new Float64Array(resamples));
  for (let b = 0; b < resamples; b++) {
    const at = (k: number): number => means[b * C + k] as number;
    const mix = aiq(ndch(singleSlots.map(([c, q]) => ({ cost: at(c), quality: at(q) })), maxCost), maxCost);
    routerSlots.forEach((slots, r) => {
      (deltas[r] as Float64Array)[b] = aiq(ndch(slots.map(([c, q]) => ({ cost: at(c), quality: at(q) })), maxCost), maxCost) - mix;
    });
  }
  return deltas.map((d) => {
    d.sort();
    return { low: quantileSorted(d, 0.025), high: quantileSorted(d, 0.975), level: 0.95, resamples };
  });
}
