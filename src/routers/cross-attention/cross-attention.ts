/**
 * `cross-attention`: the soft router of arXiv 2506.09157 (one head). The prompt's token embeddings
 * (trainable, over a hashed vocabulary) and/or its sentence embedding projected to d attend over a
 * learned capability embedding per model (attention-net.ts); the routing weights feed a calibratable
 * quality head, trained on the recorded scores plus a cost-aware expected-utility term. Hard routing
 * is the shared decision rule over the calibrated qualities; soft routing (`soft=k`) calls the top k
 * models by that utility, whose answers an aggregator merges (a `mixture` decision).
 * Design, loss and inference rule: docs/cross-attention.md.
 */
import { SwitchyardError, invalidArgument } from '../../core/errors.js';
import { hashedTokenIds } from '../../encoders/tokens.js';
import type { ModelCard } from '../../spec/dataset.js';
import type { Decision, FitContext, PromptInput, RoutePrefs, RouterArtifact, TrainingData } from '../../spec/router.js';
import { CostModel } from '../cost-model.js';
import { utility } from '../decision-rule.js';
import { predictorConfig, relativeCosts } from '../predictor.js';
import { NeuralPredictor, neuralConfig, type NeuralOptions } from '../nn/neural-predictor.js';
import { weightFor } from '../tradeoff.js';
import { fitNewRow, growBlocks, nearestModels } from './grow.js';
import { AttentionNet, ENCODER_BLOCKS, initParams, type NetInput, type NetShape, type QueryMode } from './attention-net.js';

export const QUERY_MODES: readonly QueryMode[] = ['tokens', 'sentence', 'both'];
/** `query=auto` learns token embeddings from this many training prompts up; below, it uses the sentence encoder. */
export const AUTO_TOKENS_MIN_PROMPTS = 2000;

export interface CrossAttentionOptions extends NeuralOptions {
  /**
   * Queries: token embeddings, the projected sentence embedding, or both; `auto` (default) picks
   * tokens with at least AUTO_TOKENS_MIN_PROMPTS training prompts, else the sentence embedding.
   */
  readonly query?: QueryMode | 'auto';
  /** Attention width d (default 32). */
  readonly dim?: number;
  /** Hashed vocabulary size for token embeddings (default 16384). */
  readonly vocab?: number;
  /** Tokens kept per prompt, head and tail (default 128). */
  readonly maxLen?: number;
  /** Learning rate of the encoder side (token table, projection); `lr` is the model embeddings'. */
  readonly encoderLr?: number;
  /** Weight β of the expected-utility term in the loss (default 0.5). */
  readonly beta?: number;
  /** λ_t, the cost weight inside the training loss (default 0; λ is applied at inference). */
  readonly trainLambda?: number;
  /** ρ: the sentence query's share of the attention in `both` mode (default 0.5). */
  readonly sentenceWeight?: number;
  /** Soft routing: call the top k models (a mixture); 1 = hard routing (default). */
  readonly soft?: number;
}

/** A recorded outcome of a model being added: the prompt, its score, and optionally its answer's length. */
export interface LabelledOutcome {
  readonly prompt: PromptInput;
  readonly score: number;
  readonly outputTokens?: number;
}

export interface AddModelOptions {
  /** Start from the models whose predicted quality correlates best with the new one's scores (default true). */
  readonly warmStart?: boolean;
  readonly epochs?: number;
  readonly seed?: number;
}

export interface AddModelReport {
  readonly neighbours: ReadonlyArray<{ readonly model: string; readonly correlation: number }>;
  readonly prompts: number;
}

export class CrossAttentionRouter extends NeuralPredictor {
  readonly kind = 'cross-attention';
  readonly version = 1;
  private query: QueryMode;
  private readonly queryOption: QueryMode | 'auto';
  private dim: number;
  private vocab: number;
  private maxLen: number;
  private encoderLr: number;
  private beta: number;
  private trainLambda: number;
  private sentenceWeight: number;
  readonly soft: number;
  private net: AttentionNet | undefined;
  private inputs: NetInput[] = [];
  /** Token ids of the training prompts during fit. */
  private trainIds: Int32Array[] = [];
  private relCost: Float64Array = new Float64Array(0);
  lrScale: number[] = [];

  constructor(options: CrossAttentionOptions = {}) {
    super({ pca: 64, epochs: 10, folds: 3, ...options }, 3e-3);
    this.queryOption = options.query ?? 'auto';
    this.query = this.queryOption === 'auto' ? 'tokens' : this.queryOption;
    this.dim = options.dim ?? 32;
    this.vocab = options.vocab ?? 16384;
    this.maxLen = options.maxLen ?? 128;
    this.encoderLr = options.encoderLr ?? 3e-3;
    this.beta = options.beta ?? 0.5;
    this.trainLambda = options.trainLambda ?? 0;
    this.soft = options.soft ?? 1;
    this.sentenceWeight = options.sentenceWeight ?? 0.5;
    if (this.queryOption !== 'auto' && !QUERY_MODES.includes(this.queryOption)) throw new SwitchyardError('invalid_argument', `cross-attention: query must be auto, ${QUERY_MODES.join(', ')}, got "${String(options.query)}"`);
    for (const [k, v, min] of [['dim', this.dim, 2], ['vocab', this.vocab, 2], ['maxLen', this.maxLen, 1], ['soft', this.soft, 1]] as const) {
      if (!Number.isInteger(v) || v < min) throw new SwitchyardError('invalid_argument', `cross-attention: ${k} must be an integer ≥ ${min}, got ${v}`);
    }
    for (const [k, v] of [['beta', this.beta], ['trainLambda', this.trainLambda], ['encoderLr', this.encoderLr], ['sentenceWeight', this.sentenceWeight]] as const) {
      if (!(v >= 0 && Number.isFinite(v)) || (k === 'sentenceWeight' && v > 1)) throw new SwitchyardError('invalid_argument', `cross-attention: ${k} must be a number ≥ 0, got ${v}`);
    }
  }

  private shape(): NetShape {
    return {
      vocab: this.query === 'sentence' ? 0 : this.vocab,
      feature: this.query === 'tokens' ? 0 : this.d,
      dim: this.dim,
      models: this.cards.length,
      maxLen: this.maxLen,
      sentenceWeight: this.sentenceWeight,
    };
  }

  protected override async fitModels(train: TrainingData, ctx: FitContext): Promise<void> {
    if (this.queryOption === 'auto') {
      this.query = train.size >= AUTO_TOKENS_MIN_PROMPTS ? 'tokens' : 'sentence';
      ctx.log?.(`cross-attention: query=auto → ${this.query} (${train.size} training prompts; tokens from ${AUTO_TOKENS_MIN_PROMPTS})`);
    }
    await super.fitModels(train, ctx);
  }

  protected override usesEmbeddings(): boolean {
    return this.query !== 'tokens';
  }

  private tokenIds(text: string): Int32Array {
    return this.query === 'sentence' ? EMPTY : hashedTokenIds(text, this.vocab, this.maxLen).ids;
  }

  protected override async fitQuality(X: readonly Float32Array[], Y: Float64Array, ctx: FitContext): Promise<Float64Array> {
    const train = this.fitting;
    if (!train || !this.fitCosts) throw new SwitchyardError('router_not_fitted', 'cross-attention: fitQuality outside fit');
    this.relCost = relativeCosts(this.fitCosts, this.cards.length);
    this.trainIds = Array.from({ length: train.size }, (_, i) => this.tokenIds(train.text(i)));
    const ratio = this.encoderLr / this.lr;
    this.lrScale = Array.from({ length: 7 }, (_, k) => (k < ENCODER_BLOCKS ? ratio : 1));
    const oof = await super.fitQuality(X, Y, ctx);
    this.inputs = [];
    this.trainIds = [];
    this.relCost = new Float64Array(0);
    return oof;
  }

  /** The training prompts as the network reads them, once their whitened sentence features exist. */
  protected override inputsReady(): void {
    this.inputs = this.trainIds.map((t, i) => ({ ids: t, x: this.query === 'tokens' ? undefined : this.X[i] }));
  }

  protected allocate(): void {
    this.net = new AttentionNet(this.shape());
    this.probs = new Float64Array(this.cards.length);
  }

  init(seed: number): void {
    this.params = initParams(this.shape(), this.meanScores, seed);
    this.grads = this.params.map((p) => new Float32Array(p.length));
    this.allocate();
  }

  override forward(i: number, out: Float64Array): void {
    const net = this.net as AttentionNet;
    net.forward(this.params, this.inputs[i] as NetInput);
    out.set(net.p);
  }

  backward(i: number): number {
    const net = this.net as AttentionNet;
    const input = this.inputs[i] as NetInput;
    net.forward(this.params, input);
    return net.backward(this.params, this.grads, input, this.Y, this.relCost, i * this.cards.length, this.beta, this.trainLambda);
  }

  protected run(): void {
    throw new SwitchyardError('router_not_fitted', 'cross-attention: predictions go through rawQuality');
  }

  /** Routing weights w (the attention's distribution over models) and raw qualities for one prompt, averaged over folds. */
  private predictOne(text: string, x: Float32Array | undefined, w: Float64Array | undefined, out: Float64Array, offset: number): void {
    const net = this.net as AttentionNet;
    const M = this.cards.length;
    const input: NetInput = { ids: this.tokenIds(text), x: x && this.query !== 'tokens' ? this.input.apply(x) : undefined };
    for (let m = 0; m < M; m++) out[offset + m] = 0;
    w?.fill(0);
    const K = this.foldParams.length;
    for (const params of this.foldParams) {
      net.forward(params, input);
      for (let m = 0; m < M; m++) out[offset + m] = (out[offset + m] as number) + (net.p[m] as number) / K;
      if (w) for (let m = 0; m < M; m++) w[m] = (w[m] as number) + (net.w[m] as number) / K;
    }
  }

  protected override async rawQuality(prompts: readonly PromptInput[]): Promise<Float64Array> {
    const M = this.cards.length;
    const X = this.query === 'tokens' ? undefined : await this.embedPrompts(prompts);
    const q = new Float64Array(prompts.length * M);
    prompts.forEach((p, i) => this.predictOne(p.text, X?.[i], undefined, q, i * M));
    return q;
  }

  /** The attention's routing weights for a prompt (for inspection and the paper's inference rule). */
  async routingWeights(prompt: PromptInput): Promise<Map<string, number>> {
    this.requireFitted();
    const M = this.cards.length;
    const X = this.query === 'tokens' ? undefined : await this.embedPrompts([prompt]);
    const w = new Float64Array(M);
    this.predictOne(prompt.text, X?.[0], w, new Float64Array(M), 0);
    return new Map(this.cards.map((c, m) => [c.id, w[m] as number]));
  }

  protected override async routeBatch(prompts: readonly PromptInput[], prefs: RoutePrefs): Promise<Decision[]> {
    const hard = await super.routeBatch(prompts, prefs);
    if (this.soft <= 1) return hard;
    const { q, c } = await this.predict(prompts);
    const M = this.cards.length;
    const lambda = this.resolveLambda(prefs);
    const w = weightFor(this.lambdaScale, lambda);
    const relative = this.costNorm === 'relative';
    const dc = relative ? relativeCosts(c, M) : c;
    const scale = relative ? 1 : (this.costModel as CostModel).scale;
    const base = this.prefsMask(prefs);
    return prompts.map((p, i) => {
      const mask = this.allowedMask(p, prefs, base);
      const first = (hard[i] as Decision).models[0] as string;
      const ranked = this.cards
        .map((card, m) => ({ id: card.id, m, u: utility(q[i * M + m] as number, dc[i * M + m] as number, Math.min(w, 1e6), scale) }))
        .filter((r) => mask[r.m] === 1 && r.id !== first)
        .sort((a, b) => b.u - a.u || (c[i * M + a.m] as number) - (c[i * M + b.m] as number));
      const models = [first, ...ranked.slice(0, this.soft - 1).map((r) => r.id)];
      const d = hard[i] as Decision;
      return { ...d, models, kind: models.length > 1 ? 'mixture' : 'single', reason: `${d.reason}; soft top-${models.length}: ${models.join(', ')}` };
    });
  }

  /**
   * Adds a model without retraining: its capability embedding (key row, bias, γ, α) starts from the
   * existing models whose predicted quality correlates best with its recorded scores on `labelled`
   * prompts (or at random with warmStart=false), its bias is shifted so that its mean predicted quality
   * on those prompts matches their recorded mean, and it is then fitted on those prompts alone, every
   * other parameter frozen. The λ scale and the operating curve are kept as they were.
   */
  async addModel(card: ModelCard, labelled: readonly LabelledOutcome[], options: AddModelOptions = {}): Promise<AddModelReport> {
    this.requireFitted();
    if (this.models.includes(card.id)) throw invalidArgument(`cross-attention: model "${card.id}" is already routed`);
    if (labelled.length < 2 || labelled.some((l) => !(l.score >= 0 && l.score <= 1))) throw invalidArgument('cross-attention: addModel needs at least 2 labelled prompts with scores in [0, 1]');
    const n = this.cards.length;
    const prompts = labelled.map((l) => l.prompt);
    const scores = labelled.map((l) => l.score);
    const neighbours = nearestModels(this.models, (await this.predict(prompts)).q, scores);
    const warm = (options.warmStart ?? true) && neighbours.length > 0;
    const meanScore = scores.reduce((s, v) => s + v, 0) / scores.length;
    this.foldParams = this.foldParams.map((params, f) => growBlocks(params, this.dim, neighbours, meanScore, warm, (options.seed ?? 0) + 7919 * f));
    const outTokens = labelled.flatMap((l) => (l.outputTokens !== undefined ? [l.outputTokens] : []));
    const meanOut = outTokens.length > 0 ? outTokens.reduce((s, v) => s + v, 0) / outTokens.length : median((this.costModel as CostModel).state.meanOutputTokens);
    this.appendModel(card, meanOut);
    this.allocate();
    const X = this.query === 'tokens' ? undefined : await this.embedPrompts(prompts);
    const inputs: NetInput[] = prompts.map((p, i) => ({ ids: this.tokenIds(p.text), x: X && this.query !== 'tokens' ? this.input.apply(X[i] as Float32Array) : undefined }));
    const fit = { net: this.net as AttentionNet, inputs, scores, n, d: this.dim, lr: this.lr, beta: this.beta, epochs: options.epochs ?? 40 };
    for (const params of this.foldParams) fitNewRow(params, fit);
    return { neighbours: neighbours.map(({ model, correlation }) => ({ model, correlation })), prompts: labelled.length };
  }

  protected netConfig(): Record<string, unknown> {
    return { query: this.query, dim: this.dim, vocab: this.vocab, maxLen: this.maxLen, encoderLr: this.encoderLr, beta: this.beta, trainLambda: this.trainLambda, sentenceWeight: this.sentenceWeight, soft: this.soft };
  }

  protected netState(): Record<string, unknown> {
    return {};
  }

  /** Checks every fold's parameter blocks against the network's shape (a mismatched artifact is refused, not misread). */
  protected restoreNet(): void {
    const shape = this.shape();
    const n = shape.models;
    const sizes = [shape.vocab * shape.dim, shape.dim * shape.feature, shape.dim, n * shape.dim, n, n, n];
    for (const params of this.foldParams) {
      if (params.length !== sizes.length || params.some((p, k) => p.length !== sizes[k])) {
        throw new SwitchyardError('artifact_invalid', `cross-attention: parameter blocks (${params.map((p) => p.length).join(', ')}) do not match the network (${sizes.join(', ')})`);
      }
    }
  }

  static fromArtifact(a: RouterArtifact): CrossAttentionRouter {
    const c = a.config;
    const query = QUERY_MODES.find((m) => m === c['query']) ?? 'tokens';
    const n = (k: string): number => Number(c[k]);
    return new CrossAttentionRouter({
      ...predictorConfig(c),
      ...neuralConfig(c),
      query,
      dim: n('dim'),
      vocab: n('vocab'),
      maxLen: n('maxLen'),
      encoderLr: n('encoderLr'),
      beta: n('beta'),
      trainLambda: n('trainLambda'),
      sentenceWeight: Number(c['sentenceWeight'] ?? 0.5),
      soft: n('soft'),
    }).restore(a);
  }
}

const EMPTY = new Int32Array(0);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.floor(s.length / 2)] as number);
}
