/**
 * Bandit routers (MetaLLM, arXiv 2407.10834): each model is an arm; the router sees only the
 * outcome of the model it picked and keeps learning from feedback (`update`). Context = the
 * prompt's embedding reduced by PCA (fitted on train) plus a bias; reward = score − λ · cost /
 * costScale (costScale = the dearest model's mean train cost) by default — the policy learns the
 * score and the router subtracts the predicted cost, so one learner serves every λ — or MetaLLM's
 * ratio reward (score / normalised cost, learned directly, at the λ-free configured scale).
 * Cold start: arms learn from nothing (train is used only for the PCA basis and the cost model);
 * bootstrap: every recorded outcome of the train split is observed first (MetaLLM's offline data).
 */
import { trimOldest } from '../../core/lru.js';
import { z } from 'zod';
import { SwitchyardError, invalidArgument } from '../../core/errors.js';
import { base64ToF32, f32ToBase64 } from '../../core/encode-f32.js';
import { fitPca, project, type Pca } from '../../core/linalg.js';
import { createEncoder, encoderFromSpec } from '../../encoders/registry.js';
import type { CachedEncoder } from '../../encoders/cache.js';
import type { ModelCard } from '../../spec/dataset.js';
import type { EncoderSpec } from '../../spec/encoder.js';
import type { Decision, Feedback, FitContext, PromptInput, RoutePrefs, RouterArtifact, TrainingData } from '../../spec/router.js';
import { expectArtifact, parseState } from '../artifact.js';
import { BaseRouter } from '../base.js';
import { CostModel, CostModelStateSchema } from '../cost-model.js';
import { EpsilonGreedy, LinUcb, Thompson, Ucb1, type ArmPolicy } from './policies.js';

export const BANDIT_ALGORITHMS = ['ucb1', 'thompson', 'linucb', 'epsilon-greedy'] as const;
export type BanditAlgorithm = (typeof BANDIT_ALGORITHMS)[number];

export const BanditConfigSchema = z.object({
  algorithm: z.enum(BANDIT_ALGORITHMS),
  encoder: z.string().default('use-lite'),
  /** PCA width of the context (0 = the full embedding). */
  pca: z.number().int().min(0).default(64),
  reward: z.enum(['linear', 'ratio']).default('linear'),
  bootstrap: z.boolean().default(true),
  /** Discount of past observations per update (1 = none), for drifting traffic. */
  gamma: z.number().gt(0).max(1).default(1),
  alpha: z.number().nonnegative().default(0.3),
  reg: z.number().positive().default(1),
  explore: z.number().nonnegative().default(0.5),
  epsilon: z.number().min(0).max(1).default(0.05),
  seed: z.number().int().default(0),
});
export type BanditConfig = z.infer<typeof BanditConfigSchema>;

const StateSchema = z.object({
  encoder: z.object({ id: z.string(), dim: z.number().int(), config: z.record(z.string(), z.unknown()).optional(), state: z.unknown().optional() }).nullable(),
  pca: z.object({ mean: z.string(), components: z.string(), k: z.number().int(), d: z.number().int() }).nullable(),
  cost: CostModelStateSchema,
  binary: z.boolean(),
  active: z.array(z.boolean()),
  policy: z.unknown(),
  updates: z.number().int().nonnegative(),
});

/** MetaLLM's ratio reward, kept in [0, 1]: score / (cost / costScale + 0.01), times 0.01. */
export function ratioReward(score: number, cost: number, costScale: number): number {
  return (0.01 * score) / (cost / costScale + 0.01);
}

export class BanditRouter extends BaseRouter {
  readonly kind: string;
  readonly version = 1;
  readonly settings: BanditConfig;
  private encoder: CachedEncoder | null = null;
  private pca: Pca | null = null;
  private costModel: CostModel | undefined;
  private policy: ArmPolicy | undefined;
  private binary = true;
  private active: boolean[] = [];
  updates = 0;

  constructor(config: z.input<typeof BanditConfigSchema>) {
    super();
    const parsed = BanditConfigSchema.safeParse(config);
    if (!parsed.success) throw invalidArgument(`bandit: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    this.settings = parsed.data;
    this.kind = parsed.data.algorithm;
  }

  private makePolicy(arms: number, d: number, state?: unknown): ArmPolicy {
    const c = this.settings;
    switch (c.algorithm) {
      case 'ucb1':
        return new Ucb1(arms, c.explore, c.gamma, state);
      case 'thompson':
        return new Thompson(arms, this.binary, c.seed, c.gamma, state);
      case 'epsilon-greedy':
        return new EpsilonGreedy(arms, c.epsilon, c.seed, c.gamma, state);
      case 'linucb':
        return new LinUcb(arms, d, c.alpha, c.reg, c.gamma, state);
    }
  }

  private get contextual(): boolean {
    return this.settings.algorithm === 'linucb';
  }

  private get dim(): number {
    return (this.pca ? this.pca.k : (this.encoder?.dim ?? 0)) + 1;
  }

  protected async fitModels(train: TrainingData, ctx: FitContext): Promise<void> {
    this.recent.clear(); // contexts of an earlier fit used another PCA basis
    const n = train.size;
    const M = train.models.length;
    const texts = Array.from({ length: n }, (_, i) => train.text(i));
    this.costModel = CostModel.fit(train, Float64Array.from(texts, (t) => CostModel.countTokens(t)));
    let binary = true;
    for (let i = 0; i < n && binary; i++) for (let m = 0; m < M; m++) {
      const y = train.score(i, m);
      if (!Number.isNaN(y) && y !== 0 && y !== 1) binary = false;
    }
    this.binary = binary;
    let X: Float64Array[] = [];
    if (this.contextual) {
      this.encoder = createEncoder(this.settings.encoder);
      await this.encoder.fit(texts);
      const E = await this.encoder.embed(texts);
      const width = this.settings.pca;
      this.pca = width > 0 && width < this.encoder.dim ? fitPca(E, width, ctx.seed) : null;
      X = E.map((e) => this.context(e));
    }
    this.active = train.models.map(() => true);
    this.policy = this.makePolicy(M, this.dim);
    this.updates = 0;
    if (this.settings.bootstrap) {
      for (let m = 0; m < M; m++) {
        const xs: Float64Array[] = [];
        const targets: number[] = [];
        for (let i = 0; i < n; i++) {
          const y = train.score(i, m);
          if (Number.isNaN(y)) continue;
          xs.push(this.contextual ? (X[i] as Float64Array) : EMPTY);
          targets.push(this.target(y, train.cost(i, m)));
        }
        this.policy.observeBatch(m, xs, targets);
      }
    }
    ctx.log?.(`${this.kind}: ${this.settings.bootstrap ? `bootstrapped on ${n} train prompts` : 'cold start'}, context ${this.contextual ? `${this.dim}-d` : 'none'}, reward ${this.settings.reward}`);
  }

  private context(e: Float32Array): Float64Array {
    const v = this.pca ? project(this.pca, e) : e;
    const x = new Float64Array(v.length + 1);
    x.set(v);
    x[v.length] = 1;
    return x;
  }

  private target(score: number, cost: number): number {
    return this.settings.reward === 'ratio' ? ratioReward(score, cost, (this.costModel as CostModel).scale) : score;
  }

  /** Recent contexts by prompt text, so feedback on a just-routed prompt does not re-encode it. */
  private readonly recent = new Map<string, Float64Array>();

  private async contexts(prompts: readonly PromptInput[]): Promise<Float64Array[]> {
    if (!this.contextual) return prompts.map(() => EMPTY);
    const missing = [...new Set(prompts.map((p) => p.text).filter((t) => !this.recent.has(t)))];
    if (missing.length > 0) {
      const E = await (this.encoder as CachedEncoder).embed(missing);
      missing.forEach((t, k) => this.recent.set(t, this.context(E[k] as Float32Array)));
    }
    const out = prompts.map((p) => this.recent.get(p.text) as Float64Array);
    trimOldest(this.recent, 1024);
    return out;
  }

  protected async routeBatch(prompts: readonly PromptInput[], prefs: RoutePrefs): Promise<Decision[]> {
    const M = this.cards.length;
    const base = this.prefsMask(prefs);
    for (let m = 0; m < M; m++) if (!this.active[m]) base[m] = 0;
    const X = await this.contexts(prompts);
    const cost = this.costModel as CostModel;
    const c = new Float64Array(M);
    const penalty = new Float64Array(M);
    const full = prefs.detail !== 'choice';
    return prompts.map((p, i) => {
      const mask = this.allowedMask(p, prefs, base);
      cost.predict(CostModel.countTokens(p.text), c, 0);
      for (let m = 0; m < M; m++) penalty[m] = this.settings.reward === 'ratio' ? 0 : (prefs.lambda * (c[m] as number)) / cost.scale;
      const choice = (this.policy as ArmPolicy).choose(X[i] as Float64Array, p.text, penalty, mask, full);
      const id = this.cards[choice.arm]?.id as string;
      if (!full || !choice.estimates || !choice.bonuses) return { models: [id], kind: 'single', reason: `${this.kind}: best optimistic reward at λ=${prefs.lambda}` };
      const est = choice.estimates;
      const bonus = choice.bonuses;
      const candidates = this.cards.map((card, m) => ({
        model: card.id,
        quality: est[m] as number,
        cost: c[m] as number,
        utility: (est[m] as number) + Math.min(1e6, bonus[m] as number) - (penalty[m] as number),
      }));
      return {
        models: [id],
        kind: 'single',
        candidates,
        reason: `${this.kind}: ${id} estimate ${(est[choice.arm] as number).toFixed(3)} + exploration ${Math.min(1e6, bonus[choice.arm] as number).toFixed(3)} − cost ${(penalty[choice.arm] as number).toFixed(3)} at λ=${prefs.lambda} (${this.updates} online updates)`,
      };
    });
  }

  /** Learns from observed outcomes: only the chosen model's outcome is ever needed. */
  async update(feedback: readonly Feedback[]): Promise<void> {
    this.requireFitted();
    for (const f of feedback) {
      if (!(f.score >= 0 && f.score <= 1)) throw invalidArgument(`feedback score: expected 0..1, got ${f.score}`);
      this.modelIndex(f.model);
    }
    const X = await this.contexts(feedback.map((f) => f.prompt));
    const cost = this.costModel as CostModel;
    const c = new Float64Array(this.cards.length);
    feedback.forEach((f, k) => {
      const m = this.modelIndex(f.model);
      let spent = f.costUsd;
      if (spent === undefined) {
        cost.predict(CostModel.countTokens(f.prompt.text), c, 0);
        spent = c[m] as number;
      }
      (this.policy as ArmPolicy).observe(m, X[k] as Float64Array, this.target(f.score, spent));
      this.updates++;
    });
  }

  /** A new arm (model) at run time; it starts unexplored, so it gets tried. */
  addModel(card: ModelCard, meanOutputTokens = 0): void {
    this.requireFitted();
    if (this.models.includes(card.id)) throw invalidArgument(`bandit: model "${card.id}" is already an arm`);
    this.setModels([...this.cards, card]);
    const s = (this.costModel as CostModel).state;
    this.costModel = new CostModel(this.cards, { ...s, meanOutputTokens: [...s.meanOutputTokens, meanOutputTokens], correction: [...s.correction, 1] });
    this.active.push(true);
    (this.policy as ArmPolicy).addArm();
  }

  /** Takes an arm out of service (its statistics are kept, so it can come back). */
  setModelActive(id: string, active: boolean): void {
    this.active[this.modelIndex(id)] = active;
    if (!this.active.some(Boolean)) throw new SwitchyardError('no_candidates', 'bandit: at least one arm must stay active');
  }

  protected config(): Record<string, unknown> {
    return { ...this.settings };
  }

  protected state(): unknown {
    return {
      encoder: this.encoder ? this.encoder.toSpec() : null,
      pca: this.pca ? { mean: f32ToBase64(this.pca.mean), components: f32ToBase64(this.pca.components), k: this.pca.k, d: this.pca.d } : null,
      cost: (this.costModel as CostModel).state,
      binary: this.binary,
      active: this.active,
      policy: (this.policy as ArmPolicy).toState(),
      updates: this.updates,
    };
  }

  override toArtifact(): RouterArtifact {
    const a = super.toArtifact();
    return this.encoder ? { ...a, encoder: { id: this.encoder.id, dim: this.encoder.dim } } : a;
  }

  static fromArtifact(a: RouterArtifact): BanditRouter {
    const r = new BanditRouter(a.config as z.input<typeof BanditConfigSchema>);
    expectArtifact(a, r.kind, r.version);
    const s = parseState(StateSchema, a.state, r.kind);
    r.setModels(a.models);
    r.encoder = s.encoder ? encoderFromSpec(s.encoder as EncoderSpec) : null;
    r.pca = s.pca ? { mean: base64ToF32(s.pca.mean), components: base64ToF32(s.pca.components), k: s.pca.k, d: s.pca.d, explained: [] } : null;
    r.costModel = new CostModel(r.cards, s.cost);
    r.binary = s.binary;
    r.active = s.active;
    r.updates = s.updates;
    try {
      r.policy = r.makePolicy(a.models.length, r.contextual ? r.dim : 0, s.policy);
    } catch (e) {
      throw new SwitchyardError('artifact_invalid', `${r.kind}: policy state does not match: ${(e as Error).message}`);
    }
    return r;
  }
}

const EMPTY = new Float64Array(0);
