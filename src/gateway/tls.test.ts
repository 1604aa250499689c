/**
 * The gateway over HTTPS (`server.tls`), with and without client certificates: the official openai
 * SDK (trusting a test CA) → gateway → replay-upstream. The Responses API, which the gateway answers
 * by calling its own /v1/chat/completions, works over TLS through a token-guarded local listener.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticRows } from '../../test/helpers/synthetic.js';
import { hasOpenssl, testPki, type TestPki } from '../../test/helpers/tls.js';
import { loadDataset } from '../data/load.js';
import { writeDataset } from '../data/write.js';
import { parseGatewayConfig } from './config.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

if (!hasOpenssl) console.warn('SKIP: openssl is not installed (apt-get install -y openssl), so the gateway TLS tests cannot run');

describe.skipIf(!hasOpenssl)('the gateway over HTTPS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-tls-'));
  const { meta, rows } = syntheticRows({ prompts: 10 });
  writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] an answer to ${r.id}` }))));
  const prompt = (rows[0] as (typeof rows)[number]).prompt;
  const model = meta.models[0]?.id as string;
  let upstream: ReplayUpstream;
  let upstreamURL = '';
  let pki: TestPki;
  const gateways: Gateway[] = [];

  beforeAll(async () => {
    upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
    upstreamURL = await upstream.listen();
    pki = testPki();
  });
  afterAll(async () => {
    for (const g of gateways) await g.close();
    await upstream.close();
  });

  const start = async (tls: Record<string, unknown>): Promise<{ gateway: Gateway; url: string }> => {
    const config = parseGatewayConfig({ server: { port: 0, tls }, store: { outbox: false }, models: { [model]: { baseURL: upstreamURL, inputPricePerMTok: 1, outputPricePerMTok: 2 } } });
    const gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ enabled: false }) });
    gateways.push(gateway);
    return { gateway, url: await gateway.listen() };
  };
  const agent = (cert?: { certFile: string; keyFile: string }): Agent => new Agent({ connect: { ca: readFileSync(pki.caFile), ...(cert ? { cert: readFileSync(cert.certFile), key: readFileSync(cert.keyFile) } : {}) } });
  const sdk = (url: string, dispatcher: Agent): OpenAI => new OpenAI({ baseURL: url, apiKey: 'sk-test', maxRetries: 0, fetchOptions: { dispatcher } as never });

  it('answers chat and Responses requests over TLS; the local listener for its own calls refuses anyone else', async () => {
    const { gateway, url } = await start(pki.issue('gateway'));
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/v1$/);
    const client = sdk(url, agent());
    const answer = await client.chat.completions.create({ model, messages: [{ role: 'user', content: prompt }] });
    expect(answer.choices[0]?.message.content).toMatch(/an answer to/);
    const response = await client.responses.create({ model, input: prompt }); // through the gateway's own chat endpoint
    expect(response.output_text).toMatch(/an answer to/);
    await expect(fetch(url.replace('https:', 'http:') + '/models')).rejects.toThrow(); // plain HTTP on the TLS port
    const own = (gateway as unknown as { origin: string }).origin;
    const knock = await fetch(`${own}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: prompt }] }) });
    expect(knock.status).toBe(401);
  });

  it('with requireClientCert, serves only clients holding a certificate of its CA', async () => {
    const { url } = await start({ ...pki.issue('gateway-mtls'), caFile: pki.caFile, requireClientCert: true });
    const app = pki.issue('app');
    const response = await sdk(url, agent(app)).responses.create({ model, input: prompt });
    expect(response.output_text).toMatch(/an answer to/);
    await expect(sdk(url, agent()).chat.completions.create({ model, messages: [{ role: 'user', content: prompt }] })).rejects.toThrow(/Connection error/);
  });

  it('refuses client certificates its revocation list names, and reads a new list and renewed certificates on reload', async () => {
    const served = pki.issue('gateway-crl');
    const [alice, bob, carol] = [pki.issue('alice'), pki.issue('bob'), pki.issue('carol')];
    const crlFile = pki.revoke('bob');
    const { gateway, url } = await start({ ...served, caFile: pki.caFile, requireClientCert: true, crlFile });
    const ask = (who: { certFile: string; keyFile: string }) => sdk(url, agent(who)).chat.completions.create({ model, messages: [{ role: 'user', content: prompt }] });
    await ask(alice);
    await expect(ask(bob)).rejects.toThrow(/Connection error/);
    const servedSerial = async (): Promise<string> => {
      const { connect } = await import('node:tls');
      const port = Number(new URL(url).port);
      return new Promise((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port, ca: readFileSync(pki.caFile), cert: readFileSync(carol.certFile), key: readFileSync(carol.keyFile) }, () => {
          resolve(socket.getPeerCertificate().serialNumber);
          socket.end();
        });
        socket.on('error', reject);
      });
    };
    const before = await servedSerial();
    // alice is revoked too and the server's certificate renewed, in the same files: a reload reads them
    pki.revoke('alice');
    pki.issue('gateway-crl');
    const r = await gateway.reload(gateway.config);
    expect(r.tlsReloaded).toBe(true);
    expect(r.ignored).toEqual([]);
    await expect(ask(alice)).rejects.toThrow(/Connection error/);
    await ask(carol);
    expect(await servedSerial()).not.toBe(before);
    // a revocation list without the CA it belongs to is refused, naming the setting
    const noCa = parseGatewayConfig({ server: { tls: { ...served, crlFile } }, models: { [model]: { baseURL: upstreamURL, inputPricePerMTok: 1, outputPricePerMTok: 2 } } });
    await expect(Gateway.create(noCa, { store: new SqliteStore(':memory:'), logger: pino({ enabled: false }) })).rejects.toThrow(/server\.tls\.crlFile: needs caFile/);
  });

  it('does not start without its certificate, or with client certificates but no CA to check them, naming the setting', async () => {
    const config = parseGatewayConfig({ server: { port: 0, tls: { certFile: join(pki.dir, 'missing.crt'), keyFile: join(pki.dir, 'missing.key') } }, models: { [model]: { baseURL: upstreamURL, inputPricePerMTok: 1, outputPricePerMTok: 2 } } });
    await expect(Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ enabled: false }) })).rejects.toThrow(/server\.tls\.certFile: cannot read .*missing\.crt/);
    const noCa = parseGatewayConfig({ server: { tls: { ...pki.issue('no-ca'), requireClientCert: true } }, models: { [model]: { baseURL: upstreamURL, inputPricePerMTok: 1, outputPricePerMTok: 2 } } });
    await expect(Gateway.create(noCa, { store: new SqliteStore(':memory:'), logger: pino({ enabled: false }) })).rejects.toThrow('server.tls.requireClientCert: needs caFile');
  });
});
