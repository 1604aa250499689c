/**
 * A route's router trades quality against cost at the config's prices (`routes.X.prices: config`, the
 * default), so a price changed in the config moves traffic without retraining; `prices: router` keeps
 * the prices it was trained with. Nested artifacts (an ensemble's members) are repriced too.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatCompletion, startJsonServer, type JsonServer } from '../../test/helpers/json-server.js';
import { syntheticRows } from '../../test/helpers/synthetic.js';
import { buildMatrix } from '../data/load.js';
import { repriceArtifact } from '../routers/artifact.js';
import { createRouter, routerFromArtifact } from '../routers/registry.js';
import type { RouterArtifact } from '../spec/router.js';
import { parseGatewayConfig } from './config.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

const { meta, rows } = syntheticRows({ prompts: 240, models: 3 });
/** A prompt the cheap specialist `small-1` answers best (0.9 against `big-model`'s 0.85, at a fiftieth of its price). */
const PROMPT = 'Question about integral equation prime matrix?';

describe('routes.X.prices', () => {
  let dir: string;
  let artifact: RouterArtifact;
  let upstream: JsonServer;
  const gateways: Gateway[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sy-prices-'));
    const router = createRouter('linear:encoder=hashing:dim=256');
    await router.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
    artifact = router.toArtifact();
    writeFileSync(join(dir, 'linear.json'), JSON.stringify(artifact));
    upstream = await startJsonServer((_body, reply) => reply(200, chatCompletion('ok')));
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await upstream.close();
  });

  /** A gateway over the three models with `small-1` at `price` (USD per M tokens, in and out), the route at λ 0.8. */
  async function gatewayWith(price: number, prices?: 'config' | 'router'): Promise<{ client: OpenAI; gateway: Gateway; store: SqliteStore }> {
    const models = Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: upstream.url, inputPricePerMTok: m.id === 'small-1' ? price : m.inputPricePerMTok, outputPricePerMTok: m.id === 'small-1' ? price : m.outputPricePerMTok }]));
    const config = parseGatewayConfig({ server: { port: 0 }, models, routes: { auto: { router: join(dir, 'linear.json'), lambda: 0.8, ...(prices ? { prices } : {}) } } });
    const store = new SqliteStore(':memory:');
    const gateway = await Gateway.create(config, { store, logger: pino({ level: 'silent' }) });
    gateways.push(gateway);
    return { client: new OpenAI({ baseURL: await gateway.listen(), apiKey: 'unused', maxRetries: 0 }), gateway, store };
  }

  const chosen = async (client: OpenAI): Promise<string | null> => {
    const r = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: PROMPT }] }).withResponse();
    return r.response.headers.get('x-switchyard-model');
  };

  it('routes at the config prices: the specialist, made dearer than the big model in the config, loses its prompts to it', async () => {
    const trained = await gatewayWith(0.2); // small-1's trained input price (its output price goes from 0.4 to 0.2)
    expect(await chosen(trained.client)).toBe('small-1');
    expect(trained.gateway.repricedRoutes()).toEqual([{ route: 'auto', repriced: [{ model: 'small-1', from: { inputPricePerMTok: 0.2, outputPricePerMTok: 0.4 }, to: { inputPricePerMTok: 0.2, outputPricePerMTok: 0.2 } }] }]);

    const raised = await gatewayWith(1000); // a hundred times big-model's price
    expect(await chosen(raised.client)).toBe('big-model');
    // the decision's predicted costs are at the config's prices
    const small = (await raised.store.listDecisions())[0]?.candidates.find((c) => c.model === 'small-1');
    expect(small?.cost).toBeGreaterThan(1e-2);

    const kept = await gatewayWith(1000, 'router'); // the route keeps its trained prices
    expect(await chosen(kept.client)).toBe('small-1');
    expect(kept.gateway.repricedRoutes()).toEqual([{ route: 'auto', repriced: [] }]);
  });

  it('reprices an artifact and the ones nested in it, and says what it changed', async () => {
    const ensemble = createRouter('ensemble:members=linear+knn;encoder=hashing:dim=64');
    await ensemble.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
    const before = ensemble.toArtifact();
    const { artifact: after, changed } = repriceArtifact(before, new Map([['big-model', { inputPricePerMTok: 1, outputPricePerMTok: 2 }], ['small-1', { inputPricePerMTok: 0.2, outputPricePerMTok: 0.4 }]]));
    expect(changed).toEqual([{ model: 'big-model', from: { inputPricePerMTok: 10, outputPricePerMTok: 30 }, to: { inputPricePerMTok: 1, outputPricePerMTok: 2 } }]); // small-1's prices are the same
    const cards = JSON.stringify(after).match(/"id":"big-model"[^}]*/g) ?? [];
    expect(cards.length).toBeGreaterThanOrEqual(3); // the ensemble's and each member's
    for (const card of cards) expect(card).toContain('"inputPricePerMTok":1,');
    expect(JSON.stringify(before)).not.toContain('serving prices'); // the original is not changed
    const loaded = await routerFromArtifact(after);
    expect(loaded.models).toEqual(ensemble.models);
  });
});
