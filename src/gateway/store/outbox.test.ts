/**
 * The outbox: writes a store still refused at close are kept on disk and written at the next start.
 * A real SQLite store behind a switch that makes every call fail (an outage).
 */
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createCipher } from './encryption.js';
import { claim, journalPath } from './outbox.js';
import { ResilientStore } from './resilient-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { DecisionRecord, GatewayStore } from './store.js';

/** A store whose calls (but close) fail while `outage.down` is set. */
function flaky(inner: GatewayStore): { store: GatewayStore; outage: { down: boolean } } {
  const outage = { down: false };
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => (outage.down && prop !== 'close' ? Promise.reject(new Error('connection refused')) : (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
  return { store, outage };
}

const decision = (requestId: string): DecisionRecord => ({
  requestId,
  time: 1_700_000_000_000,
  route: 'auto',
  keyId: 'team',
  lambda: 0.5,
  chosen: 'small',
  answered: 'small',
  reason: 'knn: small predicted quality 0.810',
  candidates: [{ model: 'small', quality: 0.81, cost: 1e-5, utility: 0.8 }, { model: 'large' }],
  costUsd: 0.00002,
  latencyMs: 120,
  status: 200,
  prompt: null,
});
const hooks = (outbox: string, errors: string[] = []) => ({ onError: (op: string) => void errors.push(op), onPending: () => undefined, outbox, retryMs: 50 });

describe('a store whose calls hang (ioredis Cluster while a master is away)', () => {
  it('counts a call unsettled past deadlineMs as failed: the request goes on, the write waits in memory and is written once the store answers', async () => {
    const inner = new SqliteStore(':memory:');
    const hang = { on: true };
    const store = new Proxy(inner, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => (hang.on && prop !== 'close' ? new Promise(() => undefined) : (value as (...a: unknown[]) => unknown).apply(target, args));
      },
    });
    const errors: string[] = [];
    const resilient = new ResilientStore(store, { onError: (op) => void errors.push(op), onPending: () => undefined, retryMs: 50, deadlineMs: 100 });
    const t = performance.now();
    await resilient.recordDecision(decision('hung-1')); // answered after the deadline, not never
    expect(performance.now() - t).toBeLessThan(1000);
    expect(errors).toEqual(['recordDecision']);
    expect(resilient.pendingWrites).toBe(1);
    await expect(resilient.getDecision('hung-1')).rejects.toThrow(/store/); // a read while down fails at once
    hang.on = false; // the store answers again: the retry writes what waited
    for (let k = 0; k < 50 && resilient.pendingWrites > 0; k++) await new Promise((r) => setTimeout(r, 20));
    expect(resilient.pendingWrites).toBe(0);
    expect((await resilient.getDecision('hung-1'))?.requestId).toBe('hung-1');
    await resilient.close();
  });
});

describe('readiness after an outage', () => {
  it('a probe that finds the store answering writes what waited and ends the outage: ready means reads answer', async () => {
    const { store, outage } = flaky(new SqliteStore(':memory:'));
    // no background retry within the test (retryMs long): only the probe can end the outage
    const resilient = new ResilientStore(store, { onError: () => undefined, onPending: () => undefined, retryMs: 60_000 });
    outage.down = true;
    await resilient.recordDecision(decision('req_during'));
    await expect(resilient.ready()).rejects.toThrow(/connection refused/);
    outage.down = false;
    await expect(resilient.getDecision('req_during')).rejects.toThrow(/failed recently/); // down until something finds it back
    await resilient.ready();
    expect(resilient.pendingWrites).toBe(0);
    expect((await resilient.getDecision('req_during'))?.requestId).toBe('req_during');

    // down with nothing queued (a read failed): the probe ends it too
    outage.down = true;
    await expect(resilient.getDecision('req_during')).rejects.toThrow(/connection refused/);
    outage.down = false;
    await resilient.ready();
    expect((await resilient.getDecision('req_during'))?.requestId).toBe('req_during');
    await resilient.close();
  });
});

describe('outbox', () => {
  it('keeps the writes a store refuses at close and writes them, in order, at the next start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-outbox-'));
    const outbox = join(dir, 'outbox.jsonl');
    const { store, outage } = flaky(new SqliteStore(join(dir, 'a.db')));
    const first = new ResilientStore(store, hooks(outbox));
    outage.down = true;
    await first.recordDecision(decision('req_1'));
    await first.addSpend('team', 0.25, 1_700_000_000_000);
    await first.recordFeedback('req_1', 0.9, 1_700_000_000_500);
    await first.putExpiring('prompt', 'req_1', 'What is 2 + 2?', 1_800_000_000_000);
    await first.putExpiring('cache', 'k1', '{"answer":1}', 1_800_000_000_000); // disposable: not kept
    expect(first.pendingWrites).toBe(5);
    await first.close();
    expect(first.spilled).toBe(4);
    expect(first.pendingWrites).toBe(0);
    expect(readFileSync(outbox, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { op: string }).op)).toEqual(['recordDecision', 'addSpend', 'recordFeedback', 'putExpiring']);
    expect(statSync(outbox).mode & 0o777).toBe(0o600); // prompts are user text

    // the next process: the store answers again
    const second = new ResilientStore(new SqliteStore(join(dir, 'a.db')), hooks(outbox));
    expect(second.restore()).toEqual({ restored: 4, invalid: 0 });
    expect(existsSync(outbox)).toBe(false);
    await second.flush();
    expect(await second.getDecision('req_1')).toEqual(decision('req_1'));
    expect(await second.spend('team', 0)).toBeCloseTo(0.25);
    expect(await second.listFeedback()).toEqual([{ requestId: 'req_1', score: 0.9, time: 1_700_000_000_500 }]);
    expect(await second.getExpiring('prompt', 'req_1')).toBe('What is 2 + 2?');
    expect(await second.getExpiring('cache', 'k1')).toBeUndefined();
    await second.close();
    expect(second.spilled).toBe(0);
    expect(existsSync(outbox)).toBe(false); // nothing left: no file
  });

  it('skips lines that are not records (a torn last line), and appends when two processes stop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-outbox-'));
    const outbox = join(dir, 'outbox.jsonl');
    for (const id of ['req_a', 'req_b']) {
      const { store, outage } = flaky(new SqliteStore(':memory:'));
      const s = new ResilientStore(store, hooks(outbox));
      outage.down = true;
      await s.recordDecision(decision(id));
      await s.close();
    }
    appendFileSync(outbox, '{"op":"addSpend","keyId":"team","usd":"a lot"}\n{"op":"recordDeci');
    const got = claim(outbox);
    expect(got?.facts.map((f) => (f.op === 'recordDecision' ? f.decision.requestId : f.op))).toEqual(['req_a', 'req_b']);
    expect(got?.invalid).toBe(2);
    expect(claim(outbox)).toBeUndefined(); // claimed once
  });

  it('seals its lines with the store cipher (store.encryption), and skips lines no configured key opens', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-outbox-'));
    const outbox = join(dir, 'outbox.jsonl');
    const cipher = createCipher({ keyEnv: 'K', previousKeyEnvs: [] }, { K: randomBytes(32).toString('base64') });
    const { store, outage } = flaky(new SqliteStore(':memory:'));
    const s = new ResilientStore(store, { ...hooks(outbox), cipher });
    outage.down = true;
    await s.putExpiring('prompt', 'req_1', 'a private question', 1_800_000_000_000);
    await s.close();
    expect(readFileSync(outbox, 'utf8')).not.toContain('private');
    expect(readFileSync(outbox, 'utf8')).toMatch(/^enc:v1:/);
    const other = createCipher({ keyEnv: 'K', previousKeyEnvs: [] }, { K: randomBytes(32).toString('base64') });
    appendFileSync(outbox, `${other.seal('{"op":"addSpend","keyId":"x","usd":1,"time":1}')}\n`);
    const got = claim(outbox, Date.now(), cipher);
    expect(got?.facts).toEqual([{ op: 'putExpiring', kind: 'prompt', id: 'req_1', text: 'a private question', expiresAt: 1_800_000_000_000 }]);
    expect(got?.invalid).toBe(1);
  });

  it('records nothing to disk when the store takes every write, and reports a store still down without an outbox', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-outbox-'));
    const outbox = join(dir, 'outbox.jsonl');
    const ok = new ResilientStore(new SqliteStore(':memory:'), hooks(outbox));
    await ok.recordDecision(decision('req_ok'));
    await ok.close();
    expect(existsSync(outbox)).toBe(false);

    const { store, outage } = flaky(new SqliteStore(':memory:'));
    const errors: string[] = [];
    const none = new ResilientStore(store, { onError: (op) => void errors.push(op), onPending: () => undefined });
    outage.down = true;
    await none.recordDecision(decision('req_lost'));
    await none.close();
    expect(none.pendingWrites).toBe(1); // the gateway logs these as lost
    expect(errors).toContain('recordDecision');
  });

  it('journals the writes it queues while the store is down, and removes the journal once they are written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-journal-'));
    const outbox = join(dir, 'outbox.jsonl');
    const { store, outage } = flaky(new SqliteStore(':memory:'));
    const s = new ResilientStore(store, hooks(outbox));
    await s.recordDecision(decision('req_up')); // written at once: no journal
    expect(existsSync(journalPath(outbox))).toBe(false);
    outage.down = true;
    await s.recordDecision(decision('req_1'));
    await s.addSpend('team', 0.25, 1_700_000_000_000, 'req_1');
    const journal = readFileSync(journalPath(outbox), 'utf8').trim().split('\n');
    expect(journal.map((l) => (JSON.parse(l) as { op: string }).op)).toEqual(['recordDecision', 'addSpend']);
    expect(statSync(journalPath(outbox)).mode & 0o777).toBe(0o600);
    outage.down = false;
    await s.flush();
    expect(existsSync(journalPath(outbox))).toBe(false); // the queue is empty
    expect(await s.getDecision('req_1')).toEqual(decision('req_1'));
    await s.close();
  });

  it("writes a killed process's journal at the next start, skipping the records it marked as written", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-journal-'));
    const outbox = join(dir, 'outbox.jsonl');
    const db = join(dir, 'a.db');
    const { store, outage } = flaky(new SqliteStore(db));
    const killed = new ResilientStore(store, hooks(outbox));
    outage.down = true;
    for (const id of ['req_1', 'req_2', 'req_3']) await killed.recordDecision(decision(id));
    await killed.addSpend('team', 0.5, 1_700_000_000_000, 'req_3');
    // never closed: as if killed; an earlier process of the same pid (a restarted container's pid 1) left it
    renameSync(journalPath(outbox), `${outbox}.journal-${process.pid}-earlier`);
    appendFileSync(`${outbox}.journal-${process.pid}-earlier`, '#1\n'); // it had written req_1 before it died
    writeFileSync(`${outbox}.journal-${process.ppid}-live`, '{}\n'); // a running process's (this one's parent): left alone
    const next = new ResilientStore(new SqliteStore(db), hooks(outbox));
    expect(next.restore()).toEqual({ restored: 3, invalid: 0 });
    await next.flush();
    expect(await next.getDecision('req_1')).toBeUndefined(); // marked as written (by the store the killed process had)
    expect((await next.getDecision('req_3'))?.requestId).toBe('req_3');
    expect(await next.spend('team', 0)).toBeCloseTo(0.5);
    expect(readdirSync(dir).filter((f) => f.includes('journal'))).toEqual([`outbox.jsonl.journal-${process.ppid}-live`]);
    await next.close();
  });
});
