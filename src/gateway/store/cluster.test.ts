/**
 * The gateway on a Redis Cluster (three masters the test starts): configured by `store.cluster`, two
 * replicas answer the openai SDK, share a model's maxInFlight and minute limit through the cluster, and
 * find each other's decisions by feedback. (The store contract runs over the cluster too.)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, hasRedisCluster, startRedisCluster, type Running } from '../../../test/helpers/processes.js';
import { syntheticRows } from '../../../test/helpers/synthetic.js';
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
});
