/** `serve --check --probe`: every endpoint asked for its model list with its key, query and headers. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../test/helpers/processes.js';
import { parseGatewayConfig } from './config.js';
import { probeModels } from './probe.js';

describe('probing the configured endpoints', () => {
  let server: Server;
  let base = '';
  const seen: IncomingMessage[] = [];

  beforeAll(async () => {
    // an OpenAI-style endpoint that wants "Bearer sk-good" (or Anthropic's x-api-key), and lists models only under /v1
    server = createServer((req, res) => {
      seen.push(req);
      const ok = req.headers.authorization === 'Bearer sk-good' || req.headers['x-api-key'] === 'sk-ant';
      const status = !(req.url ?? '').startsWith('/v1/models') ? 404 : ok ? 200 : 401;
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(status === 200 ? { object: 'list', data: [] } : { error: { message: 'no' } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('says which endpoints answer, which refuse the key, which are wrong or unreachable', async () => {
    const dead = await freePort();
    const price = { inputPricePerMTok: 1, outputPricePerMTok: 1 };
    const config = parseGatewayConfig({
      models: {
        good: { baseURL: `${base}/v1`, apiKeyEnv: 'GOOD_KEY', query: { 'api-version': '1' }, headers: { 'X-Title': 'probe' }, ...price },
        unset: { baseURL: `${base}/v1`, apiKeyEnv: 'UNSET_KEY', ...price },
        wrongPath: { baseURL: `${base}/api`, apiKeyEnv: 'GOOD_KEY', ...price },
        claude: { provider: 'anthropic', baseURL: `${base}/v1`, apiKeyEnv: 'ANT_KEY', ...price },
        spread: { deployments: [{ baseURL: `${base}/v1`, apiKeyEnv: 'GOOD_KEY' }, { baseURL: `http://127.0.0.1:${dead}/v1` }], ...price },
        local: { provider: 'replay', data: '/nowhere', ...price },
      },
    });
    const results = await probeModels(config.models, { GOOD_KEY: 'sk-good', ANT_KEY: 'sk-ant' }, 2000);
    const by = Object.fromEntries(results.map((r) => [r.target, r]));
    expect(Object.keys(by).sort()).toEqual(['claude', 'good', 'spread (deployment 0)', 'spread (deployment 1)', 'unset', 'wrongPath']); // replay: nothing to call
    expect(by['good']).toMatchObject({ ok: true, outcome: '200', url: `${base}/v1/models?api-version=1` });
    expect(by['unset']).toMatchObject({ ok: false, outcome: '401: the key was refused (UNSET_KEY is not set)' });
    expect(by['wrongPath']).toMatchObject({ ok: false, outcome: '404: no model list there (is baseURL right?)' });
    expect(by['claude']).toMatchObject({ ok: true, outcome: '200' });
    expect(by['spread (deployment 0)']?.ok).toBe(true);
    expect(by['spread (deployment 1)']).toMatchObject({ ok: false, outcome: 'unreachable: ECONNREFUSED' });
    const good = seen.find((r) => r.url === '/v1/models?api-version=1');
    expect(good?.headers['x-title']).toBe('probe');
  });
});
