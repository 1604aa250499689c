/**
 * A gateway worker's line to its supervisor (`server.workers` > 1, workers.ts): the messages they
 * exchange over node:cluster's IPC channel, and the worker's side — /metrics answered for every
 * worker (the supervisor gathers and sums them), a reload through the admin API passed on to the
 * other workers, and the worker saying it is listening.
 */
import cluster from 'node:cluster';
import type { Registry } from 'prom-client';
import { z } from 'zod';

/** Each worker's metrics, as prom-client's `getMetricsAsJSON()` gives them. */
const MetricsJson = z.array(z.object({ name: z.string() }).loose());

/** Worker → supervisor. */
export const WorkerMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('switchyard:listening'), url: z.string() }),
  /** A /metrics scrape: the supervisor answers `metrics-text` with every worker's metrics summed. */
  z.object({ type: z.literal('switchyard:metrics'), id: z.number() }),
  /** This worker's metrics, asked for by `collect`. */
  z.object({ type: z.literal('switchyard:collected'), id: z.number(), metrics: MetricsJson }),
  /** This worker reloaded the config file (POST /v1/admin/reload): the others should too. */
  z.object({ type: z.literal('switchyard:reloaded') }),
  /** This worker has closed its listener and is about to exit: the supervisor answers `bye`. */
  z.object({ type: z.literal('switchyard:closing') }),
]);
export type WorkerMessage = z.infer<typeof WorkerMessageSchema>;

/** Supervisor → worker. */
export const SupervisorMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('switchyard:collect'), id: z.number() }),
  z.object({ type: z.literal('switchyard:metrics-text'), id: z.number(), text: z.string(), contentType: z.string() }),
  /** The answer to `closing`: every connection handed to this worker before is answered for (the worker may exit). */
  z.object({ type: z.literal('switchyard:bye') }),
]);
export type SupervisorMessage = z.infer<typeof SupervisorMessageSchema>;

/** How long a worker waits for the supervisor's summed metrics before answering with its own. */
export const METRICS_WAIT_MS = 3000;

/** What a gateway needs of its supervisor (absent when it serves alone). */
export interface ClusterLink {
  /** This worker's number (1…N), for logs. */
  readonly worker: number;
  /** Every worker's metrics summed, as /metrics answers them; undefined when the supervisor did not answer in time. */
  metrics(): Promise<{ text: string; contentType: string } | undefined>;
  /** Tells the other workers to read the config file again (this one already has). */
  reloaded(): void;
  /** Tells the supervisor this worker listens (`url`). */
  listening(url: string): void;
  /**
   * Before the process exits (its listener closed): resolves once the supervisor has answered, so no
   * connection it handed over meanwhile is lost with the process (at most FAREWELL_WAIT_MS).
   */
  farewell(): Promise<void>;
}

/**
 * How long a worker waits for the supervisor's `bye`. node:cluster hands each new connection to a
 * worker over the IPC channel and keeps it until the worker says whether it took it; a worker that
 * exits with such a message unread leaves the client's connection open in the supervisor, unanswered
 * for good (seen as hung requests during rolling restarts). Messages on the channel keep their
 * order: the supervisor's `bye`, sent after it read the worker's listener closing, comes after every
 * connection it handed over before, and the worker has answered those (not taken: handed to another)
 * by the time it reads the `bye`.
 */
export const FAREWELL_WAIT_MS = 2000;

/**
 * The link of a process started by the supervisor, or undefined in one that serves alone. `registry`
 * gives this worker's metrics when the supervisor collects them.
 */
export function workerLink(registry: () => Registry | undefined): ClusterLink | undefined {
  if (!cluster.isWorker || !process.send) return undefined;
  const send = (m: WorkerMessage): void => void process.send?.(m);
  const waiting = new Map<number, (m: { text: string; contentType: string } | undefined) => void>();
  let seq = 0;
  let onBye: (() => void) | undefined;
  process.on('message', (raw: unknown) => {
    const parsed = SupervisorMessageSchema.safeParse(raw);
    if (!parsed.success) return;
    const m = parsed.data;
    if (m.type === 'switchyard:collect') {
      const r = registry();
      void (r ? r.getMetricsAsJSON() : Promise.resolve([])).then((metrics) => send({ type: 'switchyard:collected', id: m.id, metrics: metrics as unknown as z.infer<typeof MetricsJson> }));
    } else if (m.type === 'switchyard:bye') {
      onBye?.();
    } else {
      waiting.get(m.id)?.({ text: m.text, contentType: m.contentType });
      waiting.delete(m.id);
    }
  });
  return {
    worker: Number(process.env['SWITCHYARD_WORKER'] ?? cluster.worker?.id ?? 0),
    metrics: () =>
      new Promise((resolve) => {
        const id = ++seq;
        const timer = setTimeout(() => {
          waiting.delete(id);
          resolve(undefined);
        }, METRICS_WAIT_MS);
        waiting.set(id, (m) => {
          clearTimeout(timer);
          resolve(m);
        });
        send({ type: 'switchyard:metrics', id });
      }),
    reloaded: () => send({ type: 'switchyard:reloaded' }),
    listening: (url) => send({ type: 'switchyard:listening', url }),
    farewell: () =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FAREWELL_WAIT_MS);
        onBye = () => {
          clearTimeout(timer);
          resolve();
        };
        send({ type: 'switchyard:closing' });
      }),
  };
}
