/**
 * A model served by several deployments: calls spread by weight, a retry goes to another deployment,
 * a failing deployment's circuit opens while the model keeps answering — unit, and end to end with
 * the openai SDK against two replay-upstream servers (one answering 503 to everything).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticAnswers, syntheticRows } from '../../test/helpers/synthetic.js';
import { createRng } from '../core/random.js';
import { loadDataset } from '../data/load.js';
import { writeDataset } from '../data/write.js';
import { hashKey } from './auth.js';
import { parseGatewayConfig, type ModelConfig } from './config.js';
import { ModelUpstreams } from './deployments.js';
import { ReplayData } from './replay-upstream/replay-data.js';
import { ReplayUpstream } from './replay-upstream/server.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

const model = (deployments?: ModelConfig['deployments']): ModelConfig => ({ provider: 'openai-compatible', baseURL: 'http://a.invalid/v1', inputPricePerMTok: 1, outputPricePerMTok: 2, ...(deployments ? { deployments } : {}) });

describe('model deployments (unit)', () => {
  it('draws deployments by weight, prefers one not tried yet, skips open circuits, and counts the model closed while any is', () => {
    let t = 0;
    const u = new ModelUpstreams(model([{ baseURL: 'http://east.invalid/v1', apiKeyEnv: 'EAST', weight: 3 }, { baseURL: 'http://west.invalid/v1', weight: 1 }]), { failureThreshold: 2, cooldownMs: 1000 }, () => t);
    expect(u.size).toBe(2);
    expect(u.config(0)).toMatchObject({ baseURL: 'http://east.invalid/v1', apiKeyEnv: 'EAST', inputPricePerMTok: 1 });
    expect(u.config(1).baseURL).toBe('http://west.invalid/v1');
    const rng = createRng(3);
    const counts = [0, 0];
    for (let k = 0; k < 4000; k++) {
      const d = u.pick(rng, new Set()) as number;
      counts[d] = (counts[d] as number) + 1;
    }
    expect((counts[0] as number) / 4000).toBeGreaterThan(0.7);
    expect((counts[0] as number) / 4000).toBeLessThan(0.8);
    expect(u.pick(rng, new Set([0]))).toBe(1); // a retry goes to the other one
    u.failure(1);
    u.failure(1);
    expect(u.breakers[1]?.state).toBe('open');
    expect(u.state).toBe('closed');
    expect(u.pick(rng, new Set([0]))).toBe(0); // the other is open: back to a tried one
    u.failure(0);
    u.failure(0);
    expect(u.state).toBe('open');
    expect(u.pick(rng, new Set())).toBeUndefined();
    t = 1000; // cool-down over: each lets one probe through
    expect(u.state).toBe('half-open');
    const probes = [u.pick(rng, new Set()), u.pick(rng, new Set()), u.pick(rng, new Set())];
    expect(probes.slice(0, 2).sort()).toEqual([0, 1]);
    expect(probes[2]).toBeUndefined();
    // one endpoint: the model's own
    const one = new ModelUpstreams(model(), { failureThreshold: 1, cooldownMs: 1000 }, () => t);
    expect(one.config(0).baseURL).toBe('http://a.invalid/v1');
    expect(one.pick(rng, new Set([0]))).toBe(0);
  });

  it('balance: fastest — tries each deployment until it can judge it, then the fastest lately (equally fast ones share), and again a minute later', () => {
    let t = 0;
    const u = new ModelUpstreams({ ...model([{ baseURL: 'http://east.invalid/v1', weight: 1 }, { baseURL: 'http://west.invalid/v1', weight: 1 }, { baseURL: 'http://north.invalid/v1', weight: 1 }]), balance: 'fastest' }, { failureThreshold: 5, cooldownMs: 1000 }, () => t);
    const rng = createRng(5);
    const firstByte = [400, 50, 55]; // east is slow, west and north about as fast
    const counts = [0, 0, 0];
    for (let k = 0; k < 300; k++) {
      const d = u.pick(rng, new Set()) as number;
      counts[d] = (counts[d] as number) + 1;
      u.recordFirstByte(d, firstByte[d] as number, t);
    }
    expect(counts[0]).toBe(3); // tried until judged, then no more
    expect(counts[1]).toBeGreaterThan(100); // the two fast ones share
    expect(counts[2]).toBeGreaterThan(100);
    expect(u.pick(rng, new Set([1, 2]))).toBe(0); // a retry still goes elsewhere
    firstByte[1] = 300; // west slows down: north takes over once west's median shows it
    for (let k = 0; k < 300; k++) {
      const d = u.pick(rng, new Set()) as number;
      u.recordFirstByte(d, firstByte[d] as number, t);
    }
    const after = [0, 0, 0];
    for (let k = 0; k < 50; k++) {
      const d = u.pick(rng, new Set()) as number;
      after[d] = (after[d] as number) + 1;
      u.recordFirstByte(d, firstByte[d] as number, t);
    }
    expect(after[2]).toBe(50);
    t += 61_000; // a minute later nothing is judged: each is tried again
    const again = new Set<number>();
    for (let k = 0; k < 9; k++) {
      const d = u.pick(rng, new Set()) as number;
      again.add(d);
      u.recordFirstByte(d, firstByte[d] as number, t);
    }
    expect([...again].sort()).toEqual([0, 1, 2]);
  });

  it('refuses deployments on a replay model, and a deployment without a URL, naming the field', () => {
    expect(() => parseGatewayConfig({ models: { m: { provider: 'replay', data: 'x', deployments: [{ baseURL: 'http://a.invalid/v1' }] } } })).toThrow(/deployments/);
    expect(() => parseGatewayConfig({ models: { m: { inputPricePerMTok: 1, outputPricePerMTok: 1, deployments: [{ weight: 2 }] } } })).toThrow(/deployments/);
  });
});

describe('model deployments (gateway, openai SDK)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-deploy-'));
  const { meta, rows } = syntheticRows({ prompts: 60, seed: 13 });
  writeDataset(dir, meta, rows, syntheticAnswers(rows, 13));
  const prompt = rows[0]?.prompt as string;
  let good: ReplayUpstream;
  let down: ReplayUpstream;
  let gateway: Gateway;
  let client: OpenAI;
  const seen: string[] = [];

  beforeAll(async () => {
    const data = await ReplayData.load(loadDataset(dir));
    good = new ReplayUpstream(data);
    down = new ReplayUpstream(data, { faultRate: 1, faults: ['503'] });
    const [goodURL, downURL] = [await good.listen(), await down.listen()];
    const counting = ((input: string | URL | Request, init?: RequestInit) => {
      seen.push(String(input).startsWith(goodURL) ? 'good' : 'down');
      return fetch(input, init);
    }) as typeof fetch;
    const config = parseGatewayConfig({
      server: { port: 0 },
      retries: 2,
      models: { 'big-model': { inputPricePerMTok: 10, outputPricePerMTok: 30, deployments: [{ baseURL: downURL, weight: 1 }, { baseURL: goodURL, weight: 1 }] } },
    });
    gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }), fetch: counting, sleep: async () => undefined });
    client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'unused', maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await good.close();
    await down.close();
  });

  it('answers through the deployment that works, retrying there when the first draw fails, until the failing one\'s circuit opens', async () => {
    for (let k = 0; k < 12; k++) {
      const r = await client.chat.completions.create({ model: 'big-model', messages: [{ role: 'user', content: prompt }] });
      expect(r.choices[0]?.message.content).not.toBe('');
    }
    const downCalls = seen.filter((s) => s === 'down').length;
    expect(downCalls).toBe(5); // its circuit opened after five failures; every request was answered
    expect(seen.filter((s) => s === 'good').length).toBe(12);
    const metrics = await (await fetch(`${client.baseURL.replace(/\/v1$/, '')}/metrics`)).text();
    expect(metrics).toContain('switchyard_deployment_circuit_state{model="big-model",deployment="0"} 2');
    expect(metrics).toContain('switchyard_deployment_circuit_state{model="big-model",deployment="1"} 0');
    expect(metrics).toContain('switchyard_circuit_state{model="big-model"} 0');
  });
});

describe('balance: fastest (gateway, openai SDK)', () => {
  it('sends the calls to the deployment that answers first once each has been tried, and the admin API shows each one\'s times', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-fastest-'));
    const { meta, rows } = syntheticRows({ prompts: 30, seed: 17 });
    writeDataset(dir, meta, rows, syntheticAnswers(rows, 17));
    const data = await ReplayData.load(loadDataset(dir));
    const quick = new ReplayUpstream(data);
    const late = new ReplayUpstream(data, { latencyMs: 80 });
    const [quickURL, lateURL] = [await quick.listen(), await late.listen()];
    const config = parseGatewayConfig({
      server: { port: 0 },
      auth: { adminKeys: [{ name: 'ops', sha256: hashKey('sk-admin'), role: 'read' }] },
      models: { 'big-model': { inputPricePerMTok: 10, outputPricePerMTok: 30, balance: 'fastest', deployments: [{ baseURL: lateURL, weight: 1 }, { baseURL: quickURL, weight: 1 }] } },
    });
    const gateway = await Gateway.create(config, { store: new SqliteStore(':memory:'), logger: pino({ level: 'silent' }) });
    try {
      const client = new OpenAI({ baseURL: await gateway.listen(), apiKey: 'unused', maxRetries: 0 });
      for (let k = 0; k < 12; k++) await client.chat.completions.create({ model: 'big-model', messages: [{ role: 'user', content: rows[k]?.prompt as string }] });
      expect(late.received).toBe(3); // tried until judged
      expect(quick.received).toBe(9);
      const status = (await (await fetch(`${client.baseURL}/admin/models`, { headers: { authorization: 'Bearer sk-admin' } })).json()) as { data: Array<{ id: string; deployments: Array<{ first_byte_ms_last_minute: { calls: number; p50: number } }> }> };
      const [slow, fast] = status.data.find((m) => m.id === 'big-model')?.deployments ?? [];
      expect(slow?.first_byte_ms_last_minute.calls).toBe(3);
      expect(fast?.first_byte_ms_last_minute.calls).toBe(9);
      expect(slow?.first_byte_ms_last_minute.p50).toBeGreaterThan(fast?.first_byte_ms_last_minute.p50 as number);
    } finally {
      await gateway.close();
      await quick.close();
      await late.close();
    }
  });
});
