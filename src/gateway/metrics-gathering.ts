/**
 * The supervisor's scrapes in progress (`server.workers` > 1, workers.ts): a worker scraped on
 * /metrics asks the supervisor, which asks every listening worker for its metrics and answers once
 * each has sent them, one has gone (a worker that died or was stopped is no longer waited for), or
 * `waitMs` has passed (a worker that does not answer is left out of that scrape).
 */
export interface Gathered<A> {
  /** Who asked, and its own id for the question. */
  readonly asker: A;
  readonly askerId: number;
  /** The metrics each worker that answered sent (prom-client's `getMetricsAsJSON()`). */
  readonly got: readonly object[];
}

interface Gathering<A> {
  readonly asker: A;
  readonly askerId: number;
  readonly got: object[];
  /** Worker numbers still to answer. */
  readonly waiting: Set<number>;
  readonly timer: NodeJS.Timeout;
}

export class MetricsGatherings<A> {
  private readonly open = new Map<number, Gathering<A>>();
  private seq = 0;

  constructor(
    private readonly waitMs: number,
    private readonly done: (g: Gathered<A>) => void,
  ) {}

  /** Starts a scrape for `asker`; `ask(worker, id)` sends each worker the question. */
  start(asker: A, askerId: number, workers: readonly number[], ask: (worker: number, id: number) => void): void {
    const id = ++this.seq;
    const timer = setTimeout(() => this.finish(id), this.waitMs);
    this.open.set(id, { asker, askerId, got: [], waiting: new Set(workers), timer });
    for (const w of workers) ask(w, id);
    if (workers.length === 0) this.finish(id);
  }

  /** Worker `worker` sent its metrics for scrape `id`. */
  collected(worker: number, id: number, metrics: object): void {
    const g = this.open.get(id);
    if (!g || !g.waiting.delete(worker)) return; // late, or twice
    g.got.push(metrics);
    if (g.waiting.size === 0) this.finish(id);
  }

  /** Worker `worker` has gone: no scrape waits for it any longer. */
  gone(worker: number): void {
    for (const [id, g] of [...this.open]) if (g.waiting.delete(worker) && g.waiting.size === 0) this.finish(id);
  }

  /** Drops every open scrape unanswered (the supervisor is stopping). */
  clear(): void {
    for (const g of this.open.values()) clearTimeout(g.timer);
    this.open.clear();
  }

  private finish(id: number): void {
    const g = this.open.get(id);
    if (!g) return;
    this.open.delete(id);
    clearTimeout(g.timer);
    this.done({ asker: g.asker, askerId: g.askerId, got: g.got });
  }
}
