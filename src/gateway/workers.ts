/**
 * The supervisor of `server.workers` > 1: it starts that many gateway processes (node:cluster; they
 * share the listening port, the supervisor handing each new connection to the next), restarts one that dies,
 * sends SIGHUP (reload) and SIGTERM/SIGINT (drain and stop) on to every worker, replaces them one
 * at a time on SIGUSR2 (a rolling restart: new code and config without downtime), and sums the
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
 * SIGUSR2 rolls them: one at a time, a new process is started and, once it listens, the one it
 * replaces drains and stops — new code on disk and the whole config file taken up without a
 * connection refused (a new one that fails to start ends the roll; the running ones stay).
 */
export function superviseWorkers(options: SupervisorOptions): Promise<number> {
  const { workers: count, say } = options;
  const { registry, live, restarts } = supervisorMetrics();
  /** Worker number (1…N) → the process serving as it. */
  const byNumber = new Map<number, Worker>();
  /** Every process started and not yet exited: serving, starting as a replacement, or draining. */
  const alive = new Set<Worker>();
  const listening = new Set<Worker>();
  /** A new process (rolling restart) → the one it replaces once it listens, and what to tell the roll. */
  const replacing = new Map<Worker, { readonly old: Worker | undefined; readonly done: (ok: boolean) => void }>();
  /** Old processes told to stop by a rolling restart: their exit is expected. */
  const retiring = new Map<Worker, () => void>();
  const restartTimes: number[] = [];
  let stopping = false;
  let announced = false;
  let rolling = false;
  const serving = (): Worker[] => [...byNumber.values()].filter((w) => listening.has(w));
  /** Scrapes being gathered (by cluster worker id): a worker that does not answer in time is left out (its counters reappear at the next). */
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
      for (const s of ['SIGTERM', 'SIGINT'] as const) process.removeListener(s, stop);
      process.removeListener('SIGHUP', onHup);
      process.removeListener('SIGUSR2', onRoll);
      resolve(code);
    };
    /** The supervisor's exit code once every worker has stopped. */
    let exitCode = 0;
    const stopAll = (code: number): void => {
      stopping = true;
      exitCode = code;
      if (alive.size === 0) return finish(code);
      for (const w of alive) w.process.kill('SIGTERM');
    };
    const stop = (): void => {
      if (stopping) return;
      say(`switchyard: stopping ${alive.size} workers (each drains its requests)`);
      stopAll(0);
    };
    /** SIGHUP to the serving workers but `except` (one still starting reads the file anyway, and would die of a SIGHUP it has no handler for yet). */
    const reload = (except?: Worker): void => {
      for (const w of serving()) if (w !== except) w.process.kill('SIGHUP');
    };
    const onHup = (): void => reload();
    const onRoll = (): void => void roll();
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', onHup);
    process.on('SIGUSR2', onRoll);

    /** Replaces each worker in turn by a new process (SIGUSR2). */
    const roll = async (): Promise<void> => {
      if (stopping || rolling || !announced) return say(`switchyard: SIGUSR2 ignored: ${stopping ? 'stopping' : rolling ? 'a rolling restart is under way' : 'the workers are still starting'}`);
      rolling = true;
      say(`switchyard: rolling restart of ${count} workers, one at a time`);
      let rolled = 0;
      for (let n = 1; n <= count && !stopping; n++) {
        const old = byNumber.get(n);
        const ok = await new Promise<boolean>((done) => start(n, { old, done }));
        if (!ok) {
          say(`switchyard: rolling restart stopped after ${rolled} of ${count}: the new worker ${n} did not start (its message above); the running workers stay`);
          break;
        }
        rolled++;
      }
      if (rolled === count) say(`switchyard: rolling restart done: ${count} new workers`);
      rolling = false;
    };

    const start = (n: number, replaces?: { readonly old: Worker | undefined; readonly done: (ok: boolean) => void }): void => {
      const w = cluster.fork({ SWITCHYARD_WORKER: String(n) });
      alive.add(w);
      if (replaces) replacing.set(w, replaces);
      else byNumber.set(n, w);
      w.on('message', (raw: unknown) => {
        const parsed = WorkerMessageSchema.safeParse(raw);
        if (!parsed.success) return;
        const m = parsed.data;
        if (m.type === 'switchyard:listening') {
          listening.add(w);
          say(`switchyard: worker ${n} (pid ${w.process.pid}) listening`);
          const r = replacing.get(w);
          if (r) {
            // the new one serves: the old one drains (its connections close as their requests end) and stops
            replacing.delete(w);
            byNumber.set(n, w);
            const old = r.old;
            if (old && alive.has(old)) {
              retiring.set(old, () => r.done(true));
              listening.delete(old);
              old.process.kill('SIGTERM');
            } else r.done(true);
          }
          live.set(serving().length);
          if (!announced && serving().length === count) {
            announced = true;
            options.onListening(m.url);
          }
        } else if (m.type === 'switchyard:metrics') {
          const asked = serving().filter((x) => x.isConnected());
          gatherings.start(w, m.id, asked.map((x) => x.id), (id, q) => asked.find((x) => x.id === id)?.send({ type: 'switchyard:collect', id: q } satisfies SupervisorMessage));
        } else if (m.type === 'switchyard:collected') {
          gatherings.collected(w.id, m.id, m.metrics);
        } else if (m.type === 'switchyard:closing') {
          // read after node:cluster's own message that its listener closed: no connection goes to it any more (worker-link.ts, FAREWELL_WAIT_MS)
          if (w.isConnected()) w.send({ type: 'switchyard:bye' } satisfies SupervisorMessage);
        } else reload(w);
      });
      w.on('disconnect', () => gatherings.gone(w.id)); // it can no longer answer: scrapes stop waiting for it
      w.on('exit', (code, signal) => {
        alive.delete(w);
        listening.delete(w);
        gatherings.gone(w.id);
        const current = byNumber.get(n) === w;
        if (current) byNumber.delete(n);
        live.set(serving().length);
        if (stopping) {
          if (code !== 0 && code !== null) exitCode ||= 1;
          replacing.get(w)?.done(false);
          retiring.get(w)?.();
          if (alive.size === 0) finish(exitCode);
          return;
        }
        const how = signal ? `was killed (${signal})` : `exited (code ${code})`;
        const retired = retiring.get(w);
        if (retired) {
          // replaced by a rolling restart: expected
          retiring.delete(w);
          say(`switchyard: worker ${n} (pid ${w.process.pid}) replaced, ${how}`);
          return retired();
        }
        const replacement = replacing.get(w);
        if (replacement) {
          // a new process that did not start (bad code or config on disk): the old one goes on serving
          replacing.delete(w);
          say(`switchyard: the new worker ${n} (pid ${w.process.pid}) ${how} before it listened`);
          if (!byNumber.has(n)) start(n); // the one it was to replace died meanwhile
          return replacement.done(false);
        }
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
        // a replacement already on its way (rolling restart) takes its place
        const coming = [...replacing.values()].some((r) => r.old === w);
        say(`switchyard: worker ${n} (pid ${w.process.pid}) ${how}; ${coming ? 'its replacement is starting' : 'starting another'}`);
        if (current && !coming) start(n);
      });
    };
    for (let n = 1; n <= count; n++) start(n);
  });
}
