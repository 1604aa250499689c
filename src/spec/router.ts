/**
 * The router contract: every strategy (baselines, kNN, MLP, bandits, cross-attention, cascades)
 * implements `Router`; the evaluator scores it and the gateway serves the very same object.
 */
import type { ModelCard } from './dataset.js';

/** What a router may see of a prompt: its text, never the dataset's task label or scores. */
export interface PromptInput {
  readonly id?: string;
  readonly text: string;
  /** Models that may be chosen for this prompt (default: every model the router knows). */
  readonly candidates?: readonly string[];
}

/** The cost preference: λ in [0, 1], 0 = best quality, 1 = lowest cost. */
export interface RoutePrefs {
  readonly lambda: number;
  /** Target mean cost per request (USD): resolved to λ on the router's operating curve; overrides `lambda`. */
  readonly budgetUsd?: number;
  /** Target mean quality (0..1): resolved to the cheapest λ reaching it; overrides `lambda`. */
  readonly targetQuality?: number;
  /** Restrict every prompt of the call to these models (intersected with PromptInput.candidates). */
  readonly candidates?: readonly string[];
  /** `full` (default) fills per-model predictions; `choice` skips them (evaluation fast path). */
  readonly detail?: 'full' | 'choice';
}

export interface CandidateEstimate {
  readonly model: string;
  readonly quality?: number;
  readonly cost?: number;
  readonly utility?: number;
}

export type DecisionKind = 'single' | 'cascade' | 'mixture';

export interface Decision {
  /** Models called: one for `single`; an ordered chain for `cascade`; proposers for `mixture`. */
  readonly models: readonly string[];
  readonly kind: DecisionKind;
  /**
   * A cascade's acceptance rule: `accept[k]` is the least judged quality (`Router.judgeAnswers`) at
   * which the answer of `models[k]` is kept; otherwise the next model is called. The last model's
   * answer is always kept, so there is one threshold fewer than models.
   */
  readonly accept?: readonly number[];
  /** The router's predicted cost (USD) of carrying the whole decision out, where it has one. */
  readonly expectedCostUsd?: number;
  /** Per-model predictions, where the router has them and `detail` is `full`. */
  readonly candidates?: readonly CandidateEstimate[];
  readonly reason: string;
}

/** A training view: prompts with the recorded outcomes of every model (NaN where absent). */
export interface TrainingData {
  readonly models: readonly ModelCard[];
  readonly size: number;
  text(i: number): string;
  id(i: number): string;
  /** Recorded score of model `m` (index into `models`) on prompt `i`, NaN if not recorded. */
  score(i: number, m: number): number;
  cost(i: number, m: number): number;
  inputTokens(i: number, m: number): number;
  outputTokens(i: number, m: number): number;
  /** The recorded answer texts of these prompts, where the data has them (post-generation routers learn from them). */
  answers?(): Promise<readonly RecordedAnswer[]>;
}

/** A recorded answer: prompt `i` of the training view, model `m` (index into `models`), its text. */
export interface RecordedAnswer {
  readonly i: number;
  readonly m: number;
  readonly text: string;
}

/** An answer to judge: the prompt, the model that wrote it, and the answer's text. */
export interface AnswerToJudge {
  readonly prompt: string;
  readonly model: string;
  readonly answer: string;
}

export interface FitContext {
  readonly seed: number;
  readonly log?: (line: string) => void;
}

export interface RouterArtifact {
  readonly format: 'switchyard.router';
  readonly version: number;
  readonly kind: string;
  readonly models: readonly ModelCard[];
  readonly config: Readonly<Record<string, unknown>>;
  readonly state: unknown;
  readonly encoder?: { readonly id: string; readonly dim: number };
}

/** An observed outcome of a routed call, fed back to online learners. */
export interface Feedback {
  readonly prompt: PromptInput;
  readonly model: string;
  /** Quality in [0, 1] (a user rating, a judge, a test result). */
  readonly score: number;
  /** What the call cost (USD), when known. */
  readonly costUsd?: number;
}

export interface Router {
  /** Registry name of the strategy, e.g. `knn`, `best-single`. */
  readonly kind: string;
  /** Model ids the router can choose from, fixed by `fit`. */
  readonly models: readonly string[];
  fit(train: TrainingData, ctx: FitContext): Promise<void>;
  route(prompts: readonly PromptInput[], prefs: RoutePrefs): Promise<Decision[]>;
  toArtifact(): RouterArtifact;
  /** Online learners (bandits) update from observed outcomes; others leave it undefined. */
  update?(feedback: readonly Feedback[]): Promise<void>;
  /**
   * Routers with an operating curve fitted on train resolve `budgetUsd` / `targetQuality` to the λ
   * that meets it (else `prefs.lambda`); routers without one leave it undefined and route by λ only.
   */
  resolveLambda?(prefs: RoutePrefs): number;
  /**
   * Post-generation routers (cascades) judge answers: each one's predicted quality in [0, 1], compared
   * with a cascade decision's `accept` thresholds. The evaluator and the gateway call it between steps.
   */
  judgeAnswers?(items: readonly AnswerToJudge[]): Promise<Float64Array>;
}
