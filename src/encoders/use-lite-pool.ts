/**
 * Worker threads that run the `use-lite` model (the gateway does, `server.encoderWorker`): a new
 * prompt then holds a worker, not the event loop, for its 12–60 ms, so other requests and the streams
 * being relayed go on, and the encoder uses other cores. A call goes to the thread with the fewest
 * texts waiting; a thread is started only when every running one is busy, up to the number wanted.
 * A thread embeds one call at a time: batching the calls that queued meanwhile was measured and
 * bought nothing (the model's cost grows with the tokens; docs/benchmarks.md). The vectors are the
 * same as in process (the workers run the same encoder). Process-wide.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { usableCores } from '../core/cpu-limit.js';

interface Pending {
  readonly resolve: (v: Float32Array[]) => void;
  readonly reject: (e: Error) => void;
  readonly texts: number;
}

interface Thread {
  readonly thread: Worker;
  readonly pending: Map<number, Pending>;
  /** Texts sent and not answered yet. */
  load: number;
}

/** Worker threads wanted (0: embed in process). */
let wanted = 0;
const threads: Thread[] = [];
let nextId = 1;

/** Worker threads `true` allows: one per usable core (a container's CPU quota counted) but one (the event loop's), at most 4, at least 1. */
export function defaultWorkerThreads(cores = usableCores()): number {
  return Math.max(1, Math.min(4, cores - 1));
}

/** How many worker threads may run the model: `true` the default (`defaultWorkerThreads`), `false` none (in process), or a number. */
export function runUseLiteInWorker(enabled: boolean | number): void {
  wanted = enabled === true ? defaultWorkerThreads() : enabled === false ? 0 : Math.max(0, Math.floor(enabled));
  while (threads.length > wanted) void (threads.pop() as Thread).thread.terminate();
}

/** Worker threads running the model now (they start with the embeddings asked for). */
export function useLiteWorkers(): number {
  return threads.length;
}

/** The embeddings are to be made on worker threads. */
export function workersWanted(): boolean {
  return wanted > 0;
}

/** The compiled worker script: beside this module in dist/, or dist/ from the repository root when running from the TypeScript sources (tests). */
function workerScript(): string | undefined {
  const sibling = fileURLToPath(new URL('./use-lite-worker.js', import.meta.url));
  if (existsSync(sibling)) return sibling;
  const built = resolve('dist/src/encoders/use-lite-worker.js');
  return existsSync(built) ? built : undefined;
}

function startThread(script: string): Thread {
  const t: Thread = { thread: new Worker(script), pending: new Map(), load: 0 };
  t.thread.on('message', (m: { id: number; vectors?: Float32Array[]; error?: string }) => {
    const p = t.pending.get(m.id);
    t.pending.delete(m.id);
    t.load -= p?.texts ?? 0;
    if (t.pending.size === 0) t.thread.unref();
    if (m.vectors) p?.resolve(m.vectors);
    else p?.reject(new Error(`use-lite worker: ${m.error ?? 'failed'}`));
  });
  t.thread.on('error', (e) => {
    for (const p of t.pending.values()) p.reject(e);
    const k = threads.indexOf(t);
    if (k >= 0) threads.splice(k, 1); // the next call starts a fresh one
  });
  t.thread.unref();
  threads.push(t);
  return t;
}

/** Embeds on a worker thread; undefined when no worker can run (the script is not built): the caller embeds in process. */
export function embedOnWorker(texts: readonly string[], config: { batch: number; maxChars: number }): Promise<Float32Array[]> | undefined {
  let t = threads.reduce<Thread | undefined>((best, x) => (best === undefined || x.load < best.load ? x : best), undefined);
  if (t === undefined || (t.load > 0 && threads.length < wanted)) {
    const script = workerScript();
    if (script) t = startThread(script);
  }
  if (!t) return undefined;
  const chosen = t;
  const id = nextId++;
  chosen.load += texts.length;
  chosen.thread.ref(); // a job in flight keeps the process alive
  return new Promise((resolvePromise, reject) => {
    chosen.pending.set(id, { resolve: resolvePromise, reject, texts: texts.length });
    chosen.thread.postMessage({ id, texts, config });
  });
}
