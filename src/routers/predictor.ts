/**
 * PredictorRouter: the shared machinery of routers that predict each model's quality from the
 * prompt's embedding (kNN, linear, MLP, MF, semantic routes). A family supplies `fitQuality` (which
 * also returns out-of-fold predictions on train) and `predictQuality`; this class does the rest:
 * encoding, cost prediction, Platt calibration (with its ECE), the operating curve that resolves
 * a budget or a target quality to λ, the one decision rule, and the artifact.
 */
import { z } from 'zod';
import { SwitchyardError } from '../core/errors.js';
import { fitBoilerplate, stripBoilerplate, type BoilerplateState } from '../encoders/boilerplate.js';
import { createEncoder, encoderFromSpec } from '../encoders/registry.js';
import type { CachedEncoder } from '../encoders/cache.js';
import type { ModelCard } from '../spec/dataset.js';
import type { EncoderSpec } from '../spec/encoder.js';
import type { CandidateEstimate, Decision, FitContext, PromptInput, RoutePrefs, RouterArtifact, TrainingData } from '../spec/router.js';
import { expectArtifact, parseState } from './artifact.js';
import { BaseRouter } from './base.js';
import { applyCalibrators, applyPlatt, expectedCalibrationError, fitCalibrators, type Platt } from './calibration.js';
import { CostModel, CostModelStateSchema } from './cost-model.js';
import { decide, utility } from './decision-rule.js';
import { curveAiq, fitLambdaScale, replayCurve, resolveOnCurve, weightFor, type OperatingPoint, type ReplaySet } from './tradeoff.js';

/** The default encoder: it routes best on most datasets (docs/routers.md); `hashing` is ~1000x faster. */
export const DEFAULT_ENCODER = 'use-lite';


export interface CalibrationReport {
  /** Expected calibration error of the raw out-of-fold predictions, and after isotonic calibration. */
  readonly eceRaw: number;
  readonly eceCalibrated: number;
  readonly rows: number;
}

const SharedStateSchema = z.object({
  encoder: z.object({ id: z.string(), dim: z.number().int().positive(), config: z.record(z.string(), z.unknown()).optional(), state: z.unknown().optional() }),
  cost: CostModelStateSchema,
  calibration: z.array(z.object({ a: z.number(), b: z.number() })).nullable(),
  curve: z.array(z.object({ lambda: z.number(), cost: z.number(), quality: z.number() })),
  lambdaScale: z.array(z.number()).length(101),
  boilerplate: z.array(z.number().int()).default([]),
  report: z.object({ eceRaw: z.number(), eceCalibrated: z.number(), rows: z.number() }),
  model: z.unknown(),
});

export interface PredictorOptions {
  /** Encoder spec (`use-lite`, `hashing`, `hashing:dim=2048`, …). */
  readonly encoder?: string;
  readonly calibrate?: boolean;
  /**
   * How predicted costs enter the decision: `absolute` (USD, scaled by the dearest model's mean cost)
   * or `relative` (each model's cost over the dearest candidate's cost for this prompt, so the
   * quality-for-price trade-off does not depend on the prompt's length), or `auto`: `absolute` when it
   * gives a clearly higher train AIQ (out-of-fold; AUTO_COST_NORM_MARGIN) — absolute where long prompts cost markedly more (it then
   * sends them cheaper), at the price of APGR, which counts calls, not dollars (docs/routers.md).
   */
  readonly costNorm?: 'absolute' | 'relative' | 'auto';
  /** Drop paragraphs that recur across training prompts (shared system prompts, few-shot examples) before encoding. */
  readonly strip?: boolean;
}

interface Predictions {
  readonly q: Float64Array;
  readonly c: Float64Array;
}

export abstract class PredictorRouter extends BaseRouter {
  protected encoderSpec: string;
  protected calibrate: boolean;
  protected costNorm: 'absolute' | 'relative';
  /** `costNorm=auto`: the normalisation is chosen in fit by train AIQ (the artifact keeps the choice). */
  private readonly costNormAuto: boolean;
  protected strip: boolean;
  protected boilerplate: BoilerplateState = { hashes: [] };
  private boilerplateSet = new Set<number>();
  protected encoder: CachedEncoder | undefined;
  protected costModel: CostModel | undefined;
  protected calibration: Platt[] | null = null;
  curve: OperatingPoint[] = [];
  /** w(λ) at λ = 0, 0.01, …, 1 (see tradeoff.ts). */
  lambdaScale: number[] = [];
  report: CalibrationReport = { eceRaw: Number.NaN, eceCalibrated: Number.NaN, rows: 0 };
  private memo = new WeakMap<readonly PromptInput[], Predictions>();
  /** The training data during `fit` (for families that fit sub-routers), then cleared. */
  protected fitting: TrainingData | undefined;
  /** Predicted costs of the training prompts (n x M) during `fit`, then cleared. */
  protected fitCosts: Float64Array | undefined;
  /** Calibrated out-of-fold predictions on train (n x M, NaN = none), kept after `fit` for ensembles. */
  oofCalibrated: Float64Array | undefined;

  constructor(options: PredictorOptions = {}) {
    super();
    this.encoderSpec = options.encoder ?? DEFAULT_ENCODER;
    this.calibrate = options.calibrate ?? true;
    this.costNormAuto = options.costNorm === 'auto';
    this.costNorm = options.costNorm === 'absolute' ? 'absolute' : 'relative'; // auto: decided in fit
    this.strip = options.strip ?? false;
  }

  /**
   * Trains the family's quality model; returns out-of-fold predictions on train (n x M, NaN = none).
   * `trainAiq(oof)` scores candidate out-of-fold predictions by the AIQ of their routing on train,
   * for choosing hyperparameters by what routing is judged on.
   */
  protected abstract fitQuality(X: readonly Float32Array[], Y: Float64Array, ctx: FitContext, trainAiq: (oof: Float64Array) => number): Promise<Float64Array>;
  /** Raw predicted quality of every model for one embedding, into out[offset..offset+M). */
  protected abstract predictQuality(x: Float32Array, out: Float64Array, offset: number): void;
  protected abstract familyConfig(): Record<string, unknown>;
  /** False for families that read only the prompt's tokens: fitting then skips the sentence encoder. */
  protected usesEmbeddings(): boolean {
    return true;
  }
  protected abstract familyState(): unknown;
  protected abstract restoreFamily(config: Readonly<Record<string, unknown>>, state: unknown): void;

  protected async fitModels(train: TrainingData, ctx: FitContext): Promise<void> {
    this.memo = new WeakMap(); // predictions of an earlier fit must not be served
    const n = train.size;
    const M = train.models.length;
    const texts = Array.from({ length: n }, (_, i) => train.text(i));
    this.boilerplate = this.strip ? fitBoilerplate(texts) : { hashes: [] };
    this.boilerplateSet = new Set(this.boilerplate.hashes);
    this.encoder = createEncoder(this.encoderSpec);
    const focused = texts.map((t) => stripBoilerplate(t, this.boilerplate, this.boilerplateSet));
    const embeds = this.usesEmbeddings();
    if (embeds) await this.encoder.fit(focused);
    const X = embeds ? await this.encoder.embed(focused) : focused.map(() => new Float32Array(0));
    const tokens = Float64Array.from(texts, (t) => CostModel.countTokens(t));
    this.costModel = CostModel.fit(train, tokens);
    const C = new Float64Array(n * M);
    for (let i = 0; i < n; i++) this.costModel.predict(tokens[i] as number, C, i * M);
    const Y = new Float64Array(n * M);
    for (let i = 0; i < n; i++) for (let m = 0; m < M; m++) Y[i * M + m] = train.score(i, m);
    if (this.costNormAuto) this.costNorm = 'relative'; // hyperparameters are chosen under it; the normalisation after
    const trainAiq = (oof: Float64Array): number => {
      const q = this.calibrate ? applyCalibrators(oof, fitCalibrators(oof, Y, M).calibrators, M) : oof;
      const set = replaySet(train, q, C, this.costModel as CostModel, this.costNorm);
      return set.rows === 0 ? 0 : curveAiq(set, replayCurve(set));
    };
    this.fitting = train;
    this.fitCosts = C;
    const oof = await this.fitQuality(X, Y, ctx, trainAiq);
    this.fitting = undefined;
    this.fitCosts = undefined;
    this.fitCalibration(oof, Y, M);
    const calibrated = oof.map((v, k) => (Number.isNaN(v) ? v : this.calibrated(v, k % M)));
    this.oofCalibrated = calibrated;
    if (this.costNormAuto) {
      const aiqWith = (norm: 'absolute' | 'relative'): number => {
        const s = replaySet(train, calibrated, C, this.costModel as CostModel, norm);
        return s.rows === 0 ? 0 : curveAiq(s, replayCurve(s));
      };
      const [relative, absolute] = [aiqWith('relative'), aiqWith('absolute')];
      // relative unless absolute is clearly better: a difference of a few 1e-4 is the noise of train AIQ
      this.costNorm = absolute > relative + AUTO_COST_NORM_MARGIN ? 'absolute' : 'relative';
      ctx.log?.(`${this.kind}: costNorm=auto chose ${this.costNorm} (train AIQ, out-of-fold: relative ${relative.toFixed(4)}, absolute ${absolute.toFixed(4)})`);
    }
    const set = replaySet(train, calibrated, C, this.costModel, this.costNorm);
    const wCurve = set.rows > 0 ? replayCurve(set) : [];
    this.lambdaScale = fitLambdaScale(wCurve);
    this.curve = set.rows > 0 ? this.lambdaScale.map((w, k) => ({ lambda: k / 100, ...pick(replayCurve(set, set.q, [w])[0]) })) : [];
    ctx.log?.(`${this.kind}: ECE raw ${this.report.eceRaw.toFixed(4)}, calibrated ${this.report.eceCalibrated.toFixed(4)} on ${this.report.rows} out-of-fold predictions; train AIQ ${set.rows > 0 ? curveAiq(set, wCurve).toFixed(4) : 'n/a'}`);
  }

  private fitCalibration(oof: Float64Array, Y: Float64Array, M: number): void {
    const { calibrators, raw } = fitCalibrators(oof, Y, M);
    const p = raw.flatMap((r) => r.p.map(clamp01));
    const y = raw.flatMap((r) => r.y);
    const calibrated = raw.flatMap((r, m) => r.p.map((v) => applyPlatt(calibrators[m] as Platt, v)));
    this.calibration = this.calibrate && p.length >= 50 ? calibrators : null;
    this.report = { eceRaw: expectedCalibrationError(p, y), eceCalibrated: expectedCalibrationError(this.calibration ? calibrated : p, y), rows: p.length };
  }

  private calibrated(raw: number, m: number): number {
    const c = this.calibration?.[m];
    return c ? applyPlatt(c, raw) : clamp01(raw);
  }

  /** λ from the prefs: an explicit budget or target quality is resolved on the operating curve. */
  resolveLambda(prefs: RoutePrefs): number {
    return resolveOnCurve(this.curve, prefs);
  }

  /**
   * Appends a model the family has just learned to predict (see CrossAttentionRouter.addModel): its
   * card, its typical output length for the cost model and an identity calibration.
   */
  protected appendModel(card: ModelCard, meanOutputTokens: number): void {
    const cost = this.costModel as CostModel;
    this.setModels([...this.cards, card]);
    this.costModel = new CostModel(this.cards, {
      ...cost.state,
      meanOutputTokens: [...cost.state.meanOutputTokens, meanOutputTokens],
      correction: [...cost.state.correction, 1],
    });
    if (this.calibration) this.calibration = [...this.calibration, { a: 1, b: 0 }];
    this.memo = new WeakMap();
  }

  /** Calibrated quality and predicted cost for every (prompt, model); memoised per prompt batch. */
  async predict(prompts: readonly PromptInput[]): Promise<Predictions> {
    this.requireFitted();
    const hit = this.memo.get(prompts);
    if (hit) return hit;
    const M = this.cards.length;
    const texts = prompts.map((p) => p.text);
    const q = await this.rawQuality(prompts);
    const c = new Float64Array(prompts.length * M);
    texts.forEach((t, i) => {
      for (let m = 0; m < M; m++) q[i * M + m] = this.calibrated(q[i * M + m] as number, m);
      (this.costModel as CostModel).predict(CostModel.countTokens(t), c, i * M);
    });
    const out = { q, c };
    this.memo.set(prompts, out);
    return out;
  }

  /** Embeddings of prompts as this router sees them (boilerplate stripped). */
  protected embedPrompts(prompts: readonly PromptInput[]): Promise<Float32Array[]> {
    return (this.encoder as CachedEncoder).embed(prompts.map((p) => stripBoilerplate(p.text, this.boilerplate, this.boilerplateSet)));
  }

  /** Raw (uncalibrated) predicted quality for a batch, n x M; families may override (ensembles). */
  protected async rawQuality(prompts: readonly PromptInput[]): Promise<Float64Array> {
    const M = this.cards.length;
    const X = await this.embedPrompts(prompts);
    const q = new Float64Array(prompts.length * M);
    X.forEach((x, i) => this.predictQuality(x, q, i * M));
    return q;
  }

  protected async routeBatch(prompts: readonly PromptInput[], prefs: RoutePrefs): Promise<Decision[]> {
    const { q, c } = await this.predict(prompts);
    const lambda = this.resolveLambda(prefs);
    const w = weightFor(this.lambdaScale, lambda);
    const M = this.cards.length;
    const base = this.prefsMask(prefs);
    const scale = this.costNorm === 'relative' ? 1 : (this.costModel as CostModel).scale;
    const dc = this.costNorm === 'relative' ? relativeCosts(c, M) : c;
    const full = prefs.detail !== 'choice';
    return prompts.map((p, i) => {
      const mask = this.allowedMask(p, prefs, base);
      const m = decide(q, dc, i * M, M, mask, w, scale);
      const id = this.cards[m]?.id as string;
      if (!full) return { models: [id], kind: 'single', reason: `${this.kind}: best predicted utility at λ=${lambda}` };
      const candidates: CandidateEstimate[] = this.cards.map((card, j) => ({
        model: card.id,
        quality: q[i * M + j] as number,
        cost: c[i * M + j] as number,
        utility: utility(q[i * M + j] as number, dc[i * M + j] as number, Math.min(w, 1e6), scale),
      }));
      const qm = (q[i * M + m] as number).toFixed(3);
      const cm = (c[i * M + m] as number).toExponential(2);
      const best = candidates.reduce((a, b) => ((b.quality ?? 0) > (a.quality ?? 0) ? b : a));
      const tail = best.model === id ? 'the highest predicted quality' : `vs ${best.model} at ${(best.quality ?? 0).toFixed(3)} for $${(best.cost ?? 0).toExponential(2)}`;
      return { models: [id], kind: 'single', candidates, reason: `${this.kind}: ${id} predicted quality ${qm} for $${cm} at λ=${Number(lambda.toFixed(4))} (${tail})` };
    });
  }

  protected config(): Record<string, unknown> {
    return { encoder: this.encoderSpec, calibrate: this.calibrate, costNorm: this.costNorm, strip: this.strip, ...this.familyConfig() };
  }

  protected state(): unknown {
    return {
      encoder: (this.encoder as CachedEncoder).toSpec(),
      cost: (this.costModel as CostModel).state,
      calibration: this.calibration,
      boilerplate: this.boilerplate.hashes,
      lambdaScale: this.lambdaScale.map((v) => Number(v.toPrecision(6))),
      curve: this.curve.map((p) => ({ lambda: p.lambda, cost: Number(p.cost.toPrecision(6)), quality: Number(p.quality.toFixed(6)) })),
      report: this.report,
      model: this.familyState(),
    };
  }

  override toArtifact(): RouterArtifact {
    const a = super.toArtifact();
    return { ...a, encoder: { id: (this.encoder as CachedEncoder).id, dim: (this.encoder as CachedEncoder).dim } };
  }

  /** Restores a fitted router from its artifact (the subclass constructs `this` with the artifact's config). */
  protected restore(a: RouterArtifact): this {
    expectArtifact(a, this.kind, this.version);
    const s = parseState(SharedStateSchema, a.state, this.kind);
    this.setModels(a.models);
    if (s.cost.meanOutputTokens.length !== a.models.length) throw new SwitchyardError('artifact_invalid', `${this.kind}: cost model does not match the model list`);
    this.encoder = encoderFromSpec(s.encoder as EncoderSpec);
    this.costModel = new CostModel(this.cards, s.cost);
    this.calibration = s.calibration;
    this.curve = s.curve;
    this.lambdaScale = s.lambdaScale;
    this.boilerplate = { hashes: s.boilerplate };
    this.boilerplateSet = new Set(s.boilerplate);
    this.report = s.report;
    this.restoreFamily(a.config, s.model);
    return this;
  }
}

export function clamp01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : Number.isNaN(v) ? 0 : v;
}

function pick(p: { cost: number; quality: number } | undefined): { cost: number; quality: number } {
  return { cost: p?.cost ?? Number.NaN, quality: p?.quality ?? Number.NaN };
}

/** Train rows where every recorded model has an out-of-fold prediction, packed for replay. */
/** Per-prompt relative costs: each model's cost over the dearest model's for that prompt. */
export function relativeCosts(c: Float64Array, M: number): Float64Array {
  const out = new Float64Array(c.length);
  for (let off = 0; off < c.length; off += M) {
    let max = 0;
    for (let m = 0; m < M; m++) max = Math.max(max, c[off + m] as number);
    for (let m = 0; m < M; m++) out[off + m] = max > 0 ? (c[off + m] as number) / max : 0;
  }
  return out;
}

/** `costNorm=auto` takes `absolute` only when its train AIQ beats `relative`'s by more than this. */
export const AUTO_COST_NORM_MARGIN = 0.002;

export function replaySet(train: TrainingData, oof: Float64Array, C: Float64Array, cost: CostModel, costNorm: 'absolute' | 'relative' = 'absolute'): ReplaySet {
  const M = train.models.length;
  const rows: number[] = [];
  for (let i = 0; i < train.size; i++) {
    let ok = true;
    for (let m = 0; m < M && ok; m++) if (!Number.isNaN(train.score(i, m)) && Number.isNaN(oof[i * M + m] as number)) ok = false;
    if (ok) rows.push(i);
  }
  const R = rows.length;
  const set = { rows: R, M, q: new Float64Array(R * M), c: new Float64Array(R * M), mask: new Uint8Array(R * M), score: new Float64Array(R * M), cost: new Float64Array(R * M), scale: costNorm === 'relative' ? 1 : cost.scale };
  rows.forEach((i, r) => {
    for (let m = 0; m < M; m++) {
      const k = r * M + m;
      const y = train.score(i, m);
      set.mask[k] = Number.isNaN(y) ? 0 : 1;
      set.q[k] = Number.isNaN(y) ? 0 : (oof[i * M + m] as number);
      set.c[k] = C[i * M + m] as number;
      set.score[k] = Number.isNaN(y) ? 0 : y;
      set.cost[k] = Number.isNaN(y) ? 0 : train.cost(i, m);
    }
  });
  return costNorm === 'relative' ? { ...set, c: relativeCosts(set.c, M) } : set;
}

/** The shared predictor options back from an artifact's config. */
export function predictorConfig(c: Readonly<Record<string, unknown>>): PredictorOptions {
  return { encoder: String(c['encoder']), calibrate: c['calibrate'] !== false, costNorm: c['costNorm'] === 'absolute' ? 'absolute' : 'relative', strip: c['strip'] === true };
}
