/**
 * A limit per UTC minute window — a provider's requests or tokens a minute, kept by the gateway
 * before the provider answers 429. Counted in this process, or, with `shared` (a Redis store), shared
 * by every replica through leases: a replica reserves a share of the minute in the store's counter
 * (one round trip for LEASE_SHARE of the limit, or what one call needs if more) and counts it down
 * locally, so the hot path does not wait for the store on every call. What a replica reserved and
 * did not use by the minute's end is lost to the others for that minute (at most one share each).
 */
export const MINUTE_MS = 60_000;

/** A replica reserves this fraction of a limit at a time. */
const LEASE_SHARE = 1 / 20;

export interface SharedMinutes {
  /** Adds `amount` to the replicas' count of `id` in the minute starting at `window`; resolves with the new total. */
  readonly reserve: (id: string, window: number, amount: number) => Promise<number>;
  /** The store did not answer: this minute is counted by this process alone. */
  readonly onError: (e: unknown) => void;
}

export class MinuteLimit {
  private window = -1;
  private used = 0;
  /** Units this process may use this minute: the whole limit, or, shared, what it reserved. */
  private granted = 0;
  /** Shared: the replicas reserved the whole minute (or the store did not answer); no more reservations. */
  private closed = false;
  private reserving: Promise<void> | undefined;

  constructor(
    /** Units a minute; undefined: no limit (nothing is counted). */
    readonly limit: number | undefined,
    private readonly now: () => number,
    /** The id and store through which replicas share the limit; undefined: this process alone. */
    private readonly shared?: { readonly id: string; readonly minutes: SharedMinutes },
  ) {}

  /** Units used in the current minute. */
  get count(): number {
    this.roll();
    return this.used;
  }

  /** `units` more fit in the current minute (always, without a limit; never, when more than the whole limit). */
  fits(units: number): boolean {
    if (this.limit === undefined) return true;
    this.roll();
    return this.used + units <= this.granted;
  }

  /** Counts `units` in the current minute (none without a limit). */
  take(units: number): void {
    if (this.limit === undefined) return;
    this.roll();
    this.used += units;
  }

  /** Shared: `units` more do not fit in what this process reserved, and the store may have more. */
  needsLease(units: number): boolean {
    if (!this.shared || this.limit === undefined || units > this.limit) return false;
    this.roll();
    return !this.closed && this.used + units > this.granted;
  }

  /** Reserves a share of the current minute for `units` more (one reservation at a time; callers wait for the one under way). */
  lease(units: number): Promise<void> {
    if (this.reserving) return this.reserving;
    const { shared, limit } = this;
    if (!shared || limit === undefined) return Promise.resolve();
    const window = this.window;
    const want = Math.max(this.used + units - this.granted, Math.ceil(limit * LEASE_SHARE));
    this.reserving = shared.minutes
      .reserve(shared.id, window, want)
      .then(
        (total) => {
          if (window !== this.window) return; // the minute turned meanwhile
          const got = Math.max(0, Math.min(want, limit - (total - want)));
          this.granted += got;
          if (got < want) this.closed = true;
        },
        (e: unknown) => {
          shared.minutes.onError(e);
          if (window !== this.window) return;
          this.granted = limit; // counted here alone, against the whole limit, until the next minute
          this.closed = true;
        },
      )
      .finally(() => (this.reserving = undefined));
    return this.reserving;
  }

  /** Seconds until the next minute, when the count starts again. */
  get retryAfterS(): number {
    return Math.max(1, Math.ceil((MINUTE_MS - (this.now() % MINUTE_MS)) / 1000));
  }

  private roll(): void {
    const t = this.now();
    const window = t - (t % MINUTE_MS);
    if (window !== this.window) {
      this.window = window;
      this.used = 0;
      this.granted = this.shared ? 0 : (this.limit ?? 0);
      this.closed = false;
    }
  }
}
