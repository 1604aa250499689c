/**
 * The Responses API through the gateway, driven by the official SDK's `client.responses`: routed like
 * a chat completion (replay-upstream answers with recorded responses), plain and streamed, with the
 * chat pipeline's headers, errors and limits.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRoutedGateway, type RoutedGateway } from '../../test/helpers/routed-gateway.js';

describe('Responses API (POST /v1/responses)', () => {
  let t: RoutedGateway;
  let client: OpenAI;

  beforeAll(async () => {
    t = await startRoutedGateway({ seed: 8 });
    client = new OpenAI({ baseURL: `${t.base}/v1`, apiKey: 'sk-team', maxRetries: 0 });
  });
  afterAll(() => t.close());

  it('routes a response like a chat completion: the chosen model\'s answer, its usage, the Switchyard headers, the decision log', async () => {
    const { data, response } = await client.responses.create({ model: 'auto', instructions: 'Answer briefly.', input: t.question.prompt, max_output_tokens: 200 }).withResponse();
    const model = response.headers.get('x-switchyard-model') as string;
    expect(t.meta.models.map((m) => m.id)).toContain(model);
    expect(data.object).toBe('response');
    expect(data.status).toBe('completed');
    expect(data.model).toBe(model);
    expect(data.output_text).toBe(t.answerOf(model));
    expect(data.usage?.output_tokens).toBeGreaterThan(0);
    expect(data.usage?.total_tokens).toBe((data.usage?.input_tokens ?? 0) + (data.usage?.output_tokens ?? 0));
    expect(Number(response.headers.get('x-switchyard-cost-usd'))).toBeGreaterThan(0);
    const decision = await t.gateway.store.getDecision(response.headers.get('x-request-id') as string);
    expect(decision).toMatchObject({ route: 'auto', keyId: 'team', answered: model, status: 200 });
    // spend tags: the request's user and metadata
    const tagged = await client.responses.create({ model: 'auto', input: t.question.prompt, user: 'u-7', metadata: { feature: 'faq' } }).withResponse();
    expect((await t.gateway.store.getDecision(tagged.response.headers.get('x-request-id') as string))?.tags).toEqual({ user: 'u-7', feature: 'faq' });
    // input as message items with content parts
    const items = await client.responses.create({ model: 'auto', input: [{ role: 'developer', content: 'Be brief.' }, { role: 'user', content: [{ type: 'input_text', text: t.question.prompt }] }] });
    expect(items.output_text).toBe(t.answerOf(items.model));
  });

  it('streams the Responses events, text deltas to completed with usage', async () => {
    const stream = await client.responses.create({ model: 'auto', input: t.question.prompt, stream: true });
    const types: string[] = [];
    let text = '';
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    expect(types[0]).toBe('response.created');
    expect(types.at(-1)).toBe('response.completed');
    expect(types).toContain('response.output_text.done');
    expect(completed?.model).toBeDefined();
    expect(text).toBe(t.answerOf(completed?.model as string));
    expect(completed?.usage?.output_tokens).toBeGreaterThan(0);
  });

  it('refuses what it cannot translate with a 400 naming the field, and passes the chat pipeline\'s errors on', async () => {
    const err = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    const tools = await err(client.responses.create({ model: 'auto', input: 'hi', tools: [{ type: 'web_search' }] }));
    expect(tools).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(tools?.message).toMatch(/^400 tools\.0\.type: only function tools/);
    const file = await err(client.responses.create({ model: 'auto', input: [{ role: 'user', content: [{ type: 'input_image', file_id: 'file-1', detail: 'auto' }] }] }));
    expect(file?.message).toMatch(/input\.0\.content\.0: an input_image needs image_url \(a URL or a data URL; file_id is not supported\)/);
    const audio = await err(client.responses.create({ model: 'auto', input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file-1' }] }] }));
    expect(audio?.message).toMatch(/input\.0\.content\.0\.type: "input_file" is not supported \(input_text, output_text and input_image\)/);
    expect(await err(client.responses.create({ model: 'auto', input: 'hi', previous_response_id: 'resp_1' }))).toMatchObject({ status: 404, code: 'response_not_found' });
    expect(await err(client.responses.create({ model: 'gpt-9', input: 'hi' }))).toMatchObject({ status: 404, code: 'model_not_found' });
    const stranger = new OpenAI({ baseURL: client.baseURL, apiKey: 'sk-nobody', maxRetries: 0 });
    expect(await err(stranger.responses.create({ model: 'auto', input: t.question.prompt }))).toMatchObject({ status: 401, code: 'invalid_api_key' });
  });

  it('carries function tools both ways: calls out as function_call items (streamed as argument deltas), outputs back in as tool messages', async () => {
    const weather = { type: 'function' as const, name: 'weather', description: 'The weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, strict: true };
    const first = await client.responses.create({ model: 'tooler', input: 'Weather in Paris?', tools: [weather], tool_choice: 'auto' });
    expect(t.toolRequests[0]?.tools).toEqual([{ type: 'function', function: { name: 'weather', description: 'The weather in a city', parameters: weather.parameters, strict: true } }]);
    expect(t.toolRequests[0]?.tool_choice).toBe('auto');
    const call = first.output.find((o) => o.type === 'function_call');
    expect(call).toMatchObject({ type: 'function_call', call_id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}', status: 'completed' });
    // the next turn sends the call and its output back
    const second = await client.responses.create({
      model: 'tooler',
      tools: [weather],
      input: [{ role: 'user', content: 'Weather in Paris?' }, { type: 'function_call', call_id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' }, { type: 'function_call_output', call_id: 'call_1', output: '{"sky":"sunny"}' }],
    });
    expect(t.toolRequests[1]?.messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"sky":"sunny"}' },
    ]);
    expect(second.output_text).toBe('Sunny in Paris.');
    // streamed: the call arrives as argument deltas, and whole in response.completed
    const stream = await client.responses.create({ model: 'tooler', input: 'Weather in Paris?', tools: [weather], stream: true });
    let args = '';
    const types: string[] = [];
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'response.function_call_arguments.delta') args += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    expect(args).toBe('{"city":"Paris"}');
    expect(types).toEqual(expect.arrayContaining(['response.output_item.added', 'response.function_call_arguments.done', 'response.output_item.done']));
    expect(completed?.output).toEqual([expect.objectContaining({ type: 'function_call', call_id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' })]);
    expect(completed?.usage?.total_tokens).toBe(30);
  });

  it('stores responses: previous_response_id continues the conversation (instructions not carried over), streamed ones too; retrieve and delete; per API key; store: false keeps none', async () => {
    const err = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    const weather = { type: 'function' as const, name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false };
    const before = t.toolRequests.length;
    const first = await client.responses.create({ model: 'tooler', instructions: 'Use the tools.', input: 'Weather in Paris?', tools: [weather] });
    expect(first).toMatchObject({ store: true, previous_response_id: null });
    // the next turn names the first: only the tool's output is sent, the gateway adds the conversation
    const second = await client.responses.create({ model: 'tooler', previous_response_id: first.id, tools: [weather], input: [{ type: 'function_call_output', call_id: 'call_1', output: '{"sky":"sunny"}' }] });
    expect(t.toolRequests[before + 1]?.messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"sky":"sunny"}' },
    ]);
    expect(second).toMatchObject({ previous_response_id: first.id, output_text: 'Sunny in Paris.' });
    // its input items: the conversation before its answer, earlier turns included (newest first by default)
    const items: Array<Record<string, unknown>> = [];
    for await (const item of client.responses.inputItems.list(second.id, { order: 'asc' })) items.push(item as unknown as Record<string, unknown>);
    expect(items).toMatchObject([
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Weather in Paris?' }] },
      { type: 'function_call', call_id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' },
      { type: 'function_call_output', call_id: 'call_1', output: '{"sky":"sunny"}' },
    ]);
    const newest: string[] = [];
    for await (const item of client.responses.inputItems.list(second.id)) newest.push(item.type);
    expect(newest).toEqual(['function_call_output', 'function_call', 'message']);
    // a third turn on the second carries all of it, its text answer included, and its own instructions only
    await client.responses.create({ model: 'tooler', previous_response_id: second.id, instructions: 'Be brief.', input: 'And tomorrow?' });
    expect(t.toolRequests[before + 2]?.messages.map((m) => [m['role'], m['content']])).toEqual([
      ['system', 'Be brief.'], ['user', 'Weather in Paris?'], ['assistant', null], ['tool', '{"sky":"sunny"}'], ['assistant', 'Sunny in Paris.'], ['user', 'And tomorrow?'],
    ]);
    // a streamed response is stored as well
    const stream = await client.responses.create({ model: 'auto', input: t.question.prompt, stream: true });
    let completed: OpenAI.Responses.Response | undefined;
    for await (const event of stream) if (event.type === 'response.completed') completed = event.response;
    const streamed = await client.responses.retrieve(completed?.id as string);
    expect(streamed).toMatchObject({ status: 'completed', output: completed?.output });
    expect(streamed.output_text).toBe(t.answerOf(streamed.model));
    // retrieve returns the response as it was answered
    const again = await client.responses.retrieve(first.id);
    expect(again.id).toBe(first.id);
    expect(again.output).toEqual(first.output);
    // another key sees none of it
    const other = new OpenAI({ baseURL: client.baseURL, apiKey: 'sk-other-team', maxRetries: 0 });
    expect(await err(other.responses.retrieve(first.id))).toMatchObject({ status: 404, code: 'response_not_found' });
    expect(await err(other.responses.create({ model: 'tooler', previous_response_id: first.id, input: 'hi' }))).toMatchObject({ status: 404, code: 'response_not_found' });
    expect(await err(other.responses.delete(first.id))).toMatchObject({ status: 404 });
    const stranger = new OpenAI({ baseURL: client.baseURL, apiKey: 'sk-nobody', maxRetries: 0 });
    expect(await err(stranger.responses.retrieve(first.id))).toMatchObject({ status: 401, code: 'invalid_api_key' });
    // store: false keeps nothing
    const unkept = await client.responses.create({ model: 'auto', input: t.question.prompt, store: false });
    expect(unkept).toMatchObject({ store: false });
    expect(await err(client.responses.retrieve(unkept.id))).toMatchObject({ status: 404, code: 'response_not_found' });
    // delete: gone for good
    await client.responses.delete(first.id);
    expect(await err(client.responses.retrieve(first.id))).toMatchObject({ status: 404 });
    expect(await err(client.responses.create({ model: 'tooler', previous_response_id: first.id, input: 'hi' }))).toMatchObject({ status: 404, code: 'response_not_found' });
  });

  it('carries images to the chat model as image_url parts, in order with the text, and lists them in the input items', async () => {
    const before = t.toolRequests.length;
    const png = 'data:image/png;base64,iVBORw0KGgo=';
    const made = await client.responses.create({
      model: 'tooler',
      input: [{ role: 'user', content: [{ type: 'input_text', text: 'What is in ' }, { type: 'input_text', text: 'these?' }, { type: 'input_image', image_url: png, detail: 'low' }, { type: 'input_image', image_url: 'https://example.com/b.jpg', detail: 'auto' }] }],
    });
    expect(t.toolRequests[before]?.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'What is in ' }, { type: 'text', text: 'these?' }, { type: 'image_url', image_url: { url: png, detail: 'low' } }, { type: 'image_url', image_url: { url: 'https://example.com/b.jpg', detail: 'auto' } }] },
    ]);
    // a reasoning model's effort and a GPT-5 verbosity reach the chat model in their chat forms
    const thought = await client.responses.create({ model: 'tooler', input: 'Think about it.', reasoning: { effort: 'high' }, text: { verbosity: 'low' } });
    expect(t.toolRequests.at(-1)).toMatchObject({ reasoning_effort: 'high', verbosity: 'low' });
    expect(thought.usage?.output_tokens_details.reasoning_tokens).toBe(4); // the chat usage's details come back
    const items = await client.responses.inputItems.list(made.id, { order: 'asc' });
    expect(items.data[0]).toMatchObject({ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'What is in ' }, { type: 'input_text', text: 'these?' }, { type: 'input_image', image_url: png, detail: 'low' }, { type: 'input_image', image_url: 'https://example.com/b.jpg', detail: 'auto' }] });
  });
});
