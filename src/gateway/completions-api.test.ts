/**
 * The legacy completions endpoint through the gateway, driven by the official SDK's
 * `client.completions`: routed like a chat completion (replay-upstream answers with recorded
 * responses), plain and streamed, with the chat pipeline's headers and errors.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRoutedGateway, type RoutedGateway } from '../../test/helpers/routed-gateway.js';

describe('legacy completions (POST /v1/completions)', () => {
  let t: RoutedGateway;
  let client: OpenAI;

  beforeAll(async () => {
    t = await startRoutedGateway({ seed: 12 });
    client = new OpenAI({ baseURL: `${t.base}/v1`, apiKey: 'sk-team', maxRetries: 0 });
  });
  afterAll(() => t.close());

  it('routes a prompt like a chat completion and answers a text_completion, plain and streamed', async () => {
    const { data, response } = await client.completions.create({ model: 'auto', prompt: t.question.prompt, max_tokens: 200 }).withResponse();
    const model = response.headers.get('x-switchyard-model') as string;
    expect(t.meta.models.map((m) => m.id)).toContain(model);
    expect(data).toMatchObject({ object: 'text_completion', model, choices: [{ index: 0, text: t.answerOf(model), finish_reason: 'stop' }] });
    expect(data.id).toMatch(/^cmpl-/);
    expect(data.usage?.completion_tokens).toBeGreaterThan(0);
    expect(Number(response.headers.get('x-switchyard-cost-usd'))).toBeGreaterThan(0);
    const decision = await t.gateway.store.getDecision(response.headers.get('x-request-id') as string);
    expect(decision).toMatchObject({ route: 'auto', keyId: 'team', answered: model, status: 200 });
    let text = '';
    let usage: OpenAI.Completions.CompletionUsage | undefined;
    let finish: string | null = null;
    for await (const chunk of await client.completions.create({ model: 'auto', prompt: t.question.prompt, stream: true, stream_options: { include_usage: true } })) {
      text += chunk.choices[0]?.text ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe(t.answerOf(model));
    expect(finish).toBe('stop');
    expect(usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('refuses what has no chat form with a 400 naming the field, and passes the pipeline\'s errors on', async () => {
    const err = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect((await err(client.completions.create({ model: 'auto', prompt: ['a', 'b'] })))?.message).toMatch(/^400 prompt: one prompt/);
    expect((await err(client.completions.create({ model: 'auto', prompt: 'hi', echo: true })))?.message).toMatch(/^400 echo:/);
    expect((await err(client.completions.create({ model: 'auto', prompt: 'hi', logprobs: 2 })))?.message).toMatch(/^400 logprobs:/);
    expect(await err(client.completions.create({ model: 'gpt-9', prompt: 'hi' }))).toMatchObject({ status: 404, code: 'model_not_found' });
    const stranger = new OpenAI({ baseURL: client.baseURL, apiKey: 'sk-nobody', maxRetries: 0 });
    expect(await err(stranger.completions.create({ model: 'auto', prompt: t.question.prompt }))).toMatchObject({ status: 401, code: 'invalid_api_key' });
  });
});
