/**
 * The answer cache end to end, with the official openai SDK against a routed gateway in front of
 * recorded answers: a repeated request is answered from the cache (free, no model call), plain or
 * streamed, whatever the key order of its JSON; per API key; the client's bypass and refresh.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readStream } from '../../test/helpers/streams.js';
import { startRoutedGateway, type RoutedGateway } from '../../test/helpers/routed-gateway.js';
import { CompletionAssembler, cacheMode } from './completion-cache.js';

describe('answer cache (cache.enabled)', () => {
  let t: RoutedGateway;
  let client: OpenAI;
  let calls = 0;
  const counting = ((input: string | URL | Request, init?: RequestInit) => {
    calls++;
    return fetch(input, init);
  }) as typeof fetch;

  beforeAll(async () => {
    t = await startRoutedGateway({ seed: 11, config: { cache: { enabled: true, ttlSeconds: 600 } }, fetch: counting });
    client = new OpenAI({ baseURL: `${t.base}/v1`, apiKey: 'sk-team', maxRetries: 0 });
  });
  afterAll(() => t.close());

  const ask = (prompt: string, extra: Partial<OpenAI.Chat.ChatCompletionCreateParamsNonStreaming> = {}, c = client) =>
    c.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }], ...extra }).withResponse();

  it('answers a repeated request from the cache: no model call, free, recorded; streamed too; key order does not matter', async () => {
    const prompt = t.question.prompt;
    const first = await ask(prompt);
    expect(first.response.headers.get('x-switchyard-cache')).toBe('miss');
    expect(Number(first.response.headers.get('x-switchyard-cost-usd'))).toBeGreaterThan(0);
    const before = calls;
    const again = await ask(prompt);
    expect(calls).toBe(before); // no model was called
    expect(again.response.headers.get('x-switchyard-cache')).toBe('hit');
    expect(again.response.headers.get('x-switchyard-cost-usd')).toBe('0');
    expect(again.data.model).toBe(first.data.model);
    expect(again.data.choices[0]?.message.content).toBe(first.data.choices[0]?.message.content);
    const decision = await t.gateway.store.getDecision(again.response.headers.get('x-request-id') as string);
    expect(decision).toMatchObject({ answered: first.data.model, costUsd: 0, status: 200 });
    expect(decision?.reason).toMatch(/answered from the cache$/);
    // streamed from the cache
    const read = await readStream(await client.chat.completions.create({ model: 'auto', stream: true, messages: [{ role: 'user', content: prompt }] }));
    expect(read.text).toBe(first.data.choices[0]?.message.content);
    expect(calls).toBe(before);
    // the same request with its JSON keys in another order
    const raw = await fetch(`${t.base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-team' }, body: `{"messages":[{"content":${JSON.stringify(prompt)},"role":"user"}],"model":"auto"}` });
    expect(raw.headers.get('x-switchyard-cache')).toBe('hit');
    // another sampling option is another request
    expect((await ask(prompt, { temperature: 0.3 })).response.headers.get('x-switchyard-cache')).toBe('miss');
    expect(calls).toBe(before + 1);
    const metrics = await (await fetch(`${t.base}/metrics`)).text();
    expect(metrics).toMatch(/switchyard_cache_total\{route="auto",result="hit"\} [3-9]/);
  });

  it('keeps entries per API key, keeps streamed answers, and does what the client asks (bypass, refresh)', async () => {
    const [a, b, c] = t.testRows.slice(1, 4).map((r) => r.prompt) as [string, string, string];
    await ask(a);
    const other = new OpenAI({ baseURL: client.baseURL, apiKey: 'sk-other-team', maxRetries: 0 });
    expect((await ask(a, {}, other)).response.headers.get('x-switchyard-cache')).toBe('miss'); // another key's entry is not shared
    // a streamed answer is kept, rebuilt from its chunks
    const streamed = await readStream(await client.chat.completions.create({ model: 'auto', stream: true, messages: [{ role: 'user', content: b }] }));
    const hit = await ask(b);
    expect(hit.response.headers.get('x-switchyard-cache')).toBe('hit');
    expect(hit.data.choices[0]?.message.content).toBe(streamed.text);
    // bypass: neither read nor written
    const bypass = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: c }] }, { headers: { 'x-switchyard-cache': 'bypass' } }).withResponse();
    expect(bypass.response.headers.get('x-switchyard-cache')).toBe('bypass');
    expect((await ask(c)).response.headers.get('x-switchyard-cache')).toBe('miss');
    // refresh (or cache-control: no-cache): the model is called, and its answer replaces the entry
    const before = calls;
    const refresh = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: c }] }, { headers: { 'cache-control': 'no-cache' } }).withResponse();
    expect(refresh.response.headers.get('x-switchyard-cache')).toBe('refresh');
    expect(calls).toBe(before + 1);
    expect((await ask(c)).response.headers.get('x-switchyard-cache')).toBe('hit');
  });

  it('streams a cached tool call as a live stream would (the SDK\'s stream helper assembles it by index)', async () => {
    const weather = { type: 'function' as const, function: { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } };
    const request = { model: 'tooler', tools: [weather], messages: [{ role: 'user' as const, content: 'Weather in Lyon?' }] };
    const live = await client.chat.completions.create(request);
    const stream = client.chat.completions.stream(request);
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]?.message.tool_calls).toEqual(live.choices[0]?.message.tool_calls);
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('reads what the client asks from its headers, and rebuilds a completion from stream chunks (tool calls included)', () => {
    expect(cacheMode({})).toBe('use');
    expect(cacheMode({ 'cache-control': 'no-store' })).toBe('bypass');
    expect(cacheMode({ 'cache-control': 'max-age=0, no-cache' })).toBe('refresh');
    expect(cacheMode({ 'x-switchyard-cache': 'bypass', 'cache-control': 'no-cache' })).toBe('bypass');
    const asm = new CompletionAssembler();
    const chunk = (delta: object, finish: string | null = null) => JSON.stringify({ id: 'c1', created: 5, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }] });
    asm.push(chunk({ role: 'assistant', content: 'Let me check. ' }));
    asm.push(chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'weather', arguments: '' } }] }));
    asm.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }));
    asm.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }));
    expect(asm.completion()).toBeUndefined(); // not finished: nothing to keep
    asm.push(chunk({}, 'tool_calls'));
    asm.push(JSON.stringify({ id: 'c1', created: 5, model: 'm', choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } }));
    expect(asm.completion()).toEqual({
      id: 'c1', created: 5, model: 'm', object: 'chat.completion',
      choices: [{ index: 0, logprobs: null, finish_reason: 'tool_calls', message: { role: 'assistant', content: 'Let me check. ', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] } }],
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
    });
    const broken = new CompletionAssembler();
    broken.push('{not json');
    broken.push(chunk({ content: 'x' }, 'stop'));
    expect(broken.completion()).toBeUndefined();
  });
});
