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

/** A word is a run of letters, digits and `_` (`[\p{L}\p{N}_]+`); code points are classified once each. */
const WORD_CHAR = /^[\p{L}\p{N}_]$/u;
const BMP_CLASS = new Uint8Array(0x10000); // 0 unknown, 1 word, 2 not
function isWordCodePoint(cp: number): boolean {
  if (cp < 0x10000) {
    let c = BMP_CLASS[cp] as number;
    if (c === 0) BMP_CLASS[cp] = c = WORD_CHAR.test(String.fromCharCode(cp)) ? 1 : 2;
    return c === 1;
  }
  return WORD_CHAR.test(String.fromCodePoint(cp));
}

/** Calls `visit(bucket, sign)` for every feature of the text. */
export function forEachFeature(text: string, dim: number, config: HashingConfig, visit: (bucket: number, sign: number) => void): void {
  const lower = text.toLowerCase();
  const n = lower.length;
  let prev = -1;
  let i = 0;
  while (i < n) {
    let cp = lower.codePointAt(i) as number;
    if (!isWordCodePoint(cp)) {
      i += cp > 0xffff ? 2 : 1;
      continue;
    }
    const start = i;
    do {
      i += cp > 0xffff ? 2 : 1;
      cp = i < n ? (lower.codePointAt(i) as number) : -1;
    } while (cp >= 0 && isWordCodePoint(cp));
    const end = i;
    const h = fnv(lower, start, end, 0x811c9dc5);
    visit(h % dim, h & 0x80000000 ? -1 : 1);
    if (config.bigrams && prev >= 0) {
      const b = Math.imul(prev ^ h, 0x9e3779b1) >>> 0;
      visit(b % dim, b & 0x80000000 ? -1 : 1);
    }
    prev = h;
    if (config.charNgrams && end - start > 3) {
      for (let k = start; k + 3 <= end; k++) {
        const c = fnv(lower, k, k + 3, 0x01234567);
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
