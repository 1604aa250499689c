/** `openai-compatible`: any `/v1/embeddings` endpoint (OpenAI, Ollama, TEI, vLLM, …), with an injected fetch. */
import { z } from 'zod';
import { SwitchyardError } from '../core/errors.js';
import { normalizeInPlace } from '../core/vec.js';
import type { Encoder, EncoderSpec } from '../spec/encoder.js';

export const OpenAIEmbeddingsConfigSchema = z.object({
  baseURL: z.string().url(),
  model: z.string().min(1),
  dim: z.number().int().positive(),
  /** Name of the environment variable holding the API key (the key itself is never stored). */
  apiKeyEnv: z.string().optional(),
  batch: z.number().int().positive().default(64),
});
export type OpenAIEmbeddingsConfig = z.infer<typeof OpenAIEmbeddingsConfigSchema>;

const ResponseSchema = z.object({ data: z.array(z.object({ index: z.number().int(), embedding: z.array(z.number()) })) });

export class OpenAICompatibleEncoder implements Encoder {
  readonly id = 'openai-compatible';
  readonly dim: number;
  private readonly config: OpenAIEmbeddingsConfig;
  private readonly fetchFn: typeof fetch;
  private readonly env: Readonly<Record<string, string | undefined>>;

  constructor(config: z.input<typeof OpenAIEmbeddingsConfigSchema>, deps: { fetch?: typeof fetch; env?: Readonly<Record<string, string | undefined>> } = {}) {
    const parsed = OpenAIEmbeddingsConfigSchema.safeParse(config);
    if (!parsed.success) {
      throw new SwitchyardError('invalid_argument', `openai-compatible encoder: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    this.config = parsed.data;
    this.dim = parsed.data.dim;
    this.fetchFn = deps.fetch ?? fetch;
    this.env = deps.env ?? process.env;
  }

  get fingerprint(): string {
    return `openai-compatible:${this.config.baseURL}:${this.config.model}:${this.dim}`;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    const url = `${this.config.baseURL.replace(/\/$/, '')}/embeddings`;
    const key = this.config.apiKeyEnv ? this.env[this.config.apiKeyEnv] : undefined;
    for (let i = 0; i < texts.length; i += this.config.batch) {
      const input = texts.slice(i, i + this.config.batch);
      const res = await this.fetchFn(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body: JSON.stringify({ model: this.config.model, input }),
      });
      const text = await res.text();
      if (!res.ok) throw new SwitchyardError('invalid_argument', `embeddings endpoint ${url} answered ${res.status}: ${text.slice(0, 200)}`);
      let parsed;
      try {
        parsed = ResponseSchema.safeParse(JSON.parse(text));
      } catch {
        parsed = undefined;
      }
      if (!parsed?.success) throw new SwitchyardError('invalid_argument', `embeddings endpoint ${url}: not an OpenAI embeddings response`);
      const rows = [...parsed.data.data].sort((a, b) => a.index - b.index);
      if (rows.length !== input.length) throw new SwitchyardError('invalid_argument', `embeddings endpoint ${url}: ${rows.length} vectors for ${input.length} inputs`);
      for (const r of rows) {
        if (r.embedding.length !== this.dim) throw new SwitchyardError('invalid_argument', `embeddings endpoint ${url}: got ${r.embedding.length}-d vectors, configured dim ${this.dim}`);
        out.push(normalizeInPlace(Float32Array.from(r.embedding)));
      }
    }
    return out;
  }

  toSpec(): EncoderSpec {
    return { id: this.id, dim: this.dim, config: { ...this.config } };
  }
}
