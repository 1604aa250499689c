/**
 * The outbox: records the store had not taken when the gateway stopped (an outage still going on at
 * shutdown), kept in a local JSON Lines file and handed back to the store at the next start, so a
 * graceful stop during a Redis outage loses no decision, spend or feedback. Each record is one of the
 * store's fact writes (`Fact`), validated when read back. A process killed without a graceful stop
 * still loses what it held in memory.
 *
 * Several gateways on one host may share the file: each appends its records in one write at stop,
 * and at start claims the whole file by renaming it (only one rename succeeds) before reading it.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { z } from 'zod';
import type { Cipher } from './encryption.js';
import type { DecisionRecord, ExpiringKind, GatewayStore } from './store.js';

const CandidateSchema = z.object({ model: z.string(), quality: z.number().optional(), cost: z.number().optional(), utility: z.number().optional() });

const DecisionSchema = z.object({
  requestId: z.string().min(1),
  time: z.number(),
  route: z.string(),
  keyId: z.string().nullable(),
  lambda: z.number(),
  chosen: z.string(),
  answered: z.string().nullable(),
  reason: z.string(),
  candidates: z.array(CandidateSchema),
  costUsd: z.number(),
  latencyMs: z.number(),
  status: z.number().int(),
  prompt: z.string().nullable(),
  tags: z.record(z.string(), z.string()).optional(),
  shadow: z.object({ model: z.string(), quality: z.number().optional(), cost: z.number().optional() }).optional(),
});

/** One write of what happened, as data (so it can wait in memory, and on disk at a stop). */
export type Fact =
  | { readonly op: 'recordDecision'; readonly decision: DecisionRecord }
  | { readonly op: 'addSpend'; readonly keyId: string; readonly usd: number; readonly time: number }
  | { readonly op: 'recordFeedback'; readonly requestId: string; readonly score: number; readonly time: number }
  | { readonly op: 'putExpiring'; readonly kind: ExpiringKind; readonly id: string; readonly text: string; readonly expiresAt: number };

/** A line of the outbox file. */
export const FactSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('recordDecision'), decision: DecisionSchema }),
  z.object({ op: z.literal('addSpend'), keyId: z.string(), usd: z.number(), time: z.number() }),
  z.object({ op: z.literal('recordFeedback'), requestId: z.string(), score: z.number(), time: z.number() }),
  z.object({ op: z.literal('putExpiring'), kind: z.enum(['prompt', 'response', 'cache']), id: z.string(), text: z.string(), expiresAt: z.number() }),
]);

/** Writes a fact to the store. */
export function applyFact(store: GatewayStore, f: Fact): Promise<void> {
  switch (f.op) {
    case 'recordDecision':
      return store.recordDecision(f.decision);
    case 'addSpend':
      return store.addSpend(f.keyId, f.usd, f.time);
    case 'recordFeedback':
      return store.recordFeedback(f.requestId, f.score, f.time);
    case 'putExpiring':
      return store.putExpiring(f.kind, f.id, f.text, f.expiresAt);
  }
}

/**
 * Appends facts to the outbox file in one write (owner-only permissions: kept prompts and responses
 * are user text). Cached answers are not kept: they can be asked again.
 */
export function spill(path: string, facts: readonly Fact[], cipher?: Cipher): number {
  const kept = facts.filter((f) => !(f.op === 'putExpiring' && f.kind === 'cache'));
  const line = (f: Fact): string => (cipher ? cipher.seal(JSON.stringify(f)) : JSON.stringify(f));
  if (kept.length > 0) appendFileSync(path, kept.map((f) => `${line(f)}\n`).join(''), { mode: 0o600 });
  return kept.length;
}

export interface Claimed {
  readonly facts: Fact[];
  /** Lines that were not a valid record (a truncated last line after a crash mid-write, an edit, a key no longer configured): skipped. */
  readonly invalid: number;
}

/** Takes the outbox's records (and removes the file); undefined when there is none or another process claimed it first. */
export function claim(path: string, now: number = Date.now(), cipher?: Cipher): Claimed | undefined {
  if (!existsSync(path)) return undefined;
  const mine = `${path}.${process.pid}.${now}.claimed`;
  try {
    renameSync(path, mine);
  } catch {
    return undefined; // another gateway took it
  }
  const facts: Fact[] = [];
  let invalid = 0;
  for (const line of readFileSync(mine, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(cipher ? (cipher.open(line) ?? '') : line); // a line sealed with a key no longer configured: invalid
    } catch {
      invalid++;
      continue;
    }
    const r = FactSchema.safeParse(parsed);
    // zod's optional fields are `T | undefined` where the record's are `T`: the same values
    if (r.success) facts.push(r.data as Fact);
    else invalid++;
  }
  unlinkSync(mine);
  return { facts, invalid };
}
