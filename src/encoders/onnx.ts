/**
 * `onnx`: a local sentence-transformer folder (config.json, tokenizer.json, tokenizer_config.json,
 * onnx/model.onnx) run by @huggingface/transformers on onnxruntime-node, mean-pooled and normalised.
 * Never touches the hub: remote models are switched off and only the given folder is read.
 * Install with ONNXRUNTIME_NODE_INSTALL=skip (its install script would fetch CUDA libraries).
 */
import { existsSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { z } from 'zod';
import { SwitchyardError } from '../core/errors.js';
import { normalizeInPlace } from '../core/vec.js';
import type { Encoder, EncoderSpec } from '../spec/encoder.js';

export const OnnxConfigSchema = z.object({
  /** Path of the model folder. */
  path: z.string().min(1),
  dim: z.number().int().positive(),
  pooling: z.enum(['mean', 'cls']).default('mean'),
  batch: z.number().int().positive().default(32),
});

type Extractor = (texts: string[], options: { pooling: 'mean' | 'cls'; normalize: boolean }) => Promise<{ data: Float32Array; dims: number[] }>;

const loaded = new Map<string, Promise<Extractor>>();

async function load(path: string): Promise<Extractor> {
  const t = await import('@huggingface/transformers');
  t.env.allowRemoteModels = false;
  t.env.allowLocalModels = true;
  t.env.localModelPath = dirname(path) + '/';
  const extractor = await t.pipeline('feature-extraction', basename(path), { local_files_only: true, dtype: 'fp32' });
  return extractor as unknown as Extractor;
}

export class OnnxEncoder implements Encoder {
  readonly id = 'onnx';
  readonly dim: number;
  private readonly config: z.infer<typeof OnnxConfigSchema>;

  constructor(config: z.input<typeof OnnxConfigSchema>) {
    const parsed = OnnxConfigSchema.safeParse(config);
    if (!parsed.success) throw new SwitchyardError('invalid_argument', `onnx encoder: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    this.config = { ...parsed.data, path: resolve(parsed.data.path) };
    this.dim = parsed.data.dim;
    if (!existsSync(resolve(this.config.path, 'onnx', 'model.onnx'))) {
      throw new SwitchyardError('invalid_argument', `onnx encoder: ${this.config.path} has no onnx/model.onnx (a local sentence-transformer folder is required; nothing is downloaded)`);
    }
  }

  get fingerprint(): string {
    return `onnx:${this.config.path}:${this.dim}:${this.config.pooling}`;
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    let p = loaded.get(this.config.path);
    if (!p) loaded.set(this.config.path, (p = load(this.config.path)));
    const extractor = await p;
    const out: Float32Array[] = [];
    for (let i = 0; i < texts.length; i += this.config.batch) {
      const chunk = texts.slice(i, i + this.config.batch).map((t) => t || ' ');
      const res = await extractor(chunk, { pooling: this.config.pooling, normalize: true });
      const d = res.dims[res.dims.length - 1] as number;
      if (d !== this.dim) throw new SwitchyardError('invalid_argument', `onnx encoder: the model gives ${d}-d vectors, configured dim ${this.dim}`);
      for (let k = 0; k < chunk.length; k++) out.push(normalizeInPlace(Float32Array.from(res.data.subarray(k * d, (k + 1) * d))));
    }
    return out;
  }

  toSpec(): EncoderSpec {
    return { id: this.id, dim: this.dim, config: { ...this.config } };
  }
}
