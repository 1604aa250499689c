/** The replay upstream driven by the official `openai` SDK: recorded answers, usage, streaming, faults. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataPath, hasData } from '../../../test/helpers/data.js';
import { syntheticRows } from '../../../test/helpers/synthetic.js';
import { loadDataset } from '../../data/load.js';
import { writeDataset } from '../../data/write.js';
import { ReplayData } from './replay-data.js';
import { chunkText, ReplayUpstream } from './server.js';

describe('replay upstream (synthetic dataset with responses)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-replay-'));
  const { meta, rows } = syntheticRows({ prompts: 20 });
  const responses = rows.flatMap((r) => Object.keys(r.outcomes).map((model) => ({ id: r.id, model, response: `Answer of ${model} to ${r.id}: the result is ${r.id.length * 7}.` })));
  writeDataset(dir, meta, rows, responses);
  let upstream: ReplayUpstream;
  let client: OpenAI;
  const row = rows[3] as (typeof rows)[number];

  beforeAll(async () => {
    upstream = new ReplayUpstream(await ReplayData.load(loadDataset(dir)), { now: () => 1_700_000_000 });
    client = new OpenAI({ baseURL: await upstream.listen(), apiKey: 'test', maxRetries: 0 });
  });
  afterAll(() => upstream.close());

  it('answers a chat completion with the recorded response and its real usage', async () => {
    const r = await client.chat.completions.create({ model: 'small-2', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: row.prompt }] });
    expect(r.choices[0]?.message.content).toBe(`Answer of small-2 to ${row.id}: the result is ${row.id.length * 7}.`);
    expect(r.model).toBe('small-2');
    expect(r.created).toBe(1_700_000_000);
    const o = row.outcomes['small-2'];
    expect(r.usage).toEqual({ prompt_tokens: o?.inputTokens, completion_tokens: o?.outputTokens, total_tokens: (o?.inputTokens ?? 0) + (o?.outputTokens ?? 0) });
  });

  it('streams the same answer, with the usage chunk when asked', async () => {
    const stream = await client.chat.completions.create({ model: 'big-model', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: row.prompt }] });
    let text = '';
    let usage: unknown;
    let finish: string | null | undefined;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
      if (c.usage) usage = c.usage;
    }
    expect(text).toBe(`Answer of big-model to ${row.id}: the result is ${row.id.length * 7}.`);
    expect(finish).toBe('stop');
    expect(usage).toMatchObject({ prompt_tokens: row.outcomes['big-model']?.inputTokens });
  });

  it('lists its models and refuses unknown prompts and models with OpenAI-shaped errors', async () => {
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(meta.models.map((m) => m.id));
    await expect(client.chat.completions.create({ model: 'small-1', messages: [{ role: 'user', content: 'never recorded' }] })).rejects.toMatchObject({ status: 404, code: 'prompt_not_found' });
    await expect(client.chat.completions.create({ model: 'gpt-9', messages: [{ role: 'user', content: row.prompt }] })).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    await expect(client.chat.completions.create({ model: 'small-1', messages: [] })).rejects.toMatchObject({ status: 400, code: 'invalid_request' });
  });

  it('injects faults on demand: statuses (429 with retry-after), resets, timeouts, a stream cut midway', async () => {
    const ask = (fault: string, stream = false, timeout = 5000) =>
      client.chat.completions.create({ model: 'small-1', stream, messages: [{ role: 'user', content: row.prompt }] }, { headers: { 'x-replay-fault': fault }, timeout });
    await expect(ask('503')).rejects.toMatchObject({ status: 503, code: 'injected_fault' });
    const limited = (await ask('429').then(
      () => ({ status: 200, headers: new Headers() }),
      (e: unknown) => e as { status: number; headers: Headers },
    ));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    await expect(ask('reset')).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
    await expect(ask('timeout', false, 300)).rejects.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    const cut = await ask('cut', true);
    let got = '';
    await expect(
      (async () => {
        for await (const c of cut as AsyncIterable<OpenAI.ChatCompletionChunk>) got += c.choices[0]?.delta.content ?? '';
      })(),
    ).rejects.toThrow();
    expect(got.length).toBeLessThan(`Answer of small-1 to ${row.id}`.length + 20);
  });

  it('injects faults at a seeded rate', async () => {
    const data = await ReplayData.load(loadDataset(dir));
    const flaky = new ReplayUpstream(data, { faultRate: 0.5, faults: ['500'], seed: 4 });
    const c = new OpenAI({ baseURL: await flaky.listen(), apiKey: 'x', maxRetries: 0 });
    const outcomes: string[] = [];
    for (let k = 0; k < 20; k++) outcomes.push(await c.chat.completions.create({ model: 'small-1', messages: [{ role: 'user', content: row.prompt }] }).then(() => 'ok', (e: { status: number }) => String(e.status)));
    await flaky.close();
    expect(outcomes.filter((o) => o === '500').length).toBeGreaterThan(3);
    expect(outcomes.filter((o) => o === 'ok').length).toBeGreaterThan(3);
    expect(() => new ReplayUpstream(data, { faults: ['explode' as never] })).toThrow(/unknown fault/);
  });

  it('splits streams into word chunks that rejoin exactly', () => {
    const t = 'one two  three\nfour five six seven eight nine';
    expect(chunkText(t).join('')).toBe(t);
    expect(chunkText('')).toEqual(['']);
  });
});

describe.skipIf(!hasData('routellm_gsm8k'))('replay upstream on real recorded answers (routellm_gsm8k)', () => {
  it('serves the recorded GSM8K answer of gpt-4-1106-preview with its recorded token counts', async () => {
    const matrix = loadDataset(dataPath('routellm_gsm8k'));
    const upstream = new ReplayUpstream(await ReplayData.load(matrix));
    const client = new OpenAI({ baseURL: await upstream.listen(), apiKey: 'x', maxRetries: 0 });
    try {
      const prompt = matrix.cols.prompts[0] as string;
      const r = await client.chat.completions.create({ model: 'gpt-4-1106-preview', messages: [{ role: 'user', content: prompt }] });
      expect(r.choices[0]?.message.content?.length).toBeGreaterThan(20);
      expect(r.usage?.completion_tokens).toBe(matrix.cols.outputTokens[0 * matrix.modelCount + (matrix.modelIndex('gpt-4-1106-preview') as number)]);
    } finally {
      await upstream.close();
    }
  });
});
