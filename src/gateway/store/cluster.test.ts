/**
 * The gateway on a Redis Cluster (three masters the test starts): configured by `store.cluster`, two
 * replicas answer the openai SDK, share a model's maxInFlight and minute limit through the cluster, and
 * find each other's decisions by feedback. On a cluster whose masters have replicas, a master killed
 * mid-traffic fails over without a request lost or a recorded decision forgotten. (The store contract
 * runs over the cluster too.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, hasRedisCluster, startRedisCluster, type Running } from '../../../test/helpers/processes.js';
import { syntheticRows } from '../../../test/helpers/synthetic.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { writeDataset } from '../../data/write.js';
import { parseGatewayConfig } from '../config.js';
import { Gateway } from '../server.js';
import { describeStore } from './open-store.js';

if (!hasRedisCluster) console.warn('SKIP: redis-server or redis-cli is not installed (apt-get install -y redis-server redis-tools), so the gateway on a Redis Cluster cannot be tested');

describe.skipIf(!hasRedisCluster)('the gateway on a Redis Cluster (openai SDK → two replicas → three masters)', () => {
  const nodes: Running[] = [];
  const gateways: Gateway[] = [];
  afterAll(async () => {
    for (const g of gateways) await g.close().catch(() => undefined);
    for (const n of nodes) await n.stop();
  });

  it("answers, shares limits across replicas and finds any replica's decisions by feedback", async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    nodes.push(...(await startRedisCluster(ports)));
    const dir = mkdtempSync(join(tmpdir(), 'sy-cluster-'));
    const { meta, rows } = syntheticRows({ prompts: 40 });
    writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] ${r.id}` }))));
    const model = meta.models[0]?.id as string;
    const store = { backend: 'redis', url: 'redis://127.0.0.1', keyPrefix: 'cl:', cluster: { nodes: ports.map((p) => `127.0.0.1:${p}`) } };
    const config = parseGatewayConfig({ server: { port: 0 }, store, models: { [model]: { provider: 'replay', data: dir, inputPricePerMTok: 1, outputPricePerMTok: 2, maxInFlight: 4, requestsPerMinute: 6 } } });
    expect(describeStore(config.store)).toBe(`redis cluster at ${ports.map((p) => `127.0.0.1:${p}`).join(', ')}`);
    const clients: OpenAI[] = [];
    for (let k = 0; k < 2; k++) {
      const g = await Gateway.create(config, { logger: pino({ level: 'silent' }) });
      gateways.push(g);
      clients.push(new OpenAI({ baseURL: await g.listen(), apiKey: 'sk-test', maxRetries: 0 }));
    }
    const ids: string[] = [];
    const statuses: number[] = [];
    for (let k = 0; k < 10; k++) {
      const ask = (clients[k % 2] as OpenAI).chat.completions.create({ model, messages: [{ role: 'user', content: rows[k]?.prompt as string }] }).withResponse();
      const r = await ask.then(
        (x) => ({ status: x.response.status, id: x.response.headers.get('x-request-id') as string }),
        (e: { status: number }) => ({ status: e.status, id: '' }),
      );
      statuses.push(r.status);
      if (r.id) ids.push(r.id);
    }
    // requestsPerMinute: 6 over both replicas (leases of a twentieth: 1 call each time), the rest 429
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(6);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(5);
    expect(statuses.filter((s) => s !== 200).every((s) => s === 429)).toBe(true);
    // each replica finds the other's decisions
    for (const [k, id] of ids.entries()) expect(await (clients[(k + 1) % 2] as OpenAI).post('/feedback', { body: { request_id: id, score: 1 } })).toMatchObject({ recorded: true });
  });

  it('goes on answering through a master failover, and forgets no decision recorded before, during or after it', async () => {
    const ports: number[] = [];
    for (let k = 0; k < 6; k++) ports.push(await freePort());
    nodes.push(...(await startRedisCluster(ports, { replicas: 1, nodeTimeoutMs: 1000 })));
    const cli = (port: number, ...args: string[]): string => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout;
    const dir = mkdtempSync(join(tmpdir(), 'sy-cluster-failover-'));
    const { meta, rows } = syntheticRows({ prompts: 40 });
    writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] ${r.id}` }))));
    const model = meta.models[0]?.id as string;
    const store = { backend: 'redis', url: 'redis://127.0.0.1', keyPrefix: 'fo:', timeoutMs: 1000, outbox: false, cluster: { nodes: ports.map((p) => `127.0.0.1:${p}`) } };
    const config = parseGatewayConfig({ server: { port: 0 }, store, models: { [model]: { provider: 'replay', data: dir, inputPricePerMTok: 1, outputPricePerMTok: 2 } } });
    const g = await Gateway.create(config, { logger: pino({ level: 'silent' }) });
    gateways.push(g);
    const url = await g.listen();
    const client = new OpenAI({ baseURL: url, apiKey: 'sk-test', maxRetries: 0 });
    const ask = async (k: number): Promise<string> => {
      const { response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content: rows[k]?.prompt as string }] }).withResponse();
      expect(response.status).toBe(200);
      return response.headers.get('x-request-id') as string;
    };
    const before: string[] = [];
    for (let k = 0; k < 6; k++) before.push(await ask(k));

    const masters = ports.filter((p) => cli(p, 'role').startsWith('master'));
    expect(masters).toHaveLength(3);
    // the master holding the first decision, and its replica; the replica has every write (replication is asynchronous)
    const victim = masters.find((p) => cli(p, 'exists', `fo:decision:${before[0] as string}`).trim() === '1') as number;
    const replica = ports.find((p) => cli(p, 'info', 'replication').includes(`master_port:${victim}`)) as number;
    expect(victim && replica).toBeTruthy();
    const offset = (port: number, field: string): number => Number(new RegExp(`${field}:(\\d+)`).exec(cli(port, 'info', 'replication'))?.[1] ?? -1);
    await waitFor(() => offset(replica, 'slave_repl_offset') >= offset(victim, 'master_repl_offset'), 'the replica to have every write of its master');

    const killed = nodes.find((n) => n.proc.spawnargs.includes(String(victim)));
    killed?.proc.kill('SIGKILL');
    // while its slots have no master, a request is still answered (without a retry): its record waits in memory
    const during = await ask(6);
    await waitFor(() => cli(replica, 'role').startsWith('master') && cli(replica, 'cluster', 'info').includes('cluster_state:ok'), 'the replica to be promoted', 20_000, 100);

    const after = await ask(7);
    await waitFor(async () => (await fetch(url.replace(/\/v1$/, '/ready'))).status === 200, 'the gateway to be ready again', 20_000, 100);
    // every decision is found by feedback: those the dead master held came through its replica
    for (const id of [...before, during, after]) expect(await client.post('/feedback', { body: { request_id: id, score: 1 } })).toMatchObject({ recorded: true });
    expect(cli(replica, 'exists', `fo:decision:${before[0] as string}`).trim()).toBe('1');
  }, 60_000);
});
