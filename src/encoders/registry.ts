/** Encoders by name (`hashing`, `use-lite`, `openai-compatible`), from a CLI spec or an artifact's EncoderSpec. */
import { SwitchyardError } from '../core/errors.js';
import type { Encoder, EncoderSpec } from '../spec/encoder.js';
import { CachedEncoder } from './cache.js';
import { ConcatEncoder } from './concat.js';
import { HashingEncoder } from './hashing.js';
import { OnnxEncoder } from './onnx.js';
import { OpenAICompatibleEncoder } from './openai-compatible.js';
import { UseLiteEncoder } from './use-lite.js';

export const ENCODERS = ['hashing', 'use-lite', 'onnx', 'openai-compatible', 'concat'] as const;

export interface EncoderDeps {
  readonly fetch?: typeof fetch;
  /** On-disk embedding cache folder (evaluation runs); default: `SWITCHYARD_CACHE_DIR` if set. */
  readonly cacheDir?: string;
}

/** `name` or `name:key=value;key=value` → an EncoderSpec without state. */
export function parseEncoderSpec(text: string): { id: string; config: Record<string, unknown> } {
  const [id, rest] = text.split(/:(.*)/s, 2) as [string, string | undefined];
  const config: Record<string, unknown> = {};
  for (const pair of rest ? rest.split(';') : []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new SwitchyardError('invalid_argument', `encoder "${text}": expected key=value, got "${pair}"`);
    const v = pair.slice(eq + 1);
    config[pair.slice(0, eq)] = v === 'true' ? true : v === 'false' ? false : v !== '' && Number.isFinite(Number(v)) ? Number(v) : v;
  }
  if (!(ENCODERS as readonly string[]).includes(id)) throw new SwitchyardError('invalid_argument', `unknown encoder "${id}" (known: ${ENCODERS.join(', ')})`);
  return { id, config };
}

function build(id: string, config: Record<string, unknown>, state: unknown, deps: EncoderDeps): Encoder {
  switch (id) {
    case 'hashing':
      return new HashingEncoder(config, state);
    case 'use-lite':
      return new UseLiteEncoder(config);
    case 'onnx':
      return new OnnxEncoder(config as never);
    case 'openai-compatible':
      return new OpenAICompatibleEncoder(config as never, deps.fetch ? { fetch: deps.fetch } : {});
    case 'concat': {
      // from a CLI spec: parts=a+b (each part a plain encoder name); from an artifact: state.parts (full specs)
      const saved = (state as { parts?: EncoderSpec[] } | undefined)?.parts;
      // each part is cached on its own, so parts shared with other routers hit the cache
      if (saved) return new ConcatEncoder(saved.map((p) => cached(build(p.id, { ...(p.config ?? {}) }, p.state, deps), deps)));
      const names = String(config['parts'] ?? '').split('+').filter(Boolean);
      return new ConcatEncoder(names.map((n) => cached(build(n, {}, undefined, deps), deps)));
    }
    default:
      throw new SwitchyardError('invalid_argument', `unknown encoder "${id}" (known: ${ENCODERS.join(', ')})`);
  }
}

function cached(e: Encoder, deps: EncoderDeps): CachedEncoder {
  const dir = deps.cacheDir ?? (process.env['SWITCHYARD_CACHE_DIR'] || undefined);
  return new CachedEncoder(e, dir ? { dir } : {});
}

export function createEncoder(spec: string, deps: EncoderDeps = {}): CachedEncoder {
  const { id, config } = parseEncoderSpec(spec);
  return cached(build(id, config, undefined, deps), deps);
}

export function encoderFromSpec(spec: EncoderSpec, deps: EncoderDeps = {}): CachedEncoder {
  const e = build(spec.id, { ...(spec.config ?? {}) }, spec.state, deps);
  if (e.dim !== spec.dim) throw new SwitchyardError('artifact_invalid', `encoder ${spec.id}: artifact says ${spec.dim}-d, this build gives ${e.dim}-d`);
  return cached(e, deps);
}
