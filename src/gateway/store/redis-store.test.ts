/** The Redis store against redis-servers the test starts: its connection handling, and waiting for replicas (`store.waitReplicas`). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticRows } from '../../../test/helpers/synthetic.js';
import { writeDataset } from '../../data/write.js';
import { parseGatewayConfig } from '../config.js';
import { Gateway } from '../server.js';
import { freePort, hasRedis, startProcess, startRedis, type Running } from '../../../test/helpers/processes.js';
import { RedisStore } from './redis-store.js';

if (!hasRedis) console.warn('SKIP: redis-server is not installed (apt-get install -y redis-server), so the Redis store cannot be tested');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!hasRedis)('the Redis store connection', () => {
  let redis: Running | undefined;
  const running: Running[] = [];
  afterAll(async () => {
    await redis?.stop();
    for (const r of running.reverse()) {
      r.proc.kill('SIGCONT');
      await r.stop();
    }
  });

  it('connects again when ioredis gives its connection up (a failover announced while it reconnects, ioredis #1683), but not once closed', async () => {
    redis = await startRedis();
    const store = new RedisStore({ url: redis.ready, keyPrefix: 'revive:' });
    await store.ready();
    // what ioredis does in that race: its connection ends, and every command then fails
    const client = (store as unknown as { redis: Redis }).redis;
    client.disconnect();
    await expect(store.ready()).rejects.toThrow(/Connection is closed/);
    let back = false;
    for (let k = 0; k < 40 && !back; k++) {
      await sleep(50);
      back = await store.ready().then(
        () => true,
        () => false,
      );
    }
    expect(back).toBe(true);
    await store.close();
    await sleep(400);
    expect(client.status).toBe('end'); // closed by us: it stays closed
  });

  it('with waitReplicas, resolves a durable write only once a replica holds it, or after the timeout (and says so)', async () => {
    const [mp, rp] = [await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'sy-wait-'));
    const server = (port: number, ...extra: string[]): string[] => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra];
    // the master syncs a replica at once (Redis waits 5 s by default for more replicas to come)
    const master = { ...(await startProcess('redis-server', server(mp, '--repl-diskless-sync-delay', '0'), /Ready to accept connections/)), ready: `redis://127.0.0.1:${mp}` };
    running.push(master);
    const replica = await startProcess('redis-server', server(rp, '--replicaof', '127.0.0.1', String(mp)), /MASTER <-> REPLICA sync: Finished with success/);
    running.push(replica);
    const onReplica = new Redis(`redis://127.0.0.1:${rp}`);
    const settled = (p: Promise<unknown>): (() => boolean) => {
      let done = false;
      void p.then(() => (done = true));
      return () => done;
    };
    const waiting = new RedisStore({ url: master.ready, keyPrefix: 'wait:', waitReplicas: { replicas: 1, timeoutMs: 1500 } });
    const missed: number[] = [];
    waiting.onUnreplicated = (got) => void missed.push(got);
    await waiting.ready();
    expect(await waiting.connectedReplicas()).toBe(1);
    try {
      // the replica stopped: the feedback is on the master, and its write waits for the replica
      replica.proc.kill('SIGSTOP');
      const written = waiting.recordFeedback('r1', 1, 1000);
      const done = settled(written);
      await sleep(300);
      expect(done()).toBe(false);
      replica.proc.kill('SIGCONT');
      await written;
      expect(await onReplica.lrange('wait:feedback', 0, -1)).toEqual([JSON.stringify({ requestId: 'r1', score: 1, time: 1000 })]); // there as soon as the write is done
      expect(missed).toEqual([]);
      // a replica that stays away: the write is done after the timeout, and the store says it was not replicated
      const impatient = new RedisStore({ url: master.ready, keyPrefix: 'wait:', waitReplicas: { replicas: 1, timeoutMs: 200 } });
      impatient.onUnreplicated = (got) => void missed.push(got);
      await impatient.ready();
      replica.proc.kill('SIGSTOP');
      const t0 = Date.now();
      await impatient.addSpend('team', 0.5, 2000, 's1');
      expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
      expect(missed).toEqual([0]);
      // …and the writes right after it do not wait the timeout again (writes queued through a failover drain at once), counted too
      const t1 = Date.now();
      await impatient.recordFeedback('r3', 1, 4000);
      expect(Date.now() - t1).toBeLessThan(150);
      expect(missed).toEqual([0, 0]);
      // without waitReplicas a write does not wait (the control: the same stopped replica)
      const plain = new RedisStore({ url: master.ready, keyPrefix: 'wait:' });
      await plain.ready();
      const quick = settled(plain.recordFeedback('r2', 0, 3000));
      await sleep(100);
      expect(quick()).toBe(true);
      replica.proc.kill('SIGCONT');
      await Promise.all([impatient.close(), plain.close()]);
    } finally {
      replica.proc.kill('SIGCONT');
      onReplica.disconnect();
      await waiting.close();
    }
  });

  it('counts on /metrics the writes a gateway could not get replicated in time, and takes waitReplicas only where it can wait', async () => {
    const alone = await startRedis(); // a master without replicas: every WAIT times out
    running.push(alone);
    const dir = mkdtempSync(join(tmpdir(), 'sy-wait-gw-'));
    const { meta, rows } = syntheticRows({ prompts: 5 });
    writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] ${r.id}` }))));
    const model = meta.models[0]?.id as string;
    const models = { [model]: { provider: 'replay', data: dir, inputPricePerMTok: 1, outputPricePerMTok: 1 } };
    const config = parseGatewayConfig({ server: { port: 0 }, store: { backend: 'redis', url: alone.ready, keyPrefix: 'waitgw:', outbox: false, waitReplicas: { replicas: 1, timeoutMs: 50 } }, models });
    const probe = new RedisStore({ url: alone.ready });
    expect(await probe.connectedReplicas()).toBe(0); // what serve --check warns of
    await probe.close();
    const gateway = await Gateway.create(config, { logger: pino({ level: 'silent' }) });
    try {
      const url = await gateway.listen();
      const client = new OpenAI({ baseURL: url, apiKey: 'unused', maxRetries: 0 });
      await client.chat.completions.create({ model, messages: [{ role: 'user', content: rows[0]?.prompt as string }] });
      const metrics = await (await fetch(url.replace(/\/v1$/, '/metrics'))).text();
      expect(Number(/^switchyard_store_unreplicated_writes_total (\S+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    } finally {
      await gateway.close();
    }
    const bad = (store: Record<string, unknown>): unknown => parseGatewayConfig({ store, models });
    expect(() => bad({ waitReplicas: { replicas: 1 } })).toThrow(/waits for the replicas of a Redis master/); // SQLite has none
    expect(() => bad({ backend: 'redis', cluster: { nodes: ['127.0.0.1:7000'] }, waitReplicas: { replicas: 1 } })).toThrow(/not a cluster/);
    expect(() => bad({ backend: 'redis', timeoutMs: 500, waitReplicas: { replicas: 1, timeoutMs: 500 } })).toThrow(/below store.timeoutMs/);
  });
});
