/**
 * Conversation affinity (`routes.X.sticky`): a conversation's later turns go to the model that
 * answered its first, where the router alone would switch; the conversation is named by the client or
 * by its beginning; a turn the kept model cannot take is routed (and then remembered); replicas
 * sharing a store share what they remember; it expires.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatCompletion, startJsonServer, type JsonServer } from '../../test/helpers/json-server.js';
import { syntheticRows } from '../../test/helpers/synthetic.js';
import { buildMatrix } from '../data/load.js';
import { RulesRouter } from '../routers/rules/rules.js';
import { conversationOf, ConversationAffinity } from './affinity.js';
import { parseGatewayConfig } from './config.js';
import type { ChatRequest } from './http.js';
import { Gateway } from './server.js';
import { SqliteStore } from './store/sqlite-store.js';

const { meta, rows } = syntheticRows({ prompts: 80, models: 2 });
type Message = OpenAI.Chat.Completions.ChatCompletionMessageParam;

describe('routes.X.sticky', () => {
  let dir: string;
  let upstream: JsonServer;
  const gateways: Gateway[] = [];
  let now = Date.now(); // a store keeps expiries by the wall clock

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sy-sticky-'));
    // a prompt about python goes to big-model, anything else to small-1
    const router = new RulesRouter({ tiers: [{ name: 'code', when: { keywords: ['python'] }, models: ['big-model'] }], default: ['small-1'] });
    await router.fit(buildMatrix(meta, rows).view('train'), { seed: 0 });
    writeFileSync(join(dir, 'rules.json'), JSON.stringify(router.toArtifact()));
    upstream = await startJsonServer((body, reply) => reply(200, { ...chatCompletion(`answer of ${String(body['model'])}`), model: body['model'] }));
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await upstream.close();
  });

  async function gateway(store = new SqliteStore(':memory:'), tools = true): Promise<OpenAI> {
    const models = { 'big-model': { baseURL: upstream.url, inputPricePerMTok: 10, outputPricePerMTok: 30 }, 'small-1': { baseURL: upstream.url, inputPricePerMTok: 0.2, outputPricePerMTok: 0.4, ...(tools ? {} : { supports: { tools: false } }) } };
    const router = join(dir, 'rules.json');
    const config = parseGatewayConfig({ server: { port: 0 }, models, routes: { auto: { router, sticky: { ttlSeconds: 60 } }, fresh: { router } } });
    const g = await Gateway.create(config, { store, logger: pino({ level: 'silent' }), now: () => now });
    gateways.push(g);
    return new OpenAI({ baseURL: await g.listen(), apiKey: 'unused', maxRetries: 0 });
  }

  /** Asks `messages` of `route`: the model that answered and the sticky header. */
  async function ask(client: OpenAI, route: string, messages: Message[], conversation?: string, extra: Partial<OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming> = {}): Promise<{ model: string | null; sticky: string | null; text: string }> {
    const { data, response } = await client.chat.completions.create({ model: route, messages, ...extra }, conversation ? { headers: { 'x-switchyard-conversation': conversation } } : {}).withResponse();
    return { model: response.headers.get('x-switchyard-model'), sticky: response.headers.get('x-switchyard-sticky'), text: data.choices[0]?.message.content ?? '' };
  }

  const turn1: Message[] = [{ role: 'system', content: 'You are helpful.' }, { role: 'user', content: 'hello, can you help me?' }];
  const turn2 = (answer: string): Message[] => [...turn1, { role: 'assistant', content: answer }, { role: 'user', content: 'write python that sorts a list' }];

  it('keeps a conversation on the model of its first turn, where a route without it switches', async () => {
    const client = await gateway();
    const first = await ask(client, 'auto', turn1);
    expect(first).toMatchObject({ model: 'small-1', sticky: null });
    expect(await ask(client, 'auto', turn2(first.text))).toMatchObject({ model: 'small-1', sticky: 'kept' });
    expect(await ask(client, 'fresh', turn2(first.text))).toMatchObject({ model: 'big-model', sticky: null }); // routed afresh: the python turn goes to the big model
    // another conversation (another first message) is routed on its own
    expect(await ask(client, 'auto', [{ role: 'user', content: 'python question first' }, { role: 'assistant', content: 'ok' }, { role: 'user', content: 'and then?' }])).toMatchObject({ model: 'big-model', sticky: null });
  });

  it('names a conversation by the client\'s header, whatever its messages', async () => {
    const client = await gateway();
    expect(await ask(client, 'auto', [{ role: 'user', content: 'python please' }], 'conv-42')).toMatchObject({ model: 'big-model', sticky: null });
    expect(await ask(client, 'auto', [{ role: 'user', content: 'just chat' }], 'conv-42')).toMatchObject({ model: 'big-model', sticky: 'kept' });
    expect(await ask(client, 'auto', [{ role: 'user', content: 'just chat' }], 'conv-43')).toMatchObject({ model: 'small-1', sticky: null });
    // through the Responses API too (its requests reach the chat pipeline with the header)
    const r = await client.responses.create({ model: 'auto', input: 'just chat' }, { headers: { 'x-switchyard-conversation': 'conv-42' } }).withResponse();
    expect([r.data.model, r.response.headers.get('x-switchyard-sticky')]).toEqual(['big-model', 'kept']);
  });

  it('routes a turn the kept model cannot take, then keeps the model that answered it; forgets after ttlSeconds', async () => {
    const client = await gateway(undefined, false); // small-1 has no tools
    const first = await ask(client, 'auto', turn1);
    expect(first.model).toBe('small-1');
    const tools: OpenAI.Chat.Completions.ChatCompletionTool[] = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }];
    const withTools = [...turn1, { role: 'assistant', content: first.text }, { role: 'user', content: 'look it up' }] as Message[];
    expect(await ask(client, 'auto', withTools, undefined, { tools })).toMatchObject({ model: 'big-model', sticky: null });
    const after = [...withTools, { role: 'assistant', content: 'found it' }, { role: 'user', content: 'thanks' }] as Message[];
    expect(await ask(client, 'auto', after)).toMatchObject({ model: 'big-model', sticky: 'kept' }); // small-1 could take it, but big-model holds the conversation now
    now += 61_000;
    expect(await ask(client, 'auto', after)).toMatchObject({ model: 'small-1', sticky: null }); // expired: routed again
  });

  it('shares conversations between gateways on one store file (server.workers)', async () => {
    const file = join(dir, 'shared.db');
    const a = await gateway(new SqliteStore(file, { shared: true }));
    const b = await gateway(new SqliteStore(file, { shared: true }));
    const first = await ask(a, 'auto', turn1);
    expect(await ask(b, 'auto', turn2(first.text))).toMatchObject({ model: 'small-1', sticky: 'kept' });
  });

  it('names a conversation by its beginning, per route and API key', () => {
    const body = (messages: ChatRequest['messages']): ChatRequest => ({ model: 'auto', messages }) as ChatRequest;
    const start = conversationOf('auto', null, body([{ role: 'user', content: 'hi' }]), {});
    const later = conversationOf('auto', null, body([{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }, { role: 'user', content: 'more' }]), {});
    expect(start).toMatchObject({ continues: false });
    expect(later).toMatchObject({ id: start?.id, continues: true });
    expect(conversationOf('auto', 'team', body([{ role: 'user', content: 'hi' }]), {})?.id).not.toBe(start?.id);
    expect(conversationOf('other', null, body([{ role: 'user', content: 'hi' }]), {})?.id).not.toBe(start?.id);
    expect(conversationOf('auto', null, body([{ role: 'system', content: 'Be terse.' }, { role: 'user', content: 'hi' }]), {})?.id).not.toBe(start?.id);
    expect(conversationOf('auto', null, body([{ role: 'assistant', content: 'hello' }]), {})).toBeUndefined();
  });

  it('takes a store that does not answer as knowing no conversation (the router decides)', async () => {
    const down = { shared: true, getExpiring: () => Promise.reject(new Error('down')), putExpiring: () => Promise.reject(new Error('down')) };
    const affinity = new ConversationAffinity(down, () => now);
    await affinity.remember('c', 'small-1', { ttlSeconds: 60 });
    expect(await affinity.modelOf('c')).toBeUndefined();
  });
});
