/**
 * The supervisor of `server.workers` > 1: it starts that many gateway processes (node:cluster; they
 * share the listening port, the supervisor handing each new connection to the next), restarts one that dies,
 * sends SIGHUP (reload) and SIGTERM/SIGINT (drain and stop) on to every worker, and sums the
 * workers' metrics for whichever of them is scraped. It serves nothing itself and holds no state:
 * the workers share the store as replicas do.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Counter, Gauge, Registry } from 'prom-client';
import { MetricsGatherings } from './metrics-gathering.js';
import { METRICS_WAIT_MS, WorkerMessageSchema, type SupervisorMessage } from './worker-link.js';

/** More restarts than this within RESTART_WINDOW_MS: something is wrong beyond one process; the supervisor gives up. */
export const MAX_RESTARTS = 5;
export const RESTART_WINDOW_MS = 60_000;

/** The supervisor's own metrics, added to the workers' summed ones. */
export function supervisorMetrics(): { registry: Registry; live: Gauge; restarts: Counter } {
  const registry = new Registry();
  const live = new Gauge({ name: 'switchyard_workers', help: 'Gateway worker processes listening (server.workers)', registers: [registry] });
  const restarts = new Counter({ name: 'switchyard_worker_restarts_total', help: 'Worker processes that died and were started again', registers: [registry] });
  return { registry, live, restarts };
}

export interface SupervisorOptions {
  readonly workers: number;
  /** One line for the operator (stderr). */
  readonly say: (line: string) => void;
  /** Once every worker listens: the URL they serve. */
  readonly onListening: (url: string) => void;
}

/**
 * Runs the workers until a signal stops them (resolves with the exit code: 0 after a clean stop) or
 * they cannot be kept running (a worker that failed before all listened: its exit code; too many restarts: 1).
 */
export function superviseWorkers(options: SupervisorOptions): Promise<number> {
  const { workers: count, say } = options;
  const { registry, live, restarts } = supervisorMetrics();
  /** Worker number (1…N) → its process, while it runs. */
  const byNumber = new Map<number, Worker>();
  const listening = new Set<number>();
  const restartTimes: number[] = [];
  let stopping = false;
  let announced = false;
  /** Scrapes being gathered: a worker that does not answer in time is left out (its counters reappear at the next). */
  const gatherings = new MetricsGatherings<Worker>(METRICS_WAIT_MS - 500, (g) => {
    void (async () => {
      let text: string;
      try {
        text = (await AggregatorRegistry.aggregate([...g.got]).metrics()) + (await registry.metrics());
      } catch (e) {
        text = `# switchyard: the workers' metrics could not be summed: ${(e as Error).message}\n${await registry.metrics()}`;
      }
      const reply: SupervisorMessage = { type: 'switchyard:metrics-text', id: g.askerId, text, contentType: registry.contentType };
      if (g.asker.isConnected()) g.asker.send(reply);
    })();
  });

  return new Promise<number>((resolve) => {
    const finish = (code: number): void => {
      gatherings.clear();
      for (const s of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.removeListener(s, s === 'SIGHUP' ? onHup : stop);
      resolve(code);
    };
    /** The supervisor's exit code once every worker has stopped. */
    let exitCode = 0;
    const stopAll = (code: number): void => {
      stopping = true;
      exitCode = code;
      if (byNumber.size === 0) return finish(code);
      for (const w of byNumber.values()) w.process.kill('SIGTERM');
    };
    const stop = (): void => {
      if (stopping) return;
      say(`switchyard: stopping ${byNumber.size} workers (each drains its requests)`);
      stopAll(0);
    };
    /** SIGHUP to the listening workers but `except` (one still starting reads the file anyway, and would die of a SIGHUP it has no handler for yet). */
    const reload = (except?: number): void => {
      for (const [k, w] of byNumber) if (k !== except && listening.has(k)) w.process.kill('SIGHUP');
    };
    const onHup = (): void => reload();
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', onHup);

    const start = (n: number): void => {
      const w = cluster.fork({ SWITCHYARD_WORKER: String(n) });
      byNumber.set(n, w);
      w.on('message', (raw: unknown) => {
        const parsed = WorkerMessageSchema.safeParse(raw);
        if (!parsed.success) return;
        const m = parsed.data;
        if (m.type === 'switchyard:listening') {
          listening.add(n);
          say(`switchyard: worker ${n} (pid ${w.process.pid}) listening`);
          live.set(listening.size);
          if (!announced && listening.size === count) {
            announced = true;
            options.onListening(m.url);
          }
        } else if (m.type === 'switchyard:metrics') {
          const asked = [...byNumber.entries()].filter(([k, x]) => listening.has(k) && x.isConnected()).map(([k]) => k);
          gatherings.start(w, m.id, asked, (k, id) => byNumber.get(k)?.send({ type: 'switchyard:collect', id } satisfies SupervisorMessage));
        } else if (m.type === 'switchyard:collected') {
          gatherings.collected(n, m.id, m.metrics);
        } else reload(n);
      });
      w.on('disconnect', () => gatherings.gone(n)); // it can no longer answer: scrapes stop waiting for it
      w.on('exit', (code, signal) => {
        byNumber.delete(n);
        listening.delete(n);
        live.set(listening.size);
        gatherings.gone(n);
        if (stopping) {
          if (code !== 0 && code !== null) exitCode ||= 1;
          if (byNumber.size === 0) finish(exitCode);
          return;
        }
        const how = signal ? `was killed (${signal})` : `exited (code ${code})`;
        if (!announced) {
          // its own message says why (a port in use, a store it cannot open): the supervisor exits with its code
          say(`switchyard: worker ${n} ${how} before every worker listened: stopping the others`);
          return stopAll(typeof code === 'number' && code !== 0 ? code : 1);
        }
        const now = Date.now();
        restartTimes.push(now);
        while ((restartTimes[0] as number) < now - RESTART_WINDOW_MS) restartTimes.shift();
        if (restartTimes.length > MAX_RESTARTS) {
          say(`switchyard: worker ${n} ${how}; ${restartTimes.length} restarts within ${RESTART_WINDOW_MS / 1000} s: stopping`);
          return stopAll(1);
        }
        restarts.inc();
        say(`switchyard: worker ${n} (pid ${w.process.pid}) ${how}; starting another`);
        start(n);
      });
    };
    for (let n = 1; n <= count; n++) start(n);
  });
}
