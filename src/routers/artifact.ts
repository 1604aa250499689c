/** The versioned JSON artifact every router saves to and loads from. */
import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { SwitchyardError } from '../core/errors.js';
import { ModelCardSchema } from '../spec/dataset.js';
import type { RouterArtifact } from '../spec/router.js';

export const ARTIFACT_FORMAT = 'switchyard.router';

export const RouterArtifactSchema = z.object({
  format: z.literal(ARTIFACT_FORMAT),
  version: z.number().int().positive(),
  kind: z.string().min(1),
  models: z.array(ModelCardSchema).min(1),
  config: z.record(z.string(), z.unknown()),
  state: z.unknown(),
  encoder: z.object({ id: z.string(), dim: z.number().int().positive() }).optional(),
});

export function parseArtifact(raw: unknown, where = 'artifact'): RouterArtifact {
  const parsed = RouterArtifactSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new SwitchyardError('artifact_invalid', `${where}: not a Switchyard router artifact:\n${lines.join('\n')}`);
  }
  return parsed.data as RouterArtifact;
}

/** Checks that an artifact is of the expected kind and a version this build reads. */
export function expectArtifact(a: RouterArtifact, kind: string, maxVersion: number): void {
  if (a.kind !== kind) throw new SwitchyardError('artifact_invalid', `artifact is a "${a.kind}" router, not "${kind}"`);
  if (a.version > maxVersion) {
    throw new SwitchyardError('artifact_invalid', `artifact version ${a.version} of "${kind}" is newer than this build reads (≤ ${maxVersion})`);
  }
}

export function readArtifactFile(file: string): RouterArtifact {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new SwitchyardError('artifact_invalid', `${file}: cannot read router artifact: ${(e as Error).message}`);
  }
  return parseArtifact(raw, file);
}

export function writeArtifactFile(file: string, artifact: RouterArtifact): void {
  writeFileSync(file, JSON.stringify(artifact) + '\n');
}

/** Validates a router's own state block; a mismatch is an `artifact_invalid` error, never a crash later. */
export function parseState<T>(schema: z.ZodType<T>, state: unknown, kind: string): T {
  const parsed = schema.safeParse(state);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `state.${i.path.map(String).join('.')}: ${i.message}`);
    throw new SwitchyardError('artifact_invalid', `${kind}: artifact state does not match this router:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** A model's serving prices (USD per million tokens). */
export interface ServingPrice {
  readonly inputPricePerMTok: number;
  readonly outputPricePerMTok: number;
}

/** A price change `repriceArtifact` made: the model, its trained prices and its serving ones. */
export interface Repriced {
  readonly model: string;
  readonly from: ServingPrice;
  readonly to: ServingPrice;
}

/**
 * The artifact with the models' prices replaced by `prices` (where given and different) — in its own
 * model list and in every router artifact nested in its state (an ensemble's members, a cascade's
 * base) — so the router predicts costs, and trades them against quality, at the prices it serves at.
 * Its cost model keeps what it learnt on train (typical output lengths, the per-model correction).
 */
export function repriceArtifact(artifact: RouterArtifact, prices: ReadonlyMap<string, ServingPrice>): { artifact: RouterArtifact; changed: Repriced[] } {
  const changed = new Map<string, Repriced>();
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (typeof node !== 'object' || node === null) return node;
    const o = node as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) out[k] = walk(v);
    if (o['format'] === ARTIFACT_FORMAT && Array.isArray(o['models'])) {
      out['models'] = (o['models'] as Array<Record<string, unknown>>).map((card) => {
        const to = prices.get(String(card['id']));
        const from = { inputPricePerMTok: Number(card['inputPricePerMTok']), outputPricePerMTok: Number(card['outputPricePerMTok']) };
        if (!to || (to.inputPricePerMTok === from.inputPricePerMTok && to.outputPricePerMTok === from.outputPricePerMTok)) return card;
        changed.set(String(card['id']), { model: String(card['id']), from, to: { inputPricePerMTok: to.inputPricePerMTok, outputPricePerMTok: to.outputPricePerMTok } });
        return { ...card, inputPricePerMTok: to.inputPricePerMTok, outputPricePerMTok: to.outputPricePerMTok, priceSource: 'serving prices (gateway config)' };
      });
    }
    return out;
  };
  return { artifact: walk(artifact) as RouterArtifact, changed: [...changed.values()] };
}
