/**
 * A use-lite route served with the encoder on a worker thread (the default). That the worker's vectors
 * equal the in-process ones, bit for bit, is src/encoders/encoders.test.ts; here, that the gateway
 * does use it, and routes by it.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticRows } from '../../test/helpers/synthetic.js';
import { buildMatrix } from '../data/load.js';
import { runUseLiteInWorker, useLiteWorkerRunning } from '../encoders/use-lite.js';
import { createRouter } from '../routers/registry.js';
import { parseGatewayConfig } from './config.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

describe('a use-lite route with the encoder on a worker thread', () => {
  afterAll(() => runUseLiteInWorker(false));

  it('embeds prompts it has not seen on the worker and routes by them', async () => {
    const { meta, rows } = syntheticRows({ prompts: 80, seed: 12 });
    const router = createRouter('linear:encoder=use-lite');
    await router.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
    const dir = mkdtempSync(join(tmpdir(), 'sy-encworker-'));
    writeFileSync(join(dir, 'lite.json'), JSON.stringify(router.toArtifact()));
    // prompts this process has not embedded (the embedding LRU is process-wide)
    const prompts = rows.filter((r) => r.split === 'test').slice(0, 6).map((r) => `${r.prompt} (asked again)`);
    const models = Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: 'http://127.0.0.1:9/v1', inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }]));
    const config = parseGatewayConfig({ server: { port: 0 }, models, routes: { lite: { router: join(dir, 'lite.json'), lambda: 0.5 } } });
    expect(config.server.encoderWorker).toBe(true); // the default
    const gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }) });
    try {
      const client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'unused', maxRetries: 0 });
      const chosen: string[] = [];
      for (const text of prompts) {
        // the upstream is down: the request fails, but the decision is recorded with the router's choice
        const { response } = await client.chat.completions.create({ model: 'lite', messages: [{ role: 'user', content: text }] }).withResponse().then(
          () => ({ response: undefined }),
          (err: unknown) => ({ response: err as InstanceType<typeof OpenAI.APIError> }),
        );
        expect(response?.status).toBe(502);
        const d = await gateway.store.getDecision(response?.headers?.get('x-request-id') as string);
        chosen.push(d?.chosen as string);
      }
      expect(useLiteWorkerRunning()).toBe(true);
      // the same prompts routed in process now find the worker's vectors in the LRU: the same choices
      expect((await router.route(prompts.map((text) => ({ text })), { lambda: 0.5 })).map((d) => d.models[0])).toEqual(chosen);
    } finally {
      await gateway.close();
    }
  });
});
