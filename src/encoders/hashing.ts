/**
 * `hashing`: word unigrams + bigrams and character 3-grams, TF-IDF weighted (sublinear TF, IDF fitted
 * on the training texts), signed-hashed into a fixed width and L2-normalised. No model, ~µs a prompt.
 */
import { z } from 'zod';
import { SwitchyardError } from '../core/errors.js';
import { normalizeInPlace } from '../core/vec.js';
import type { Encoder, EncoderSpec } from '../spec/encoder.js';

export const HashingConfigSchema = z.object({
  dim: z.number().int().min(16).max(1 << 20).default(1024),
  charNgrams: z.boolean().default(true),
  bigrams: z.boolean().default(true),
});
export type HashingConfig = z.infer<typeof HashingConfigSchema>;

const StateSchema = z.object({ idf: z.array(z.number()), docs: z.number().int().nonnegative() });

/** 32-bit FNV-1a over a substring, without allocating it. */
function fnv(s: string, start: number, end: number, seed: number): number {
  let h = seed;
  for (let i = start; i < end; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const WORD = /[\p{L}\p{N}_]+/gu;

/** Calls `visit(bucket, sign)` for every feature of the text. */
export function forEachFeature(text: string, dim: number, config: HashingConfig, visit: (bucket: number, sign: number) => void): void {
  const lower = text.toLowerCase();
  let prev = -1;
  for (const m of lower.matchAll(WORD)) {
    const start = m.index;
    const end = start + m[0].length;
    const h = fnv(lower, start, end, 0x811c9dc5);
    visit(h % dim, h & 0x80000000 ? -1 : 1);
    if (config.bigrams && prev >= 0) {
      const b = Math.imul(prev ^ h, 0x9e3779b1) >>> 0;
      visit(b % dim, b & 0x80000000 ? -1 : 1);
    }
    prev = h;
    if (config.charNgrams && end - start > 3) {
      for (let i = start; i + 3 <= end; i++) {
        const c = fnv(lower, i, i + 3, 0x01234567);
        visit(c % dim, c & 0x80000000 ? -1 : 1);
      }
    }
  }
}

export class HashingEncoder implements Encoder {
  readonly id = 'hashing';
  readonly dim: number;
  private readonly config: HashingConfig;
  private idf: Float32Array;
  private docs = 0;
  private tf: Float32Array;

  constructor(config: Partial<HashingConfig> = {}, state?: unknown) {
    this.config = HashingConfigSchema.parse(config);
    this.dim = this.config.dim;
    this.idf = new Float32Array(this.dim).fill(1);
    this.tf = new Float32Array(this.dim);
    if (state !== undefined) {
      const s = StateSchema.safeParse(state);
      if (!s.success || s.data.idf.length !== this.dim) throw new SwitchyardError('artifact_invalid', 'hashing encoder: state does not match its dim');
      this.idf = Float32Array.from(s.data.idf);
      this.docs = s.data.docs;
    }
  }

  get fingerprint(): string {
    let h = 0;
    for (let i = 0; i < this.idf.length; i += 7) h = (Math.imul(h, 31) + Math.round((this.idf[i] as number) * 1e4)) | 0;
    return `hashing:${this.dim}:${Number(this.config.charNgrams)}${Number(this.config.bigrams)}:${this.docs}:${h >>> 0}`;
  }

  async fit(texts: readonly string[]): Promise<void> {
    const df = new Float64Array(this.dim);
    const seen = new Uint8Array(this.dim);
    const touched: number[] = [];
    for (const t of texts) {
      forEachFeature(t, this.dim, this.config, (b) => {
        if (seen[b] === 0) {
          seen[b] = 1;
          touched.push(b);
        }
      });
      for (const b of touched) {
        df[b] = (df[b] as number) + 1;
        seen[b] = 0;
      }
      touched.length = 0;
    }
    const n = texts.length;
    for (let b = 0; b < this.dim; b++) this.idf[b] = Math.log((1 + n) / (1 + (df[b] as number))) + 1;
    this.docs = n;
  }

  embedOne(text: string): Float32Array {
    const tf = this.tf;
    tf.fill(0);
    forEachFeature(text, this.dim, this.config, (b, sign) => {
      tf[b] = (tf[b] as number) + sign;
    });
    const out = new Float32Array(this.dim);
    for (let b = 0; b < this.dim; b++) {
      const c = tf[b] as number;
      if (c !== 0) out[b] = Math.sign(c) * (1 + Math.log(Math.abs(c))) * (this.idf[b] as number);
    }
    return normalizeInPlace(out);
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((t) => this.embedOne(t));
  }

  toSpec(): EncoderSpec {
    return { id: this.id, dim: this.dim, config: { ...this.config }, state: { idf: Array.from(this.idf, (v) => Number(v.toFixed(5))), docs: this.docs } };
  }
}
