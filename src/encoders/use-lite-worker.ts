/**
 * A worker thread `use-lite` runs in (use-lite-pool.ts; `runUseLiteInWorker`): it
 * embeds with the very same in-process encoder and sends the vectors back (their buffers
 * transferred, not copied).
 */
import { parentPort } from 'node:worker_threads';
import { UseLiteEncoder } from './use-lite.js';

interface Job {
  readonly id: number;
  readonly texts: readonly string[];
  readonly config: { batch?: number; maxChars?: number };
}

parentPort?.on('message', (job: Job) => {
  new UseLiteEncoder(job.config)
    .embed(job.texts)
    .then((vectors) => parentPort?.postMessage({ id: job.id, vectors }, vectors.map((v) => v.buffer as ArrayBuffer)))
    .catch((e: unknown) => parentPort?.postMessage({ id: job.id, error: e instanceof Error ? e.message : String(e) }));
});
