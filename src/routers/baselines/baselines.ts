/**
 * Baseline routers every report carries: a fixed model, the cheapest model, the best single model
 * (chosen on train) and RouteLLM's random router (strong with probability 1 − λ, else weak).
 * Each keeps a preference order and falls back along it when a model is not a candidate.
 */
import { z } from 'zod';
import { SwitchyardError } from '../../core/errors.js';
import { keyedUniform } from '../../core/random.js';
import { modelStats, rankByCost, rankByQuality } from '../../data/stats.js';
import type { Decision, FitContext, PromptInput, RoutePrefs, RouterArtifact, TrainingData } from '../../spec/router.js';
import { expectArtifact, parseState } from '../artifact.js';
import { BaseRouter } from '../base.js';

const OrderState = z.object({ order: z.array(z.string()).min(1) });

abstract class OrderedRouter extends BaseRouter {
  readonly version = 1;
  protected order: string[] = [];

  protected firstAllowed(mask: Uint8Array): string {
    for (const id of this.order) if (mask[this.modelIndex(id)] === 1) return id;
    throw new SwitchyardError('no_candidates', `${this.kind}: no candidate model left`);
  }

  protected abstract describe(chosen: string, lambda: number): string;

  protected pick(prompt: PromptInput, mask: Uint8Array, _lambda: number): string {
    return this.firstAllowed(mask);
  }

  protected async routeBatch(prompts: readonly PromptInput[], prefs: RoutePrefs): Promise<Decision[]> {
    const base = this.prefsMask(prefs);
    return prompts.map((p) => {
      const chosen = this.pick(p, this.allowedMask(p, prefs, base), prefs.lambda);
      return { models: [chosen], kind: 'single', reason: this.describe(chosen, prefs.lambda) };
    });
  }

  protected state(): unknown {
    return { order: this.order };
  }

  protected restore(a: RouterArtifact): this {
    expectArtifact(a, this.kind, this.version);
    this.setModels(a.models);
    const s = parseState(OrderState, a.state, this.kind);
    for (const id of s.order) this.modelIndex(id);
    this.order = s.order;
    return this;
  }
}

export class BestSingleRouter extends OrderedRouter {
  readonly kind = 'best-single';
  protected async fitModels(train: TrainingData): Promise<void> {
    this.order = rankByQuality(modelStats(train));
  }
  protected describe(chosen: string): string {
    return chosen === this.order[0] ? `${chosen} has the best mean score on train` : `${chosen}: best-scoring candidate on train`;
  }
  protected config(): Record<string, unknown> {
    return {};
  }
  static fromArtifact(a: RouterArtifact): BestSingleRouter {
    return new BestSingleRouter().restore(a);
  }
}

export class CheapestRouter extends OrderedRouter {
  readonly kind = 'cheapest';
  protected async fitModels(train: TrainingData): Promise<void> {
    this.order = rankByCost(modelStats(train));
  }
  protected describe(chosen: string): string {
    return `${chosen}: lowest mean cost on train among candidates`;
  }
  protected config(): Record<string, unknown> {
    return {};
  }
  static fromArtifact(a: RouterArtifact): CheapestRouter {
    return new CheapestRouter().restore(a);
  }
}

export class FixedRouter extends OrderedRouter {
  readonly kind = 'fixed';
  constructor(private readonly model?: string) {
    super();
  }
  protected async fitModels(train: TrainingData): Promise<void> {
    if (this.model === undefined) throw new SwitchyardError('invalid_argument', 'fixed: option "model" is required');
    this.modelIndex(this.model);
    this.order = [this.model, ...rankByQuality(modelStats(train)).filter((m) => m !== this.model)];
  }
  protected describe(chosen: string): string {
    return chosen === this.order[0] ? `fixed model ${chosen}` : `fixed model unavailable; fell back to ${chosen}`;
  }
  protected config(): Record<string, unknown> {
    return { model: this.order[0] };
  }
  static fromArtifact(a: RouterArtifact): FixedRouter {
    return new FixedRouter(String(a.config['model'])).restore(a);
  }
}

/** RouteLLM's random router: the best model with probability 1 − λ, else the cheapest. */
export class RandomRouter extends OrderedRouter {
  readonly kind = 'random';
  private cheapestOrder: string[] = [];
  constructor(private readonly seed = 0) {
    super();
  }
  protected async fitModels(train: TrainingData, _ctx: FitContext): Promise<void> {
    const stats = modelStats(train);
    this.order = rankByQuality(stats);
    this.cheapestOrder = rankByCost(stats);
  }
  protected override pick(prompt: PromptInput, mask: Uint8Array, lambda: number): string {
    // One uniform draw per prompt, fixed across λ: a prompt sent to the weak model at λ stays there at any larger λ.
    const u = keyedUniform(this.seed, prompt.text);
    if (u < lambda) {
      for (const id of this.cheapestOrder) if (mask[this.modelIndex(id)] === 1) return id;
    }
    return this.firstAllowed(mask);
  }
  protected describe(chosen: string, lambda: number): string {
    return `random: strong model with probability ${(1 - lambda).toFixed(2)}; drew ${chosen}`;
  }
  protected config(): Record<string, unknown> {
    return { seed: this.seed };
  }
  protected override state(): unknown {
    return { order: this.order, cheapestOrder: this.cheapestOrder };
  }
  static fromArtifact(a: RouterArtifact): RandomRouter {
    const r = new RandomRouter(Number(a.config['seed'] ?? 0)).restore(a);
    r.cheapestOrder = parseState(z.object({ cheapestOrder: z.array(z.string()).min(1) }), a.state, r.kind).cheapestOrder;
    return r;
  }
}
