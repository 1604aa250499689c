/**
 * What every router shares: the fitted model list, candidate resolution (unknown models are
 * rejected, never ignored), λ validation and the artifact envelope.
 */
import { SwitchyardError, invalidArgument } from '../core/errors.js';
import type { ModelCard } from '../spec/dataset.js';
import type { Decision, FitContext, PromptInput, RoutePrefs, Router, RouterArtifact, TrainingData } from '../spec/router.js';
import { ARTIFACT_FORMAT } from './artifact.js';

export function checkLambda(lambda: number): void {
  if (!Number.isFinite(lambda) || lambda < 0 || lambda > 1) throw invalidArgument(`lambda: expected a number in [0, 1], got ${lambda}`);
}

export abstract class BaseRouter implements Router {
  abstract readonly kind: string;
  abstract readonly version: number;
  protected cards: ModelCard[] = [];
  private index = new Map<string, number>();

  get models(): readonly string[] {
    return this.cards.map((c) => c.id);
  }

  protected get fitted(): boolean {
    return this.cards.length > 0;
  }

  protected setModels(cards: readonly ModelCard[]): void {
    this.cards = cards.map((c) => ({ ...c }));
    this.index = new Map(this.cards.map((c, i) => [c.id, i]));
  }

  protected requireFitted(): void {
    if (!this.fitted) throw new SwitchyardError('router_not_fitted', `${this.kind}: call fit() (or load an artifact) before routing`);
  }

  async fit(train: TrainingData, ctx: FitContext): Promise<void> {
    if (train.size === 0) throw invalidArgument(`${this.kind}: cannot fit on an empty training set`);
    this.setModels(train.models);
    await this.fitModels(train, ctx);
  }

  protected abstract fitModels(train: TrainingData, ctx: FitContext): Promise<void>;

  /** Index of a model id, or an `unknown_model` error. */
  protected modelIndex(id: string): number {
    const i = this.index.get(id);
    if (i === undefined) {
      throw new SwitchyardError('unknown_model', `${this.kind}: unknown model "${id}" (this router knows: ${this.models.join(', ')})`);
    }
    return i;
  }

  /** Allowed-model mask for one prompt: prefs.candidates ∩ prompt.candidates (all models if neither). */
  protected allowedMask(prompt: PromptInput, prefs: RoutePrefs, base?: Uint8Array): Uint8Array {
    const n = this.cards.length;
    const mask = base ? base.slice() : new Uint8Array(n).fill(1);
    if (prompt.candidates) {
      const own = new Uint8Array(n);
      for (const id of prompt.candidates) own[this.modelIndex(id)] = 1;
      for (let j = 0; j < n; j++) mask[j] = (mask[j] as number) & (own[j] as number);
    }
    if (!mask.some((v) => v === 1)) {
      throw new SwitchyardError('no_candidates', `${this.kind}: no candidate model left for prompt ${prompt.id ?? JSON.stringify(prompt.text.slice(0, 40))}`);
    }
    return mask;
  }

  protected prefsMask(prefs: RoutePrefs): Uint8Array {
    const mask = new Uint8Array(this.cards.length);
    if (!prefs.candidates) return mask.fill(1);
    for (const id of prefs.candidates) mask[this.modelIndex(id)] = 1;
    return mask;
  }

  async route(prompts: readonly PromptInput[], prefs: RoutePrefs): Promise<Decision[]> {
    this.requireFitted();
    checkLambda(prefs.lambda);
    return this.routeBatch(prompts, prefs);
  }

  protected abstract routeBatch(prompts: readonly PromptInput[], prefs: RoutePrefs): Promise<Decision[]>;

  protected abstract config(): Record<string, unknown>;
  protected abstract state(): unknown;

  toArtifact(): RouterArtifact {
    this.requireFitted();
    return {
      format: ARTIFACT_FORMAT,
      version: this.version,
      kind: this.kind,
      models: this.cards.map((c) => ({ ...c })),
      config: this.config(),
      state: this.state(),
    };
  }
}
