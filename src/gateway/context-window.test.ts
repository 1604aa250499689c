/**
 * Context windows: a routed request is not sent to a model whose context it does not fit (prompt +
 * max_tokens), and an upstream that answers "context length exceeded" hands the request to the next
 * model instead of failing it. Official openai SDK → gateway (trained router) → replay-upstream, and a
 * local server answering as OpenAI does for a prompt that is too long.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticRows } from '../../test/helpers/synthetic.js';
import { buildMatrix, loadDataset } from '../data/load.js';
import { writeDataset } from '../data/write.js';
import { CostModel } from '../routers/cost-model.js';
import { createRouter } from '../routers/registry.js';
import { parseGatewayConfig } from './config.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

describe('context windows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-ctx-'));
  const { meta, rows } = syntheticRows({ prompts: 120 });
  writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] an answer to ${r.id}` }))));
  const prompt = (rows.find((r) => r.split === 'test') as (typeof rows)[number]).prompt;
  const tokens = CostModel.countTokens(prompt);
  let upstream: ReplayUpstream;
  let upstreamURL = '';
  let overflow: Server;
  let overflowURL = '';
  let overflowBody = '';
  let artifact = '';
  let cheapest = '';
  const gateways: Gateway[] = [];

  beforeAll(async () => {
    upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
    upstreamURL = await upstream.listen();
    overflow = createServer((req, res) => {
      req.resume();
      req.on('end', () => void res.writeHead(400, { 'content-type': 'application/json' }).end(overflowBody));
    });
    await new Promise<void>((r) => overflow.listen(0, '127.0.0.1', r));
    overflowURL = `http://127.0.0.1:${(overflow.address() as AddressInfo).port}/v1`;
    const router = createRouter('linear:encoder=hashing:dim=256');
    await router.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
    artifact = join(dir, 'linear.json');
    writeFileSync(artifact, JSON.stringify(router.toArtifact()));
    cheapest = (await router.route([{ text: prompt }], { lambda: 1 }))[0]?.models[0] as string;
  });
  afterAll(async () => {
    for (const g of gateways) await g.close();
    await upstream.close();
    await new Promise((r) => overflow.close(r));
  });

  const start = async (models: Record<string, { contextWindow?: number; maxOutputTokens?: number; at?: string }>): Promise<{ client: OpenAI; gateway: Gateway }> => {
    const config = parseGatewayConfig({
      server: { port: 0 },
      store: { outbox: false },
      retries: 0,
      models: Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: models[m.id]?.at ?? upstreamURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok, ...(models[m.id]?.contextWindow ? { contextWindow: models[m.id]?.contextWindow } : {}), ...(models[m.id]?.maxOutputTokens ? { maxOutputTokens: models[m.id]?.maxOutputTokens } : {}) }])),
      routes: { auto: { router: artifact, lambda: 1 } },
    });
    const gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ enabled: false }) });
    gateways.push(gateway);
    return { gateway, client: new OpenAI({ baseURL: await gateway.listen(), apiKey: 'sk-test', maxRetries: 0 }) };
  };
  const ask = (client: OpenAI, maxTokens?: number) => client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }], ...(maxTokens ? { max_tokens: maxTokens } : {}) }).withResponse();

  it('routes only to the models whose context the request fits, and refuses one that fits none', async () => {
    const roomy = await start({ [cheapest]: { contextWindow: tokens + 1000 } });
    expect((await ask(roomy.client)).response.headers.get('x-switchyard-model')).toBe(cheapest); // it fits: the cheapest answers at λ = 1
    const { client, gateway } = await start({ [cheapest]: { contextWindow: tokens + 100 } });
    expect((await ask(client)).response.headers.get('x-switchyard-model')).toBe(cheapest);
    const long = await ask(client, 500); // prompt + 500 completion tokens do not fit the cheapest model's window
    const answered = long.response.headers.get('x-switchyard-model');
    expect(answered).not.toBe(cheapest);
    const decision = await gateway.store.getDecision(long.response.headers.get('x-request-id') as string);
    expect([decision?.chosen, decision?.answered]).toEqual([answered, answered]); // chosen among those that fit, not fallen back to
    const none = await start(Object.fromEntries(meta.models.map((m) => [m.id, { contextWindow: tokens + 10 }])));
    await expect(ask(none.client, 500)).rejects.toMatchObject({ status: 400, code: 'context_length_exceeded', message: expect.stringContaining(`needs ~${tokens + 500} tokens`) });
    // a model that writes at most 50 tokens is asked for 50 (withinOutputLimit): prompt + 50 fits its window
    const capped = await start({ [cheapest]: { contextWindow: tokens + 100, maxOutputTokens: 50 } });
    expect((await ask(capped.client, 500)).response.headers.get('x-switchyard-model')).toBe(cheapest);
  });

  it("falls back to the next model when the upstream says the prompt is too long (OpenAI's and Anthropic's wording), and passes other 400s on", async () => {
    const { client } = await start({ [cheapest]: { at: overflowURL } }); // no windows configured: only the upstream knows
    for (const body of [
      { error: { message: "This model's maximum context length is 16 tokens. However, your messages resulted in 40 tokens.", type: 'invalid_request_error', code: 'context_length_exceeded' } },
      { type: 'error', error: { type: 'invalid_request_error', message: 'prompt is too long: 210000 tokens > 200000 maximum' } },
      // Anthropic, when the prompt fits but not with max_tokens (thinking asks for more)
      { type: 'error', error: { type: 'invalid_request_error', message: 'input length and `max_tokens` exceed context limit: 188240 + 21333 > 200000, decrease input length or `max_tokens` and try again' } },
    ]) {
      overflowBody = JSON.stringify(body);
      const r = await ask(client);
      expect(r.response.headers.get('x-switchyard-fallback-from')).toBe(cheapest);
      expect(r.response.headers.get('x-switchyard-model')).not.toBe(cheapest);
      expect(r.data.choices[0]?.message.content).toMatch(/an answer to/);
    }
    overflowBody = JSON.stringify({ error: { message: "Invalid value for 'temperature'", type: 'invalid_request_error', code: 'invalid_value' } });
    await expect(ask(client)).rejects.toMatchObject({ status: 400, code: 'upstream_error' });
  });
});
