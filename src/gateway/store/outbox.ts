/**
 * The outbox: records the store had not taken when the gateway stopped (an outage still going on at
 * shutdown), kept in a local JSON Lines file and handed back to the store at the next start, so a
 * graceful stop during a Redis outage loses no decision, spend or feedback. Each record is one of the
 * store's fact writes (`Fact`), validated when read back.
 *
 * The journal covers a process that is killed (SIGKILL, out of memory, the machine lost) during an
 * outage: each record the store refuses is appended to `<outbox>.journal-<pid>-<start>` as it is queued, a
 * `#n` line marks the first n as written once the store takes them, and the file goes when the queue
 * is empty. A start claims the outbox and the journals of processes no longer running (or of an
 * earlier process with its own pid: a restarted container's gateway is often pid 1). A crash while
 * a record is being written may write it again at the next start: decisions, spend (by request id),
 * feedback (by request, score and time) and kept documents count once all the same.
 *
 * Several gateways on one host may share the file: each appends its records in one write at stop,
 * and at start claims the whole file by renaming it (only one rename succeeds) before reading it.
 */
import { appendFileSync, existsSync, readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
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
  canary: z.boolean().optional(),
});

/** One write of what happened, as data (so it can wait in memory, and on disk at a stop). */
export type Fact =
  | { readonly op: 'recordDecision'; readonly decision: DecisionRecord }
  | { readonly op: 'addSpend'; readonly keyId: string; readonly usd: number; readonly time: number; readonly id?: string }
  | { readonly op: 'recordFeedback'; readonly requestId: string; readonly score: number; readonly time: number }
  | { readonly op: 'putExpiring'; readonly kind: ExpiringKind; readonly id: string; readonly text: string; readonly expiresAt: number };

/** A line of the outbox file. */
export const FactSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('recordDecision'), decision: DecisionSchema }),
  z.object({ op: z.literal('addSpend'), keyId: z.string(), usd: z.number(), time: z.number(), id: z.string().optional() }),
  z.object({ op: z.literal('recordFeedback'), requestId: z.string(), score: z.number(), time: z.number() }),
  z.object({ op: z.literal('putExpiring'), kind: z.enum(['prompt', 'response', 'cache']), id: z.string(), text: z.string(), expiresAt: z.number() }),
]);

/** Writes a fact to the store. */
export function applyFact(store: GatewayStore, f: Fact): Promise<void> {
  switch (f.op) {
    case 'recordDecision':
      return store.recordDecision(f.decision);
    case 'addSpend':
      return store.addSpend(f.keyId, f.usd, f.time, f.id);
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
  if (kept.length > 0) appendFacts(path, kept, cipher);
  return kept.length;
}

/** Appends facts, one line each, in one write (sealed when a cipher is given). */
export function appendFacts(path: string, facts: readonly Fact[], cipher?: Cipher): void {
  const line = (f: Fact): string => (cipher ? cipher.seal(JSON.stringify(f)) : JSON.stringify(f));
  appendFileSync(path, facts.map((f) => `${line(f)}\n`).join(''), { mode: 0o600 });
}

/** This process's journal of the records it holds while the store is down (named by its pid and start). */
const STARTED = Date.now().toString(36);
export function journalPath(outbox: string, pid: number = process.pid, started: string = STARTED): string {
  return `${outbox}.journal-${pid}-${started}`;
}

/** Appends `#n`: the journal's first n records are written (or dropped), a restart skips them. */
export function markJournal(path: string, n: number): void {
  appendFileSync(path, `#${n}\n`, { mode: 0o600 });
}

/** The journals beside `outbox` of processes no longer running (a killed gateway's records). */
export function orphanJournals(outbox: string): string[] {
  const dir = dirname(outbox);
  const prefix = `${basename(outbox)}.journal-`;
  const own = basename(journalPath(outbox));
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(prefix) && n !== own && /^\d+-[0-9a-z]+$/.test(n.slice(prefix.length)))
    .filter((n) => {
      const pid = Number(n.slice(prefix.length).split('-')[0]);
      if (pid === process.pid) return true; // an earlier process that had this pid
      try {
        process.kill(pid, 0); // running: another gateway's (or, rarely, a reused pid's: claimed once it ends)
        return false;
      } catch (e) {
        return (e as NodeJS.ErrnoException).code === 'ESRCH';
      }
    })
    .map((n) => join(dir, n));
}

/** The record lines of an outbox or journal not written yet: after the first n, where `#n` marks (journals) say so. */
function waitingLines(text: string): string[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const mark = /^#\d+$/;
  const written = lines.filter((l) => mark.test(l)).reduce((n, l) => Math.max(n, Number(l.slice(1))), 0);
  return lines.filter((l) => !mark.test(l)).slice(written);
}

/** How many records a file (outbox or journal) holds that are not written yet, without claiming it. */
export function waitingIn(path: string): number {
  return existsSync(path) ? waitingLines(readFileSync(path, 'utf8')).length : 0;
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
  const rest = waitingLines(readFileSync(mine, 'utf8'));
  unlinkSync(mine);
  const facts: Fact[] = [];
  for (const line of rest) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(cipher ? (cipher.open(line) ?? '') : line); // a line sealed with a key no longer configured: invalid
    } catch {
      continue;
    }
    const r = FactSchema.safeParse(parsed);
    // zod's optional fields are `T | undefined` where the record's are `T`: the same values
    if (r.success) facts.push(r.data as Fact);
  }
  return { facts, invalid: rest.length - facts.length };
}
