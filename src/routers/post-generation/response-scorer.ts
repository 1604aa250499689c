/**
 * A response scorer for post-generation choices (best-of-k after soft routing, cascades): predicts
 * the recorded score of an answer from the answer itself — hashed word/character n-grams of the
 * response, which model wrote it, and its length relative to the prompt — by logistic regression
 * (Adam, seeded). Trained on the train split's recorded responses (`responses.jsonl.gz`); it sees
 * neither the task label nor any recorded score at choice time, so the choice is deployable.
 */
import { z } from 'zod';
import { SwitchyardError } from '../../core/errors.js';
import { base64ToF32, f32ToBase64 } from '../../core/encode-f32.js';
import { createRng, shuffleInPlace } from '../../core/random.js';
import { createEncoder, encoderFromSpec } from '../../encoders/registry.js';
import type { CachedEncoder } from '../../encoders/cache.js';
import type { EncoderSpec } from '../../spec/encoder.js';
import { Adam, sigmoid } from '../nn/adam.js';

/** A saved scorer (`switchyard train-scorer --out`). */
export const ScorerArtifactSchema = z.object({
  format: z.literal('switchyard.response-scorer'),
  version: z.literal(1),
  encoder: z.object({ id: z.string(), dim: z.number().int().positive(), config: z.record(z.string(), z.unknown()).optional(), state: z.unknown().optional() }),
  models: z.array(z.string()),
  weights: z.string(),
  dim: z.number().int().positive(),
  /** With prompt features: the prompt's hashed n-grams, a second block (absent: answers only). */
  promptEncoder: z.object({ id: z.string(), dim: z.number().int().positive(), config: z.record(z.string(), z.unknown()).optional(), state: z.unknown().optional() }).optional(),
});
export type ScorerArtifact = z.infer<typeof ScorerArtifactSchema>;

export interface ResponseItem {
  readonly prompt: string;
  readonly model: string;
  readonly response: string;
}

export interface ScoredResponse extends ResponseItem {
  /** Recorded quality in [0, 1]. */
  readonly score: number;
}

export interface ResponseScorerOptions {
  /** Width of the hashed n-gram features (default 512). */
  readonly dim?: number;
  readonly epochs?: number;
  readonly seed?: number;
  /** Width of a hashed n-gram block of the prompt too (0 = none, the default): lets the scorer learn which prompts are hard. */
  readonly promptDim?: number;
}

const EXTRA = 2; // log response length, log length ratio to the prompt

export class ResponseScorer {
  private constructor(
    private readonly encoder: CachedEncoder,
    private readonly models: Map<string, number>,
    private readonly weights: Float32Array,
    private readonly dim: number,
    private readonly promptEncoder?: CachedEncoder,
  ) {}

  private get width(): number {
    return this.dim + this.models.size + EXTRA + 1 + (this.promptEncoder?.dim ?? 0);
  }

  static async fit(rows: readonly ScoredResponse[], options: ResponseScorerOptions = {}): Promise<ResponseScorer> {
    const dim = options.dim ?? 512;
    const encoder = createEncoder(`hashing:dim=${dim}`);
    await encoder.fit(rows.map((r) => r.response));
    const models = new Map<string, number>();
    for (const r of rows) if (!models.has(r.model)) models.set(r.model, models.size);
    let promptEncoder: CachedEncoder | undefined;
    if (options.promptDim) {
      promptEncoder = createEncoder(`hashing:dim=${options.promptDim}`);
      await promptEncoder.fit([...new Set(rows.map((r) => r.prompt))]);
    }
    const width = dim + models.size + EXTRA + 1 + (options.promptDim ?? 0);
    const weights = new Float32Array(width);
    const scorer = new ResponseScorer(encoder, models, weights, dim, promptEncoder);
    const X = await scorer.features(rows);
    const grads = [new Float32Array(width)];
    const adam = new Adam([weights], 0.02, 1e-4);
    const order = rows.map((_, i) => i);
    const rng = createRng(options.seed ?? 0);
    const batch = 64;
    for (let epoch = 0; epoch < (options.epochs ?? 8); epoch++) {
      shuffleInPlace(order, rng);
      for (let s = 0; s < order.length; s += batch) {
        const end = Math.min(order.length, s + batch);
        const g = grads[0] as Float32Array;
        for (let k = s; k < end; k++) {
          const i = order[k] as number;
          const x = X[i] as Float32Array;
          const err = sigmoid(dot(weights, x)) - (rows[i] as ScoredResponse).score;
          for (let t = 0; t < width; t++) g[t] = (g[t] as number) + err * (x[t] as number);
        }
        adam.step(grads, end - s);
      }
    }
    return scorer;
  }

  private async features(items: readonly ResponseItem[]): Promise<Float32Array[]> {
    const H = await this.encoder.embed(items.map((r) => r.response));
    const P = this.promptEncoder ? await this.promptEncoder.embed(items.map((r) => r.prompt)) : undefined;
    const M = this.models.size;
    return items.map((r, i) => {
      const x = new Float32Array(this.width);
      if (P) x.set(P[i] as Float32Array, this.dim + M + EXTRA + 1);
      x.set(H[i] as Float32Array, 0);
      const m = this.models.get(r.model);
      if (m !== undefined) x[this.dim + m] = 1;
      const len = Math.log1p(r.response.length);
      x[this.dim + M] = len / 10;
      x[this.dim + M + 1] = (len - Math.log1p(r.prompt.length)) / 5;
      x[this.dim + M + EXTRA] = 1;
      return x;
    });
  }

  toArtifact(): ScorerArtifact {
    return {
      format: 'switchyard.response-scorer',
      version: 1,
      encoder: this.encoder.toSpec() as ScorerArtifact['encoder'],
      models: [...this.models.keys()],
      weights: f32ToBase64(this.weights),
      dim: this.dim,
      ...(this.promptEncoder ? { promptEncoder: this.promptEncoder.toSpec() as NonNullable<ScorerArtifact['promptEncoder']> } : {}),
    };
  }

  static fromArtifact(raw: unknown, where = 'response scorer'): ResponseScorer {
    const r = ScorerArtifactSchema.safeParse(raw);
    if (!r.success) throw new SwitchyardError('artifact_invalid', `${where}: not a response scorer artifact (${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')})`);
    const a = r.data;
    const weights = base64ToF32(a.weights);
    if (weights.length !== a.dim + a.models.length + EXTRA + 1 + (a.promptEncoder?.dim ?? 0)) throw new SwitchyardError('artifact_invalid', `${where}: weights do not match the model list`);
    const promptEncoder = a.promptEncoder ? encoderFromSpec(a.promptEncoder as EncoderSpec) : undefined;
    return new ResponseScorer(encoderFromSpec(a.encoder as EncoderSpec), new Map(a.models.map((m, i) => [m, i])), weights, a.dim, promptEncoder);
  }

  /** Predicted quality of each answer (0..1). */
  async score(items: readonly ResponseItem[]): Promise<Float64Array> {
    const X = await this.features(items);
    return Float64Array.from(X, (x) => sigmoid(dot(this.weights, x)));
  }
}

function dot(w: Float32Array, x: Float32Array): number {
  let s = 0;
  for (let t = 0; t < w.length; t++) s += (w[t] as number) * (x[t] as number);
  return s;
}
