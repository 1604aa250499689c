/**
 * Embedding caches per encoder fingerprint: an in-memory LRU for serving (keyed by the text, or its
 * hash for long texts), and an on-disk store for evaluation runs keyed by text hash (one binary file
 * per encoder fingerprint, appended to).
 */
import { ROUTING_TEXT_MAX_CHARS, routingText } from '../core/long-text.js';
import { remember } from '../core/lru.js';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { makeDir } from '../core/fs.js';
import { join } from 'node:path';
import type { Encoder, EncoderSpec } from '../spec/encoder.js';

const KEY_BYTES = 16;

function textKey(text: string): string {
  return createHash('sha1').update(text).digest('hex').slice(0, KEY_BYTES * 2);
}

export interface CacheOptions {
  /** Entries kept in memory per encoder fingerprint (default 20,000). */
  readonly maxEntries?: number;
  /** Folder for the on-disk cache (none by default). */
  readonly dir?: string;
}

/** In-memory LRUs shared by every CachedEncoder of the process, one per encoder fingerprint. */
const sharedLru = new Map<string, Map<string, Float32Array>>();
/**
 * Prompts up to this many characters are their own LRU key (no hashing on the serving path); longer
 * ones are keyed by a hash, so memory stays bounded. Hashed keys start with U+0000 to stand apart.
 */
const RAW_KEY_MAX = 2048;
const memoryKey = (text: string): string => (text.length <= RAW_KEY_MAX ? text : `\u0000${textKey(text)}`);

/** What an encoder reads of each text: a very long one's head and tail (core/long-text.ts); the same array when none is long. */
function sampled(texts: readonly string[]): readonly string[] {
  return texts.some((t) => t.length > ROUTING_TEXT_MAX_CHARS) ? texts.map(routingText) : texts;
}

export class CachedEncoder implements Encoder {
  readonly inner: Encoder;
  private readonly maxEntries: number;
  private readonly dir: string | undefined;
  private disk: Map<string, Float32Array> | undefined;
  private diskFingerprint = '';
  hits = 0;
  misses = 0;

  constructor(inner: Encoder, options: CacheOptions = {}) {
    this.inner = inner;
    this.maxEntries = options.maxEntries ?? 20_000;
    this.dir = options.dir;
  }

  get id(): string {
    return this.inner.id;
  }
  get dim(): number {
    return this.inner.dim;
  }
  get fingerprint(): string {
    return this.inner.fingerprint;
  }

  async fit(texts: readonly string[]): Promise<void> {
    if (this.inner.fit) {
      await this.inner.fit(sampled(texts));
    }
  }

  private diskFileFor: { fingerprint: string; file: string } | undefined;

  private diskFile(): string | undefined {
    if (!this.dir) return undefined;
    const fingerprint = this.inner.fingerprint;
    if (this.diskFileFor?.fingerprint !== fingerprint) {
      const name = createHash('sha1').update(fingerprint).digest('hex').slice(0, 16);
      this.diskFileFor = { fingerprint, file: join(this.dir, `${this.inner.id}-${name}.f32`) };
    }
    return this.diskFileFor.file;
  }

  private loadDisk(): Map<string, Float32Array> | undefined {
    const file = this.diskFile();
    if (!file) return undefined;
    if (this.disk && this.diskFingerprint === this.inner.fingerprint) return this.disk;
    const map = new Map<string, Float32Array>();
    if (existsSync(file)) {
      const buf = readFileSync(file);
      const rec = KEY_BYTES + 4 * this.dim;
      for (let off = 0; off + rec <= buf.length; off += rec) {
        const key = buf.subarray(off, off + KEY_BYTES).toString('hex');
        const vec = new Float32Array(this.dim);
        new Uint8Array(vec.buffer).set(buf.subarray(off + KEY_BYTES, off + rec));
        map.set(key, vec);
      }
    }
    this.disk = map;
    this.diskFingerprint = this.inner.fingerprint;
    return map;
  }

  async embed(whole: readonly string[]): Promise<Float32Array[]> {
    const texts = sampled(whole);
    const fp = this.inner.fingerprint;
    const disk = this.loadDisk();
    const out = new Array<Float32Array | undefined>(texts.length);
    const missing: number[] = [];
    let lru = sharedLru.get(fp);
    if (!lru) sharedLru.set(fp, (lru = new Map()));
    const keys = texts.map(memoryKey);
    texts.forEach((t, i) => {
      const hit = lru.get(keys[i] as string) ?? disk?.get(textKey(t));
      if (hit) {
        this.hits++;
        out[i] = hit;
      } else {
        missing.push(i);
      }
    });
    if (missing.length > 0) {
      this.misses += missing.length;
      const unique = [...new Set(missing.map((i) => texts[i] as string))];
      const vecs = await this.inner.embed(unique);
      const byText = new Map(unique.map((t, j) => [t, vecs[j] as Float32Array]));
      const records: Buffer[] = [];
      for (const t of unique) {
        const k = textKey(t);
        const v = byText.get(t) as Float32Array;
        if (disk && !disk.has(k)) {
          disk.set(k, v);
          records.push(Buffer.from(k, 'hex'), Buffer.from(v.buffer, v.byteOffset, v.byteLength));
        }
      }
      for (const i of missing) out[i] = byText.get(texts[i] as string);
      const file = this.diskFile();
      if (file && records.length > 0) {
        makeDir(this.dir as string);
        appendFileSync(file, Buffer.concat(records));
      }
    }
    for (let i = 0; i < texts.length; i++) remember(lru, keys[i] as string, out[i] as Float32Array, this.maxEntries);
    return out as Float32Array[];
  }

  toSpec(): EncoderSpec {
    return this.inner.toSpec();
  }
}
