/**
 * `cascade`: a post-generation router (FrugalGPT-style). It calls a cheap model first and keeps its
 * answer when an answer judge (the response scorer, fitted on the training prompts' recorded answers)
 * rates it at least τ; otherwise it calls the next model of the chain; the last model's answer is
 * always kept. It pays for every call it makes.
 *
 * Fit (all on train): the judge's out-of-fold ratings of every recorded answer (k-fold by prompt);
 * chains of up to three models among the train Pareto set, ordered by cost, each with a grid of
 * thresholds (quantiles of the first models' ratings); each configuration's mean cost and quality
 * replayed on train; λ then walks the Pareto frontier of those configurations as every predictor's λ
 * does: the target mean cost falls evenly on a log axis from the best configuration's cost (λ = 0) to
 * the cheapest's (λ = 1). See docs/routers.md, "Cascades".
 */
import { z } from 'zod';
import { SwitchyardError, invalidArgument } from '../../core/errors.js';
import { createRng, shuffleInPlace } from '../../core/random.js';
import type { AnswerToJudge, Decision, FitContext, PromptInput, RoutePrefs, Router, RouterArtifact, TrainingData } from '../../spec/router.js';
import { expectArtifact, parseArtifact, parseState } from '../artifact.js';
import { aiq, ndch } from '../../eval/metrics.js';
import { BaseRouter } from '../base.js';
import { ResponseScorer, type ScoredResponse } from './response-scorer.js';
import { STEP_LAMBDAS, createBase, crossFitChoices, loadBase } from './routed-steps.js';
import { resolveOnCurve } from '../tradeoff.js';

const pick = (c: Config): { cost: number; quality: number } => ({ cost: c.cost, quality: c.quality });

export interface CascadeOptions {
  /** Longest chain tried (1–3, default 3). */
  readonly maxLength?: number;
  /** Folds for the judge's out-of-fold ratings (default 3). */
  readonly folds?: number;
  /** Models of the train Pareto set considered for chains (default 8). */
  readonly maxModels?: number;
  /**
   * A pre-generation router spec (e.g. `knn`, `linear:encoder=hashing`): steps are then also its
   * per-prompt choices — a cheap-leaning one first, a quality-leaning one to escalate to (routed-steps.ts).
   */
  readonly base?: string;
  /** Width of the judge's hashed prompt block (0: the judge reads answers only). */
  readonly promptDim?: number;
}

/** A cascade configuration and what it reached on train. */
interface Config {
  /** A fixed chain of model indices (empty for a routed configuration). */
  readonly chain: readonly number[];
  /** A routed configuration: the base router's choice at STEP_LAMBDAS[steps[k]] is step k. */
  readonly steps?: readonly number[];
  readonly accept: readonly number[];
  readonly cost: number;
  readonly quality: number;
  /** Mean number of calls a prompt. */
  readonly calls: number;
}

const StateSchema = z.object({
  scorer: z.unknown(),
  configs: z
    .array(z.object({ chain: z.array(z.number().int().nonnegative()), steps: z.array(z.number().int().min(0).max(STEP_LAMBDAS.length - 1)).min(1).optional(), accept: z.array(z.number()), cost: z.number(), quality: z.number(), calls: z.number() }))
    .min(1),
  base: z.unknown().nullable(),
  means: z.object({ quality: z.array(z.number().nullable()), cost: z.array(z.number().nullable()) }),
});

const PAIR_LEVELS = Array.from({ length: 19 }, (_, k) => 0.05 * (k + 1));
const TRIPLE_LEVELS = [0.1, 0.3, 0.5, 0.7, 0.9];

function quantile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.POSITIVE_INFINITY;
  const x = p * (sorted.length - 1);
  const lo = Math.floor(x);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return (sorted[lo] as number) + (x - lo) * ((sorted[hi] as number) - (sorted[lo] as number));
}

/** Configurations on the cost–quality frontier: by cost, each strictly better than every cheaper one. */
function frontier(configs: readonly Config[]): Config[] {
  const sorted = [...configs].sort((a, b) => a.cost - b.cost || b.quality - a.quality);
  const out: Config[] = [];
  for (const c of sorted) if (out.length === 0 || c.quality > (out[out.length - 1] as Config).quality + 1e-12) out.push(c);
  return out;
}

/**
 * A cascade replayed on train: prompt i's chain is `chainOf(i)` (undefined: the prompt is not counted;
 * -1: the step is skipped there); each call is paid, and the first answer judged ≥ its step's
 * threshold is credited (the last one's otherwise). Mean cost, quality and calls a prompt.
 */
function replayOnTrain(train: TrainingData, judged: Float64Array, accept: readonly number[], chainOf: (i: number) => readonly number[] | undefined): { cost: number; quality: number; calls: number } | undefined {
  const M = train.models.length;
  let cost = 0;
  let quality = 0;
  let calls = 0;
  let count = 0;
  for (let i = 0; i < train.size; i++) {
    const chain = chainOf(i);
    if (!chain) continue;
    count++;
    for (let k = 0; k < chain.length; k++) {
      const m = chain[k] as number;
      if (m < 0) continue;
      cost += train.cost(i, m);
      calls++;
      if (k === chain.length - 1 || (judged[i * M + m] as number) >= (accept[k] as number)) {
        quality += train.score(i, m);
        break;
      }
    }
  }
  return count > 0 ? { cost: cost / count, quality: quality / count, calls: calls / count } : undefined;
}

/** The frontier configuration for λ: the best one whose cost is within the target (log-even from best to cheapest). */
function pointAt(front: readonly Config[], lambda: number): Config {
  const lo = (front[0] as Config).cost;
  const hi = (front[front.length - 1] as Config).cost;
  const target = lo > 0 && hi > 0 ? Math.exp(Math.log(hi) + lambda * (Math.log(lo) - Math.log(hi))) : hi + lambda * (lo - hi);
  let pick = front[0] as Config;
  for (const c of front) if (c.cost <= target * (1 + 1e-12)) pick = c;
  return pick;
}

export class CascadeRouter extends BaseRouter {
  readonly kind = 'cascade';
  readonly version = 1;
  private readonly options: Required<Omit<CascadeOptions, 'base'>> & { readonly base: string | undefined };
  private scorer: ResponseScorer | undefined;
  private base: Router | undefined;
  private configs: Config[] = [];
  /** Each model's mean recorded score and cost on train (NaN: no outcome there). */
  private means: { quality: number[]; cost: number[] } = { quality: [], cost: [] };
  private fronts = new Map<string, Config[]>();

  constructor(options: CascadeOptions = {}) {
    super();
    const maxLength = options.maxLength ?? 3;
    if (![1, 2, 3].includes(maxLength)) throw invalidArgument(`cascade: maxLength: expected 1, 2 or 3, got ${maxLength}`);
    const folds = options.folds ?? 3;
    if (!Number.isInteger(folds) || folds < 2) throw invalidArgument(`cascade: folds: expected an integer ≥ 2, got ${folds}`);
    const maxModels = options.maxModels ?? 8;
    if (!Number.isInteger(maxModels) || maxModels < 1) throw invalidArgument(`cascade: maxModels: expected an integer ≥ 1, got ${maxModels}`);
    const promptDim = options.promptDim ?? 0;
    if (!Number.isInteger(promptDim) || promptDim < 0) throw invalidArgument(`cascade: promptDim: expected an integer ≥ 0, got ${promptDim}`);
    this.options = { maxLength, folds, maxModels, promptDim, base: options.base };
  }

  protected async fitModels(train: TrainingData, ctx: FitContext): Promise<void> {
    const n = train.size;
    const M = this.cards.length;
    const answers = train.answers ? await train.answers() : [];
    const rows: ScoredResponse[] = [];
    const slots: number[] = [];
    for (const a of answers) {
      const y = train.score(a.i, a.m);
      if (Number.isNaN(y)) continue;
      rows.push({ prompt: train.text(a.i), model: this.cards[a.m]?.id as string, response: a.text, score: y });
      slots.push(a.i * M + a.m);
    }
    if (rows.length < 20) {
      throw invalidArgument(`cascade: needs the recorded answers of the training prompts to fit its answer judge (a dataset with responses.jsonl.gz); found ${rows.length}`);
    }
    const t0 = performance.now();
    // the judge's out-of-fold ratings: a prompt's answers are rated by a judge that never saw that prompt
    const F = this.options.folds;
    const fold = new Int32Array(n);
    shuffleInPlace(Array.from({ length: n }, (_, i) => i), createRng(ctx.seed)).forEach((i, k) => (fold[i] = k % F));
    const judged = new Float64Array(n * M).fill(Number.NaN);
    for (let f = 0; f < F; f++) {
      const inFold = (k: number): boolean => fold[Math.floor((slots[k] as number) / M)] === f;
      const fitRows = rows.filter((_, k) => !inFold(k));
      const heldOut = rows.map((_, k) => k).filter(inFold);
      if (fitRows.length === 0 || heldOut.length === 0) continue;
      const judge = await ResponseScorer.fit(fitRows, { seed: ctx.seed + f, promptDim: this.options.promptDim });
      const rated = await judge.score(heldOut.map((k) => rows[k] as ScoredResponse));
      heldOut.forEach((k, j) => (judged[slots[k] as number] = rated[j] as number));
    }
    this.scorer = await ResponseScorer.fit(rows, { seed: ctx.seed, promptDim: this.options.promptDim });
    this.configs = this.searchConfigs(train, judged);
    this.base = undefined;
    if (this.options.base) {
      const choice = await crossFitChoices(this.options.base, train, fold, F, ctx.seed);
      this.configs.push(...this.routedConfigs(train, judged, choice));
      this.base = await createBase(this.options.base);
      await this.base.fit(train, { seed: ctx.seed });
    }
    this.fronts.clear();
    const front = this.frontFor(new Uint8Array(M).fill(1));
    const maxCost = Math.max(...this.configs.filter((c) => c.chain.length === 1).map((c) => c.cost));
    const trainAiq = aiq(ndch(front.map((c) => ({ cost: c.cost, quality: c.quality })), maxCost), maxCost);
    ctx.log?.(
      `cascade: judge fitted on ${rows.length} answers (${F}-fold ratings) in ${((performance.now() - t0) / 1000).toFixed(1)}s; ${this.configs.length} configurations, ${front.length} on the train frontier (out-of-fold train AIQ ${trainAiq.toFixed(4)}), ` +
        `from ${this.describe(front[0] as Config)} to ${this.describe(front[front.length - 1] as Config)}`,
    );
  }

  /** Every configuration tried, with its mean cost, quality and calls on train. */
  private searchConfigs(train: TrainingData, judged: Float64Array): Config[] {
    const n = train.size;
    const M = this.cards.length;
    const meanQ = new Float64Array(M);
    const meanC = new Float64Array(M);
    const rated = Array.from({ length: M }, () => [] as number[]);
    for (let m = 0; m < M; m++) {
      let q = 0;
      let c = 0;
      let k = 0;
      for (let i = 0; i < n; i++) {
        const y = train.score(i, m);
        if (Number.isNaN(y)) continue;
        q += y;
        c += train.cost(i, m);
        k++;
        const r = judged[i * M + m] as number;
        if (!Number.isNaN(r)) (rated[m] as number[]).push(r);
      }
      meanQ[m] = k > 0 ? q / k : Number.NaN;
      meanC[m] = k > 0 ? c / k : Number.NaN;
      (rated[m] as number[]).sort((a, b) => a - b);
    }
    this.means = { quality: Array.from(meanQ), cost: Array.from(meanC) };
    // chains run among the train Pareto set, cheapest first; a model whose answers we cannot rate only ends one
    const byCost = Array.from({ length: M }, (_, m) => m).filter((m) => !Number.isNaN(meanQ[m] as number)).sort((a, b) => (meanC[a] as number) - (meanC[b] as number) || (meanQ[b] as number) - (meanQ[a] as number));
    let pareto: number[] = [];
    for (const m of byCost) if (pareto.length === 0 || (meanQ[m] as number) > (meanQ[pareto[pareto.length - 1] as number] as number)) pareto.push(m);
    const K = this.options.maxModels;
    if (pareto.length > K) pareto = Array.from({ length: K }, (_, k) => pareto[Math.round((k * (pareto.length - 1)) / (K - 1 || 1))] as number);
    const ratable = (m: number): boolean => (rated[m] as number[]).length >= 10;

    const configs: Config[] = [];
    const replay = (chain: readonly number[], accept: readonly number[]): void => {
      const last = chain[chain.length - 1] as number;
      // a step without an outcome on a prompt is skipped there (-1); a prompt the last model has no outcome on is not counted
      const r = replayOnTrain(train, judged, accept, (i) => (Number.isNaN(train.score(i, last)) ? undefined : chain.map((m) => (Number.isNaN(train.score(i, m)) ? -1 : m))));
      if (r) configs.push({ chain: [...chain], accept: [...accept], ...r });
    };
    for (let m = 0; m < M; m++) if (!Number.isNaN(meanQ[m] as number)) replay([m], []);
    const L = this.options.maxLength;
    for (let a = 0; a < pareto.length; a++) {
      const ma = pareto[a] as number;
      if (!ratable(ma)) continue;
      for (let b = a + 1; b < pareto.length; b++) {
        const mb = pareto[b] as number;
        if (L >= 2) for (const p of PAIR_LEVELS) replay([ma, mb], [quantile(rated[ma] as number[], p)]);
        if (L < 3 || !ratable(mb)) continue;
        for (let c = b + 1; c < pareto.length; c++) {
          for (const p of TRIPLE_LEVELS) for (const p2 of TRIPLE_LEVELS) replay([ma, mb, pareto[c] as number], [quantile(rated[ma] as number[], p), quantile(rated[mb] as number[], p2)]);
        }
      }
    }
    return configs;
  }

  /** Routed configurations: the base router's choice at one λ alone, or a cheap-leaning choice kept if judged ≥ τ, else a quality-leaning one. */
  private routedConfigs(train: TrainingData, judged: Float64Array, choice: Int32Array): Config[] {
    const n = train.size;
    const M = this.cards.length;
    const G = STEP_LAMBDAS.length;
    const configs: Config[] = [];
    const replay = (steps: readonly number[], accept: readonly number[]): void => {
      const first = (steps[0] as number) * n;
      const last = (steps[steps.length - 1] as number) * n;
      const r = replayOnTrain(train, judged, accept, (i) => {
        const a = choice[first + i] as number;
        const b = choice[last + i] as number;
        return a < 0 || b < 0 ? undefined : a === b ? [a] : [a, b];
      });
      if (r) configs.push({ chain: [], steps: [...steps], accept: [...accept], ...r });
    };
    for (let g = 0; g < G; g++) replay([g], []);
    for (let first = 1; first < G; first++) {
      for (let last = 0; last < first; last++) {
        const rated: number[] = [];
        for (let i = 0; i < n; i++) {
          const a = choice[first * n + i] as number;
          const b = choice[last * n + i] as number;
          const r = a >= 0 ? (judged[i * M + a] as number) : Number.NaN;
          if (a !== b && !Number.isNaN(r)) rated.push(r);
        }
        if (rated.length === 0) continue; // the two steps always agree: the single configurations cover it
        rated.sort((x, y) => x - y);
        for (const p of PAIR_LEVELS) replay([first, last], [quantile(rated, p)]);
      }
    }
    return configs;
  }

  /** The frontier of the configurations whose models are all allowed (cached by mask). */
  private frontFor(mask: Uint8Array): Config[] {
    const key = mask.join('');
    let front = this.fronts.get(key);
    if (!front) {
      front = frontier(this.configs.filter((c) => c.steps !== undefined || c.chain.every((m) => mask[m] === 1))); // a routed step honours the candidates itself
      if (front.length === 0) {
        // no configuration uses only these models (none had an outcome on train): the cheapest allowed model
        const m = this.cards.map((_, j) => j).filter((j) => mask[j] === 1).sort((a, b) => (this.cards[a]?.inputPricePerMTok ?? 0) - (this.cards[b]?.inputPricePerMTok ?? 0))[0] as number;
        front = [{ chain: [m], accept: [], cost: 0, quality: 0, calls: 1 }];
      }
      this.fronts.set(key, front);
    }
    return front;
  }

  private describe(c: Config): string {
    const names = c.steps ? c.steps.map((g) => `${this.base?.kind ?? this.options.base}'s choice at λ=${STEP_LAMBDAS[g]}`) : c.chain.map((m) => this.cards[m]?.id as string);
    const head = names.length === 1 ? (names[0] as string) : names.map((id, k) => (k < c.accept.length ? `${id} (keep if judged ≥ ${(c.accept[k] as number).toFixed(3)})` : id)).join(' → ');
    return `${head}: train quality ${c.quality.toFixed(3)} for $${c.cost.toExponential(2)}, ${c.calls.toFixed(2)} calls`;
  }

  resolveLambda(prefs: RoutePrefs): number {
    if (prefs.budgetUsd === undefined && prefs.targetQuality === undefined) return prefs.lambda;
    const front = this.frontFor(this.prefsMask(prefs));
    return resolveOnCurve(Array.from({ length: 101 }, (_, k) => ({ lambda: k / 100, ...pick(pointAt(front, k / 100)) })), prefs);
  }

  protected async routeBatch(prompts: readonly PromptInput[], prefs: RoutePrefs): Promise<Decision[]> {
    const lambda = this.resolveLambda(prefs);
    const base = this.prefsMask(prefs);
    const points = prompts.map((p) => pointAt(this.frontFor(this.allowedMask(p, prefs, base)), lambda));
    // a routed configuration asks the base router, once per step λ for the whole batch
    const byStep = new Map<number, Decision[]>();
    for (const g of new Set(points.flatMap((c) => c.steps ?? []))) {
      byStep.set(g, await (this.base as Router).route(prompts, { lambda: STEP_LAMBDAS[g] as number, detail: 'choice', ...(prefs.candidates ? { candidates: prefs.candidates } : {}) }));
    }
    return prompts.map((_, i) => {
      const c = points[i] as Config;
      const steps = c.steps ? c.steps.map((g) => byStep.get(g)?.[i]?.models[0] as string) : c.chain.map((m) => this.cards[m]?.id as string);
      const models = steps.filter((id, k) => steps.indexOf(id) === k); // a routed cascade whose two steps agree is one call
      const reason = `cascade at λ=${Number(lambda.toFixed(4))}: ${this.describe(c)}${c.steps ? ` (here ${models.join(' → ')})` : ''}`;
      const candidates = prefs.detail === 'choice' ? undefined : models.map((id) => ({ model: id, quality: this.means.quality[this.modelIndex(id)] as number, cost: this.means.cost[this.modelIndex(id)] as number }));
      return {
        models,
        kind: models.length === 1 ? 'single' : 'cascade',
        ...(models.length > 1 ? { accept: c.accept.slice(0, models.length - 1) } : {}),
        expectedCostUsd: c.cost,
        ...(candidates ? { candidates } : {}),
        reason,
      };
    });
  }

  async judgeAnswers(items: readonly AnswerToJudge[]): Promise<Float64Array> {
    this.requireFitted();
    return (this.scorer as ResponseScorer).score(items.map((x) => ({ prompt: x.prompt, model: x.model, response: x.answer })));
  }

  protected config(): Record<string, unknown> {
    const { base, ...rest } = this.options;
    return { ...rest, ...(base ? { base } : {}) };
  }

  protected state(): unknown {
    return { scorer: this.scorer?.toArtifact(), base: this.base?.toArtifact() ?? null, configs: this.configs, means: { quality: this.means.quality.map((x) => (Number.isNaN(x) ? null : x)), cost: this.means.cost.map((x) => (Number.isNaN(x) ? null : x)) } };
  }

  static async fromArtifact(a: RouterArtifact): Promise<CascadeRouter> {
    expectArtifact(a, 'cascade', 1);
    const c = a.config;
    const r = new CascadeRouter({ maxLength: Number(c['maxLength'] ?? 3), folds: Number(c['folds'] ?? 3), maxModels: Number(c['maxModels'] ?? 8), promptDim: Number(c['promptDim'] ?? 0), ...(typeof c['base'] === 'string' ? { base: c['base'] } : {}) });
    const s = parseState(StateSchema, a.state, 'cascade');
    const steps = (x: { chain: number[]; steps?: number[] | undefined }): number => x.steps?.length ?? x.chain.length;
    const routed = s.configs.some((x) => x.steps !== undefined);
    if ((routed && s.base === null) || s.means.quality.length !== a.models.length || s.configs.some((x) => x.chain.some((m) => m >= a.models.length) || steps(x) === 0 || x.accept.length !== steps(x) - 1)) throw new SwitchyardError('artifact_invalid', 'cascade: artifact configurations do not match its models');
    r.setModels(a.models);
    r.scorer = ResponseScorer.fromArtifact(s.scorer, 'cascade artifact: state.scorer');
    r.configs = s.configs.map(({ steps: st, ...rest }) => (st ? { ...rest, steps: st } : rest));
    if (s.base !== null) r.base = await loadBase(parseArtifact(s.base, 'cascade artifact: state.base'));
    r.means = { quality: s.means.quality.map((x) => x ?? Number.NaN), cost: s.means.cost.map((x) => x ?? Number.NaN) };
    return r;
  }
}
