/**
 * The admin API end to end: keys made, limited, rotated and revoked over HTTP, used at once by the
 * official openai SDK against a replay upstream, kept across a restart (SQLite) and shared by two
 * replicas (Redis, a redis-server the test starts).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasRedis, startRedis, type Running } from '../../test/helpers/processes.js';
import { syntheticRows } from '../../test/helpers/synthetic.js';
import { waitFor } from '../../test/helpers/wait.js';
import { loadDataset } from '../data/load.js';
import { writeDataset } from '../data/write.js';
import { hashKey } from './auth.js';
import { parseGatewayConfig, readGatewayConfig, type GatewayConfig } from './config.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { Gateway } from './server.js';
import { RedisStore } from './store/redis-store.js';
import { SqliteStore } from './store/sqlite-store.js';
import type { GatewayStore } from './store/store.js';

if (!hasRedis) console.warn('SKIP: redis-server is not installed (apt-get install -y redis-server), so the admin API across two replicas cannot run');

const ADMIN = 'sk-admin-secret';
const STAFF = 'sk-staff';
const READER = 'sk-admin-reader';

describe('admin API for keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-admin-'));
  const { meta, rows } = syntheticRows({ prompts: 40 });
  writeDataset(dir, meta, rows, rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `[${model}] ${r.id}` }))));
  const model = meta.models[0]?.id as string;
  const prompt = rows[0]?.prompt as string;
  const audit: string[] = [];
  const logger = pino({}, { write: (line: string) => void audit.push(line) });
  let upstream: ReplayUpstream;
  let upstreamURL = '';
  const gateways: Gateway[] = [];

  const configFor = (over: Record<string, unknown> = {}): GatewayConfig =>
    parseGatewayConfig({
      server: { port: 0 },
      models: Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: upstreamURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }])),
      auth: { keys: [{ name: 'staff', sha256: hashKey(STAFF) }], adminKeys: [{ name: 'ops', sha256: hashKey(ADMIN) }] },
      ...over,
    });
  const open = async (config: GatewayConfig, store: GatewayStore = new SqliteStore(':memory:')): Promise<string> => {
    const g = await Gateway.create(config, { store, logger });
    gateways.push(g);
    return g.listen();
  };
  /** One admin call: status and JSON body. */
  const admin = async (url: string, method: string, path: string, body?: unknown, key = ADMIN): Promise<{ status: number; json: Record<string, unknown> }> => {
    const res = await fetch(`${url}/admin/keys${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const codeOf = (r: { json: Record<string, unknown> }): unknown => (r.json['error'] as { code?: string } | undefined)?.code;
  const chat = (url: string, apiKey: string): Promise<unknown> => new OpenAI({ baseURL: url, apiKey, maxRetries: 0 }).chat.completions.create({ model, messages: [{ role: 'user', content: prompt }] });

  beforeAll(async () => {
    upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)));
    upstreamURL = await upstream.listen();
  });
  afterAll(async () => {
    for (const g of gateways) await g.close().catch(() => undefined);
    await upstream.close();
  });

  it('is off without auth.adminKeys, and takes only admin keys', async () => {
    const off = await open(configFor({ auth: { keys: [{ name: 'staff', sha256: hashKey(STAFF) }] } }));
    expect(await admin(off, 'GET', '')).toMatchObject({ status: 404, json: { error: { code: 'not_found' } } });
    const url = await open(configFor());
    expect(codeOf(await admin(url, 'GET', '', undefined, STAFF))).toBe('invalid_api_key'); // an API key is not an admin key
    expect((await admin(url, 'GET', '', undefined, 'sk-wrong')).status).toBe(401);
    await expect(chat(url, ADMIN)).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' }); // and an admin key calls no model
    expect(await admin(url, 'PUT', '')).toMatchObject({ status: 404, json: { error: { code: 'not_found' } } });
  });

  it('lets a key with role read read the keys, summaries and decisions, and change nothing', async () => {
    const url = await open(configFor({ auth: { keys: [{ name: 'staff', sha256: hashKey(STAFF) }], adminKeys: [{ name: 'ops', sha256: hashKey(ADMIN) }, { name: 'finance', sha256: hashKey(READER), role: 'read' }] } }));
    const made = await admin(url, 'POST', '', { name: 'team-r' });
    expect(made.status).toBe(201);
    expect(await admin(url, 'GET', '', undefined, READER)).toMatchObject({ status: 200, json: { data: [{ name: 'staff' }, { name: 'team-r' }] } });
    expect(await admin(url, 'GET', '/team-r', undefined, READER)).toMatchObject({ status: 200, json: { name: 'team-r', spend: { day_usd: 0 } } });
    expect((await fetch(`${url}/admin/summary`, { headers: { authorization: `Bearer ${READER}` } })).status).toBe(200);
    for (const [method, path, body] of [['POST', '', { name: 'by-reader' }], ['PATCH', '/team-r', { daily_budget_usd: 1 }], ['POST', '/team-r/rotate', undefined], ['DELETE', '/team-r', undefined]] as const) {
      expect(await admin(url, method, path, body, READER)).toMatchObject({ status: 403, json: { error: { code: 'admin_read_only' } } });
    }
    await chat(url, made.json['key'] as string); // nothing changed: the key still works
    expect(await admin(url, 'GET', '/team-r')).toMatchObject({ status: 200, json: { daily_budget_usd: null } });
  });

  it('makes a key that works at once, with its budget, models and spend; changes, rotates and revokes it', async () => {
    const url = await open(configFor());
    const made = await admin(url, 'POST', '', { name: 'team-x', daily_budget_usd: 1e-9, models: [model] });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ object: 'switchyard.api_key', name: 'team-x', source: 'admin', daily_budget_usd: 1e-9, monthly_budget_usd: null, models: [model], spend: { day_usd: 0 } });
    const secret = made.json['key'] as string;
    expect(secret).toMatch(/^sk-sy-[\w-]{43}$/);
    await chat(url, secret); // spends more than its budget…
    await expect(chat(url, secret)).rejects.toMatchObject({ status: 429, code: 'budget_exceeded' }); // …so the next is refused

    const listed = await admin(url, 'GET', '');
    const data = listed.json['data'] as Array<Record<string, unknown>>;
    expect(data.map((k) => [k['name'], k['source']])).toEqual([['staff', 'config'], ['team-x', 'admin']]);
    expect(JSON.stringify(listed.json)).not.toContain(hashKey(secret)); // neither secrets nor hashes are shown
    expect(((data[1]?.['spend'] as { day_usd: number }).day_usd)).toBeGreaterThan(1e-9);

    // a limit removed (null), a typo named, an unknown model named
    expect(await admin(url, 'PATCH', '/team-x', { daily_budget_usd: null, monthly_budget_usd: 100, min_lambda: 0.8 })).toMatchObject({ status: 200, json: { daily_budget_usd: null, monthly_budget_usd: 100, min_lambda: 0.8, models: [model] } });
    await chat(url, secret);
    const other = meta.models[1]?.id as string;
    await expect(new OpenAI({ baseURL: url, apiKey: secret, maxRetries: 0 }).chat.completions.create({ model: other, messages: [{ role: 'user', content: prompt }] })).rejects.toMatchObject({ status: 403, code: 'model_not_allowed' });
    const typo = await admin(url, 'PATCH', '/team-x', { daily_budget: 5 });
    expect(typo.status).toBe(400);
    expect(JSON.stringify(typo.json)).toContain('daily_budget');
    expect(await admin(url, 'PATCH', '/team-x', { models: [model, 'gpt-9'] })).toMatchObject({ status: 400, json: { error: { code: 'invalid_request', message: expect.stringContaining('models.1') } } });
    expect(codeOf(await admin(url, 'POST', '', { name: 'bad name!' }))).toBe('invalid_request');

    // names are unique across the config and the store; config keys change in the config file
    expect(codeOf(await admin(url, 'POST', '', { name: 'team-x' }))).toBe('key_exists');
    expect(codeOf(await admin(url, 'POST', '', { name: 'staff' }))).toBe('key_exists');
    expect(codeOf(await admin(url, 'PATCH', '/staff', { daily_budget_usd: 1 }))).toBe('key_in_config');
    expect(codeOf(await admin(url, 'DELETE', '/staff'))).toBe('key_in_config');
    expect(await admin(url, 'GET', '/staff')).toMatchObject({ status: 200, json: { name: 'staff', source: 'config' } });

    // rotation: a new secret, the old one refused, the spend kept under the name
    const rotated = await admin(url, 'POST', '/team-x/rotate');
    const fresh = rotated.json['key'] as string;
    expect(fresh).not.toBe(secret);
    await expect(chat(url, secret)).rejects.toMatchObject({ status: 401 });
    await chat(url, fresh);
    expect(((rotated.json['spend'] as { day_usd: number }).day_usd)).toBeGreaterThan(0);

    expect(await admin(url, 'DELETE', '/team-x')).toMatchObject({ status: 200, json: { name: 'team-x', deleted: true } });
    await expect(chat(url, fresh)).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
    expect(codeOf(await admin(url, 'DELETE', '/team-x'))).toBe('key_not_found');
    expect(codeOf(await admin(url, 'GET', '/team-x'))).toBe('key_not_found');
    expect(codeOf(await admin(url, 'GET', '/%E0%A4%A'))).toBe('key_not_found'); // a malformed escape names no key (not a 500)
    // every change is in the log, with the admin key's name and never a secret
    const lines = audit.filter((l) => l.includes('"msg":"admin"')).map((l) => JSON.parse(l) as { action: string; key: string; admin: string }).filter((l) => l.key === 'team-x');
    expect(lines.map((l) => l.action)).toEqual(['create', 'update', 'rotate', 'delete']);
    expect(lines.every((l) => l.admin === 'ops')).toBe(true);
    expect(audit.join('\n')).not.toContain(fresh);
  });

  it('reloads the config file over HTTP (as SIGHUP does): a change applies at once, a broken file is refused and the running config stays', async () => {
    const file = join(dir, 'reload.yaml');
    const raw = (keys: Array<{ name: string; sha256: string }>): string =>
      JSON.stringify({
        server: { port: 0 },
        models: Object.fromEntries(meta.models.map((m) => [m.id, { baseURL: upstreamURL, inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }])),
        auth: { keys, adminKeys: [{ name: 'ops', sha256: hashKey(ADMIN) }, { name: 'finance', sha256: hashKey(READER), role: 'read' }] },
      });
    writeFileSync(file, raw([{ name: 'staff', sha256: hashKey(STAFF) }]));
    const g = await Gateway.create(readGatewayConfig(file), { store: new SqliteStore(':memory:'), logger, readConfig: () => readGatewayConfig(file) });
    gateways.push(g);
    const url = await g.listen();
    const reload = async (key = ADMIN): Promise<{ status: number; json: Record<string, unknown> }> => {
      const res = await fetch(`${url}/admin/reload`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    await expect(chat(url, 'sk-new-team')).rejects.toMatchObject({ status: 401 });
    writeFileSync(file, raw([{ name: 'staff', sha256: hashKey(STAFF) }, { name: 'new-team', sha256: hashKey('sk-new-team') }]));
    expect(codeOf(await reload(READER))).toBe('admin_read_only');
    expect(await reload()).toMatchObject({ status: 200, json: { object: 'switchyard.reload', models: { added: [], removed: [], changed: [] }, needs_restart: [] } });
    await chat(url, 'sk-new-team'); // the key added to the file works now
    writeFileSync(file, raw([]).replace('"adminKeys"', '"adminkeys"')); // a misspelt field
    const broken = await reload();
    expect(broken).toMatchObject({ status: 400, json: { error: { code: 'config_invalid', message: expect.stringContaining('adminkeys') } } });
    await chat(url, 'sk-new-team'); // the running config stays
    const lines = audit.filter((l) => l.includes('"action":"reload"'));
    expect(lines).toHaveLength(1);
    // a gateway not started from a file has nothing to reload
    const plain = await open(configFor());
    expect((await fetch(`${plain}/admin/reload`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } })).status).toBe(404);
  });

  it('reports the decision log: summaries by route, key or tag, and the newest decisions', async () => {
    const url = await open(configFor());
    const client = new OpenAI({ baseURL: url, apiKey: STAFF, maxRetries: 0 });
    for (let k = 0; k < 3; k++) await client.chat.completions.create({ model, messages: [{ role: 'user', content: prompt }], metadata: { feature: k < 2 ? 'search' : 'chat' }, store: true });
    const get = async (query: string, key = ADMIN): Promise<{ status: number; json: Record<string, unknown> }> => {
      const res = await fetch(`${url}/admin/${query}`, { headers: { authorization: `Bearer ${key}` } });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    const routes = await get('summary');
    expect(routes.json).toMatchObject({ object: 'list', by: 'route', data: [{ route: model, requests: 3, answered: 3, shares: { [model]: 1 } }] });
    expect(await get('summary?by=key')).toMatchObject({ status: 200, json: { by: 'key', data: [{ group: 'staff', requests: 3 }] } });
    const byFeature = await get('summary?by=tag:feature');
    const features = (byFeature.json['data'] as Array<{ group: string; requests: number }>).map((r) => [r.group, r.requests]);
    expect(features).toHaveLength(2);
    expect(features).toEqual(expect.arrayContaining([['search', 2], ['chat', 1]]));
    expect((await get('decisions?limit=2')).json['data']).toHaveLength(2);
    expect((await get(`decisions?since=${new Date(Date.now() + 60_000).toISOString()}`)).json['data']).toEqual([]);
    expect(codeOf(await get('summary?since=yesterday'))).toBe('invalid_request');
    expect((await get('summary?since=yesterday')).json).toMatchObject({ error: { message: expect.stringContaining('since: expected a date') } });
    expect((await get('decisions?limit=0')).json).toMatchObject({ error: { message: expect.stringContaining('limit:') } });
    expect((await get('summary?by=team')).json).toMatchObject({ error: { message: expect.stringContaining('by: expected route, key, model, user or tag:NAME') } });
    expect((await get('decisions?rout=x')).json).toMatchObject({ error: { message: expect.stringContaining('rout: unknown parameter') } });
    expect((await get('summary', STAFF)).status).toBe(401);
  });

  it('keeps the keys it made across a restart (SQLite)', async () => {
    const file = join(dir, 'keys.db');
    const first = await Gateway.create(configFor(), { store: new SqliteStore(file), logger });
    const url = await first.listen();
    const secret = (await admin(url, 'POST', '', { name: 'kept', requests_per_minute: 100 })).json['key'] as string;
    await first.close();
    const again = await open(configFor(), new SqliteStore(file));
    await chat(again, secret);
    expect(await admin(again, 'GET', '/kept')).toMatchObject({ status: 200, json: { requests_per_minute: 100 } });
  });

  describe.skipIf(!hasRedis)('two replicas on one Redis', () => {
    let redis: Running | undefined;
    afterAll(async () => redis?.stop());

    it("sees a key made on the other replica, and its revocation, within store.syncMs", async () => {
      redis = await startRedis();
      const shared = (): RedisStore => new RedisStore({ url: (redis as Running).ready, keyPrefix: 'admin-test:' });
      const config = configFor({ store: { backend: 'redis', url: redis.ready, syncMs: 50 } });
      const [a, b] = [await open(config, shared()), await open(config, shared())];
      const secret = (await admin(a, 'POST', '', { name: 'both' })).json['key'] as string;
      const accepted = (): Promise<boolean> => chat(b, secret).then(() => true, () => false);
      await waitFor(accepted, 'the other replica to accept the new key', 2000, 25);
      await admin(a, 'DELETE', '/both');
      await waitFor(async () => !(await accepted()), 'the other replica to refuse the revoked key', 2000, 25);
      await expect(chat(b, secret)).rejects.toMatchObject({ status: 401 });
    });
  });
});
