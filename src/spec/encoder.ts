/** Encoder: prompt text → vector. Its spec (id, dim, config, fitted state) travels inside router artifacts. */
export interface EncoderSpec {
  /** Registry name: `hashing`, `use-lite`, `openai-compatible`, … */
  readonly id: string;
  readonly dim: number;
  readonly config?: Readonly<Record<string, unknown>>;
  /** Fitted state (e.g. IDF weights); absent for stateless encoders. */
  readonly state?: unknown;
}

export interface Encoder {
  readonly id: string;
  readonly dim: number;
  /** A string that changes whenever the vectors would (id, config, fitted state): the cache key. */
  readonly fingerprint: string;
  /** Learn corpus statistics (IDF, …) from training texts; stateless encoders do nothing. */
  fit?(texts: readonly string[]): Promise<void>;
  /** L2-normalised vectors, one per text. */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  toSpec(): EncoderSpec;
}
