/**
 * Anthropic's Messages API through the gateway, driven by the official Anthropic SDK: routed like a
 * chat completion (replay-upstream answers with recorded responses), plain and streamed, client
 * tools both ways, the gateway key sent as x-api-key, Anthropic-shaped errors.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRoutedGateway, type RoutedGateway } from '../../test/helpers/routed-gateway.js';

describe('Anthropic Messages API (POST /v1/messages)', () => {
  let t: RoutedGateway;
  let client: Anthropic;

  beforeAll(async () => {
    t = await startRoutedGateway({ seed: 9, streamText: 'Let me check. ' });
    client = new Anthropic({ baseURL: t.base, apiKey: 'sk-team', maxRetries: 0 });
  });
  afterAll(() => t.close());

  it('routes a message like a chat completion, with the key from x-api-key, the Switchyard headers and the decision log', async () => {
    const { data, response } = await client.messages.create({ model: 'auto', max_tokens: 300, system: 'Answer briefly.', messages: [{ role: 'user', content: t.question.prompt }] }).withResponse();
    const model = response.headers.get('x-switchyard-model') as string;
    expect(t.meta.models.map((m) => m.id)).toContain(model);
    expect(data).toMatchObject({ type: 'message', role: 'assistant', model, stop_reason: 'end_turn' });
    expect(data.content).toEqual([{ type: 'text', text: t.answerOf(model) }]);
    expect(data.usage.output_tokens).toBeGreaterThan(0);
    const decision = await t.gateway.store.getDecision(response.headers.get('x-request-id') as string);
    expect(decision).toMatchObject({ route: 'auto', keyId: 'team', answered: model, status: 200 });
    // Anthropic's metadata.user_id is the spend tag user
    const tagged = await client.messages.create({ model: 'auto', max_tokens: 300, metadata: { user_id: 'u-9' }, messages: [{ role: 'user', content: t.question.prompt }] }).withResponse();
    expect((await t.gateway.store.getDecision(tagged.response.headers.get('x-request-id') as string))?.tags).toEqual({ user: 'u-9' });
  });

  it('streams the Messages events; the SDK assembles the same message', async () => {
    const stream = client.messages.stream({ model: 'auto', max_tokens: 300, messages: [{ role: 'user', content: [{ type: 'text', text: t.question.prompt }] }] });
    const types: string[] = [];
    stream.on('streamEvent', (e) => void types.push(e.type));
    const message = await stream.finalMessage();
    expect(types[0]).toBe('message_start');
    expect(types.at(-1)).toBe('message_stop');
    expect(message.content).toEqual([expect.objectContaining({ type: 'text', text: t.answerOf(message.model) })]);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
  });

  it('carries client tools both ways: tool_use out, tool_result back in, streamed as input_json deltas', async () => {
    const weather = { name: 'weather', description: 'The weather in a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' } }, required: ['city'] } };
    const first = await client.messages.create({ model: 'tooler', max_tokens: 200, tools: [weather], tool_choice: { type: 'any' }, messages: [{ role: 'user', content: 'Weather in Paris?' }] });
    expect(t.toolRequests[0]?.tools).toEqual([{ type: 'function', function: { name: 'weather', description: 'The weather in a city', parameters: weather.input_schema } }]);
    expect(t.toolRequests[0]?.tool_choice).toBe('required');
    expect(first.stop_reason).toBe('tool_use');
    expect(first.content).toEqual([{ type: 'tool_use', id: 'call_1', name: 'weather', input: { city: 'Paris' } }]);
    const second = await client.messages.create({
      model: 'tooler',
      max_tokens: 200,
      tools: [weather],
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: first.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: '{"sky":"sunny"}' }] },
      ],
    });
    expect(t.toolRequests[1]?.messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"sky":"sunny"}' },
    ]);
    expect(second.content).toEqual([{ type: 'text', text: 'Sunny in Paris.' }]);
    const streamed = await client.messages.stream({ model: 'tooler', max_tokens: 200, tools: [weather], messages: [{ role: 'user', content: 'Weather in Paris?' }] }).finalMessage();
    expect(streamed.stop_reason).toBe('tool_use');
    expect(streamed.content).toEqual([expect.objectContaining({ type: 'text', text: 'Let me check. ' }), { type: 'tool_use', id: 'call_1', name: 'weather', input: { city: 'Paris' } }]);
  });

  it('carries images to the chat model as image_url parts (base64 as data URLs), in order with the text', async () => {
    const before = t.toolRequests.length;
    await client.messages.create({
      model: 'tooler',
      max_tokens: 50,
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Compare ' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } }, { type: 'image', source: { type: 'url', url: 'https://example.com/b.jpg' } }, { type: 'text', text: 'Which is larger?' }] }],
    });
    expect(t.toolRequests[before]?.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Compare ' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }, { type: 'image_url', image_url: { url: 'https://example.com/b.jpg' } }, { type: 'text', text: 'Which is larger?' }] },
    ]);
  });

  it('answers with Anthropic-shaped errors that keep the gateway\'s code', async () => {
    const err = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as InstanceType<typeof Anthropic.APIError>);
    const stranger = new Anthropic({ baseURL: t.base, apiKey: 'sk-nobody', maxRetries: 0 });
    const denied = await err(stranger.messages.create({ model: 'auto', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }));
    expect(denied).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(denied?.error).toMatchObject({ type: 'error', error: { type: 'authentication_error', code: 'invalid_api_key' } });
    const unknown = await err(client.messages.create({ model: 'claude-9', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }));
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
    const image = await err(client.messages.create({ model: 'auto', max_tokens: 10, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'file_1' } } as never] }] }));
    expect(image).toBeInstanceOf(Anthropic.BadRequestError);
    expect(image?.error).toMatchObject({ error: { type: 'invalid_request_error', message: expect.stringMatching(/^messages\.0\.content\.0\.source: an image needs a base64 or url source/) } });
    const noMax = await fetch(`${t.base}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': 'sk-team' }, body: JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] }) });
    expect(noMax.status).toBe(400);
    expect(await noMax.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringMatching(/max_tokens/) } });
    // counted once each: the image and the missing max_tokens here, the unknown key and model by the chat pipeline
    const metrics = await (await fetch(`${t.base}/metrics`)).text();
    expect(metrics).toMatch(/^switchyard_errors_total\{code="invalid_request",status="400"\} 2$/m);
    expect(metrics).toMatch(/^switchyard_errors_total\{code="invalid_api_key",status="401"\} 1$/m);
  });

  it('counts a request\'s input tokens (count_tokens) without calling a model, for known keys only', async () => {
    const counted = await client.messages.countTokens({ model: 'auto', system: 'Answer briefly.', messages: [{ role: 'user', content: t.question.prompt }] });
    const { CostModel } = await import('../routers/cost-model.js');
    expect(counted.input_tokens).toBe(CostModel.countTokens('Answer briefly.') + CostModel.countTokens(t.question.prompt));
    const stranger = new Anthropic({ baseURL: t.base, apiKey: 'sk-nobody', maxRetries: 0 });
    await expect(stranger.messages.countTokens({ model: 'auto', messages: [{ role: 'user', content: 'hi' }] })).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
  });
});
