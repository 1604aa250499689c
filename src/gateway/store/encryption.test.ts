/**
 * Encryption at rest (`store.encryption`): the cipher (sealing, key rotation, tampering), and a
 * gateway whose SQLite file holds no prompt or answer text in clear while it serves kept prompts,
 * stored responses and cached answers as usual — the official openai SDK against replay-upstream.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticRows } from '../../../test/helpers/synthetic.js';
import { loadDataset } from '../../data/load.js';
import { writeDataset } from '../../data/write.js';
import { parseGatewayConfig } from '../config.js';
import { ReplayData } from '../replay-upstream/replay-data.js';
import { ReplayUpstream } from '../replay-upstream/server.js';
import { Gateway } from '../server.js';
import { EncryptedStore } from './encrypted-store.js';
import { createCipher } from './encryption.js';
import { SqliteStore } from './sqlite-store.js';

const key = (): string => randomBytes(32).toString('base64');

describe('the store cipher', () => {
  it('seals with a fresh IV each time, opens what it sealed, and reads values written before encryption as they are', () => {
    const c = createCipher({ keyEnv: 'K', previousKeyEnvs: [] }, { K: key() });
    const [a, b] = [c.seal('secret prompt'), c.seal('secret prompt')];
    expect(a).toMatch(/^enc:v1:[0-9a-f]{8}:/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('secret');
    expect(c.open(a)).toBe('secret prompt');
    expect(c.open('written in clear before')).toBe('written in clear before');
  });

  it('rotates keys: the new key seals, a previous one still opens; an unknown key or an altered value opens to nothing', () => {
    const [oldKey, newKey] = [key(), randomBytes(32).toString('hex')];
    const before = createCipher({ keyEnv: 'OLD', previousKeyEnvs: [] }, { OLD: oldKey });
    const sealedBefore = before.seal('kept last month');
    const after = createCipher({ keyEnv: 'NEW', previousKeyEnvs: ['OLD'] }, { NEW: newKey, OLD: oldKey });
    expect(after.open(sealedBefore)).toBe('kept last month');
    const sealedAfter = after.seal('kept today');
    expect(sealedAfter.slice(0, 16)).not.toBe(sealedBefore.slice(0, 16)); // another key id
    expect(before.open(sealedAfter)).toBeUndefined();
    const body = Buffer.from(sealedAfter.slice(16), 'base64');
    body[body.length - 1] = (body[body.length - 1] as number) ^ 1;
    expect(after.open(`${sealedAfter.slice(0, 16)}${body.toString('base64')}`)).toBeUndefined();
  });

  it('refuses a missing or malformed key, naming the setting and the variable', () => {
    expect(() => createCipher({ keyEnv: 'SY_KEY', previousKeyEnvs: [] }, {})).toThrow('store.encryption.keyEnv: SY_KEY is not set; it must hold a 32-byte key');
    expect(() => createCipher({ keyEnv: 'SY_KEY', previousKeyEnvs: [] }, { SY_KEY: 'hunter2' })).toThrow('SY_KEY does not hold 32 bytes');
    expect(() => createCipher({ keyEnv: 'SY_KEY', previousKeyEnvs: ['OLD'] }, { SY_KEY: key() })).toThrow('store.encryption.previousKeyEnvs.0: OLD is not set');
  });
});

describe('a gateway with store.encryption', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-enc-'));
  const { meta, rows } = syntheticRows({ prompts: 10 });
  writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] the recorded answer to ${r.id}` }))));
  const prompt = (rows[0] as (typeof rows)[number]).prompt;
  const model = meta.models[0]?.id as string;
  let upstream: ReplayUpstream;
  let upstreamURL = '';
  const env = { SY_STORE_KEY: key() };
  const file = join(dir, 'gw.db');

  beforeAll(async () => {
    upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
    upstreamURL = await upstream.listen();
  });
  afterAll(async () => upstream.close());

  it('keeps no prompt or answer text in clear in its SQLite file, and serves kept prompts, stored responses and cached answers', async () => {
    const config = parseGatewayConfig({
      server: { port: 0 },
      store: { path: file, keepPrompts: true, outbox: false, encryption: { keyEnv: 'SY_STORE_KEY' } },
      cache: { enabled: true },
      models: { [model]: { baseURL: upstreamURL, inputPricePerMTok: 1, outputPricePerMTok: 2 } },
    });
    const gateway = await Gateway.create(config, { store: new SqliteStore(file), logger: pino({ enabled: false }), env });
    const client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'sk-test', maxRetries: 0 });
    const first = await client.chat.completions.create({ model, messages: [{ role: 'user', content: prompt }] }).withResponse();
    const again = await client.chat.completions.create({ model, messages: [{ role: 'user', content: prompt }] }).withResponse();
    expect(again.response.headers.get('x-switchyard-cache')).toBe('hit');
    expect(again.data.choices[0]?.message.content).toBe(first.data.choices[0]?.message.content);
    const stored = await client.responses.create({ model, input: prompt });
    expect((await client.responses.retrieve(stored.id)).output_text).toMatch(/the recorded answer to/);
    const id = first.response.headers.get('x-request-id') as string;
    expect((await gateway.store.getDecision(id))?.prompt).toBe(prompt);
    await gateway.close();

    const bytes = ['', '-wal'].map((s) => (existsSync(file + s) ? readFileSync(file + s).toString('latin1') : '')).join('');
    expect(bytes).toContain('enc:v1:');
    expect(bytes).not.toContain(prompt);
    expect(bytes).not.toContain('the recorded answer to');
    // the same file without the key: the text stays sealed
    const raw = new SqliteStore(file);
    expect((await raw.getDecision(id))?.prompt).toMatch(/^enc:v1:/);
    await raw.close();
    const reopened = new EncryptedStore(new SqliteStore(file), createCipher({ keyEnv: 'SY_STORE_KEY', previousKeyEnvs: [] }, env));
    expect((await reopened.getDecision(id))?.prompt).toBe(prompt);
    await reopened.close();
  });

  it("keeps end users' ids and tags out of the file in clear, while their limits and the summaries by user still work", async () => {
    const usersFile = join(mkdtempSync(join(tmpdir(), 'sy-enc-users-')), 'gw.db');
    const config = parseGatewayConfig({
      server: { port: 0 },
      store: { path: usersFile, outbox: false, encryption: { keyEnv: 'SY_STORE_KEY' } },
      auth: { endUsers: { dailyBudgetUsd: 1e-9 } },
      models: { [model]: { baseURL: upstreamURL, inputPricePerMTok: 1, outputPricePerMTok: 2 } },
    });
    const gateway = await Gateway.create(config, { store: new SqliteStore(usersFile), logger: pino({ enabled: false }), env });
    const client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'sk-test', maxRetries: 0 });
    const ask = () => client.chat.completions.create({ model, user: 'alice@example.com', metadata: { project: 'apollo-secret' }, store: true, messages: [{ role: 'user', content: prompt }] }).withResponse();
    const first = await ask();
    await expect(ask()).rejects.toMatchObject({ status: 429, code: 'budget_exceeded' }); // the limit holds on the pseudonym
    const decision = await gateway.store.getDecision(first.response.headers.get('x-request-id') as string);
    expect(decision?.tags).toEqual({ user: 'alice@example.com', project: 'apollo-secret' });
    await gateway.close();
    const bytes = ['', '-wal'].map((s) => (existsSync(usersFile + s) ? readFileSync(usersFile + s).toString('latin1') : '')).join('');
    expect(bytes).not.toContain('alice@example.com');
    expect(bytes).not.toContain('apollo-secret');
  });

  it("keeps counting an end user's spend across a key rotation (the earlier key's pseudonym counts too)", async () => {
    const usersFile = join(mkdtempSync(join(tmpdir(), 'sy-enc-rotate-')), 'gw.db');
    const open = async (encryption: { keyEnv: string; previousKeyEnvs?: string[] }, keys: Record<string, string>): Promise<{ gateway: Gateway; client: OpenAI }> => {
      const config = parseGatewayConfig({
        server: { port: 0 },
        store: { path: usersFile, outbox: false, encryption },
        auth: { endUsers: { dailyBudgetUsd: 1e-9 } },
        models: { [model]: { baseURL: upstreamURL, inputPricePerMTok: 1, outputPricePerMTok: 2 } },
      });
      const gateway = await Gateway.create(config, { store: new SqliteStore(usersFile), logger: pino({ enabled: false }), env: keys });
      return { gateway, client: new OpenAI({ baseURL: await gateway.listen(), apiKey: 'sk-test', maxRetries: 0 }) };
    };
    const ask = (client: OpenAI, user: string) => client.chat.completions.create({ model, user, messages: [{ role: 'user', content: prompt }] });
    const keys = { OLD_KEY: key(), NEW_KEY: key() };
    const before = await open({ keyEnv: 'OLD_KEY' }, keys);
    await ask(before.client, 'bob'); // over the budget now
    await before.gateway.close();
    const after = await open({ keyEnv: 'NEW_KEY', previousKeyEnvs: ['OLD_KEY'] }, keys);
    await expect(ask(after.client, 'bob')).rejects.toMatchObject({ status: 429, code: 'budget_exceeded' }); // still: a rotation is no fresh budget
    await ask(after.client, 'carol'); // someone else is not
    await after.gateway.close();
  });

  it('does not start with the key variable unset', async () => {
    const config = parseGatewayConfig({ store: { path: ':memory:', encryption: { keyEnv: 'SY_UNSET_KEY' } }, models: { [model]: { baseURL: 'http://127.0.0.1:9/v1', inputPricePerMTok: 1, outputPricePerMTok: 2 } } });
    await expect(Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ enabled: false }), env: {} })).rejects.toThrow('store.encryption.keyEnv: SY_UNSET_KEY is not set');
  });
});
