/** Short-lived cloud credentials (AWS keys, Google tokens): fetched once at a time, kept until `marginMs` before they expire. */

/** The fetch the credential sources call (the global one by default; a test's server in tests). */
export type CredentialFetch = (url: string, init: { method?: string; headers: Record<string, string>; body?: string }) => Promise<{ ok: boolean; status: number; json(): Promise<unknown>; text(): Promise<string> }>;

export const globalFetch = globalThis.fetch as unknown as CredentialFetch;

export class Refreshing<T> {
  private cached: T | undefined;
  private pending: Promise<T> | undefined;

  /** `expiresAt`: when a value stops being good (unix ms; undefined: never). */
  constructor(
    private readonly expiresAt: (value: T) => number | undefined,
    private readonly marginMs: number,
    private readonly now: () => number,
  ) {}

  /** The kept value while it is good, else `load`'s (concurrent callers share one load). */
  async get(load: () => Promise<T>): Promise<T> {
    const expires = this.cached === undefined ? -Infinity : this.expiresAt(this.cached);
    if (this.cached !== undefined && (expires === undefined || expires - this.marginMs > this.now())) return this.cached;
    this.pending ??= load().finally(() => (this.pending = undefined));
    return (this.cached = await this.pending);
  }
}
