/**
 * The Redis store behind Redis Sentinel: a master, its replica and a sentinel (real redis-server
 * processes the test starts); the gateway finds the master through the sentinel, and when the master
 * is killed it answers meanwhile, and once the sentinel promotes the replica it records there and finds
 * the decisions it recorded before — driven by the openai SDK.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, hasRedis, startProcess, type Running } from '../../../test/helpers/processes.js';
import { syntheticRows } from '../../../test/helpers/synthetic.js';
import { loadDataset } from '../../data/load.js';
import { writeDataset } from '../../data/write.js';
import { parseGatewayConfig } from '../config.js';
import { ReplayData } from '../replay-upstream/replay-data.js';
import { ReplayUpstream } from '../replay-upstream/server.js';
import { Gateway } from '../server.js';
import { openStore } from './open-store.js';

if (!hasRedis) console.warn('SKIP: redis-server is not installed (apt-get install -y redis-server), so the store behind Redis Sentinel cannot be tested');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!hasRedis)('the Redis store behind Redis Sentinel (openai SDK → gateway → master found through the sentinel)', () => {
  const running: Running[] = [];
  const gateways: Gateway[] = [];
  let upstream: ReplayUpstream | undefined;
  afterAll(async () => {
    for (const g of gateways) await g.close().catch(() => undefined);
    await upstream?.close();
    for (const r of running.reverse()) await r.stop();
  });

  /** A redis-server whose files (a replica's synced copy) go in `dir`, not the working folder. */
  const redisAt = async (dir: string, port: number, extra: string[] = [], ready = /Ready to accept connections/): Promise<Running> => {
    const r = await startProcess('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra], ready);
    running.push(r);
    return r;
  };

  it('goes on answering and recording after a failover, and finds the decisions recorded before it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-sentinel-'));
    const [mp, rp, sp] = [await freePort(), await freePort(), await freePort()];
    const master = await redisAt(dir, mp);
    await redisAt(dir, rp, ['--replicaof', '127.0.0.1', String(mp)], /MASTER <-> REPLICA sync: Finished with success/);
    // a sentinel rewrites its config file; one is enough for a quorum of 1. It is told of the replica
    // (it would learn of it from the master within 10 s, and cannot fail over before it does)
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(conf, `port ${sp}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor main 127.0.0.1 ${mp} 1\nsentinel down-after-milliseconds main 500\nsentinel failover-timeout main 3000\nsentinel known-replica main 127.0.0.1 ${rp}\n`);
    running.push(await startProcess('redis-server', [conf, '--sentinel'], /\+monitor master main/));

    const { meta, rows } = syntheticRows({ prompts: 40 });
    writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] ${r.id}` }))));
    upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
    const upURL = await upstream.listen();
    const model = meta.models[0]?.id as string;
    const store = { backend: 'redis', url: 'redis://unused-with-sentinel:1', keyPrefix: 'ha:', timeoutMs: 1000, sentinel: { name: 'main', hosts: [`127.0.0.1:${sp}`] }, outbox: false };
    const config = parseGatewayConfig({ server: { port: 0 }, store, models: { [model]: { baseURL: upURL, inputPricePerMTok: 1, outputPricePerMTok: 2 } } });
    const gateway = await Gateway.create(config, { logger: pino({ level: 'silent' }) });
    gateways.push(gateway);
    const url = await gateway.listen();
    const client = new OpenAI({ baseURL: url, apiKey: 'sk-test', maxRetries: 3 });
    const ask = async (k: number): Promise<string> => {
      const { response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content: rows[k]?.prompt as string }] }).withResponse();
      return response.headers.get('x-request-id') as string;
    };
    const before = await ask(0);
    // replicated before the master dies: replication is asynchronous, and a master streams nothing to a
    // replica that has just synced until its first acknowledgement (up to a second later)
    const replica = new Redis({ port: rp, host: '127.0.0.1' });
    for (let k = 0; k < 100 && (await replica.exists(`ha:decision:${before}`)) === 0; k++) await sleep(100);
    expect(await replica.exists(`ha:decision:${before}`), 'the replica has the decision recorded before the failover').toBe(1);
    replica.disconnect();
    const sentinel = new Redis({ port: sp, host: '127.0.0.1', lazyConnect: true });
    const masterPort = async (): Promise<string> => ((await sentinel.call('SENTINEL', 'get-master-addr-by-name', 'main')) as string[])[1] ?? '';
    expect(await masterPort(), 'the sentinel failed over before the master was killed').toBe(String(mp));

    master.proc.kill('SIGKILL');
    // while the master is gone (before the promotion), a request is still answered, without a retry: its record waits in memory
    const strict = new OpenAI({ baseURL: url, apiKey: 'sk-test', maxRetries: 0 });
    const during = (await strict.chat.completions.create({ model, messages: [{ role: 'user', content: rows[2]?.prompt as string }] }).withResponse()).response.headers.get('x-request-id') as string;
    let promoted = '';
    for (let k = 0; k < 100 && promoted !== String(rp); k++) {
      await sleep(100);
      promoted = await masterPort();
    }
    sentinel.disconnect();
    expect(promoted).toBe(String(rp)); // the sentinel promoted the replica

    // the gateway follows: it answers, records on the new master, and finds what it recorded before
    const after = await ask(1);
    let ready = { status: 0, body: '' };
    for (let k = 0; k < 50 && ready.status !== 200; k++) {
      const r = await fetch(url.replace(/\/v1$/, '/ready'));
      ready = { status: r.status, body: await r.text() };
      if (ready.status !== 200) await sleep(200);
    }
    expect(ready.status, ready.body).toBe(200);
    for (const [when, id] of Object.entries({ before, during, after })) {
      const found = await client.post('/feedback', { body: { request_id: id, score: 1 } }).catch((e: unknown) => e as Error);
      expect(found, `the decision of the request ${when} the failover`).toMatchObject({ recorded: true });
    }
    const promotedRedis = new Redis({ port: rp, host: '127.0.0.1' });
    expect(await promotedRedis.exists(`ha:decision:${during}`, `ha:decision:${after}`)).toBe(2);
    promotedRedis.disconnect();
  });

  it('names the sentinels when none answers, and a sentinel password variable that is not set', async () => {
    const dead = await freePort();
    const config = parseGatewayConfig({ store: { backend: 'redis', timeoutMs: 500, sentinel: { name: 'main', hosts: [`127.0.0.1:${dead}`] } }, models: { m: { baseURL: 'http://127.0.0.1:1/v1', inputPricePerMTok: 1, outputPricePerMTok: 1 } } });
    await expect(openStore(config.store)).rejects.toThrow(new RegExp(`store\\.sentinel: cannot reach the master "main" through the sentinels at 127\\.0\\.0\\.1:${dead}`));
    const withPassword = parseGatewayConfig({ store: { backend: 'redis', sentinel: { name: 'main', hosts: ['127.0.0.1:1'], passwordEnv: 'NO_SUCH_SENTINEL_PASSWORD' } }, models: { m: { baseURL: 'http://127.0.0.1:1/v1', inputPricePerMTok: 1, outputPricePerMTok: 1 } } });
    await expect(openStore(withPassword.store, {})).rejects.toThrow(/store\.sentinel\.passwordEnv: NO_SUCH_SENTINEL_PASSWORD is not set/);
    expect(() => parseGatewayConfig({ store: { backend: 'redis', sentinel: { name: 'main', hosts: ['no-port'] } }, models: { m: { baseURL: 'http://127.0.0.1:1/v1', inputPricePerMTok: 1, outputPricePerMTok: 1 } } })).toThrow(/"path": \[\s*"store",\s*"sentinel",\s*"hosts",\s*0\s*\],\s*"message": "expected host:port"/);
  });
});
