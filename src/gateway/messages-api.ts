/**
 * Anthropic's Messages API in front of the gateway (`POST /v1/messages`): clients built on the
 * Anthropic SDK (or tools that let you set `ANTHROPIC_BASE_URL`) send their requests here; each is
 * translated to a chat completion request and sent through the gateway's own chat pipeline
 * (`loopback.ts`: routing, auth — the `x-api-key` is the gateway key —, budgets, limits, decision
 * log), and the answer translated back: a `message`, or the Messages stream events (`message_start`,
 * `content_block_*` with text, thinking and tool-input deltas, `message_delta`, `message_stop`). Text,
 * client tools, images (base64 or URL) and thinking (`thinking` becomes chat's `reasoning_effort`; signed
 * thinking blocks travel as `thinking_blocks`, providers/anthropic-thinking.ts); documents and server tools are refused with the field named. Errors are
 * Anthropic-shaped (`{type: "error", error: {type, message}}`) and keep the gateway's stable code.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { ChatMessage, ChatPart, ChatRequest } from './http.js';
import { markErrorCode, parseJsonText, readBody } from './http.js';
import { HTTP_ERROR_CODES, type HttpErrorCode } from './openai-errors.js';
import { CostModel } from '../routers/cost-model.js';
import { callOwnChat, chatChunks, type LoopbackDeps } from './loopback.js';
import { cacheControlOf } from './providers/anthropic-cache.js';
import { contentText } from './replay-upstream/replay-data.js';
import { THINKING_BUDGETS, thinkingBlocksOf } from './providers/anthropic-thinking.js';
import type { UsageLike } from './usage-cost.js';

const Block = z
  .object({
    type: z.string(),
    text: z.string().optional(),
    id: z.string().optional(),
    name: z.string().optional(),
    input: z.unknown().optional(),
    tool_use_id: z.string().optional(),
    content: z.union([z.string(), z.array(z.object({ type: z.string(), text: z.string().optional() }).loose())]).optional(),
    is_error: z.boolean().optional(),
  })
  .loose();

export const MessagesRequestSchema = z
  .object({
    model: z.string().min(1),
    max_tokens: z.number().int().positive(),
    messages: z.array(z.object({ role: z.enum(['user', 'assistant']), content: z.union([z.string(), z.array(Block)]) }).loose()).min(1),
    system: z.union([z.string(), z.array(z.object({ type: z.string(), text: z.string().optional() }).loose())]).optional(),
    stop_sequences: z.array(z.string()).optional(),
    temperature: z.number().optional(),
    top_p: z.number().optional(),
    stream: z.boolean().optional(),
    tools: z.array(z.object({ name: z.string().min(1), description: z.string().optional(), input_schema: z.unknown().optional(), type: z.string().optional(), strict: z.boolean().optional() }).loose()).optional(),
    tool_choice: z.object({ type: z.enum(['auto', 'any', 'none', 'tool']), name: z.string().optional(), disable_parallel_tool_use: z.boolean().optional() }).loose().optional(),
    /** Extended thinking: its budget or effort becomes chat's `reasoning_effort` (effortOf). */
    thinking: z.object({ type: z.string(), budget_tokens: z.number().int().optional() }).loose().optional(),
    /** `effort` (adaptive thinking) and `format`: a JSON schema the answer follows, which becomes chat's `response_format` (toChatRequest). */
    output_config: z.object({ effort: z.string().optional(), format: z.object({ type: z.literal('json_schema'), schema: z.record(z.string(), z.unknown()) }).loose().optional() }).loose().optional(),
    /** The structured-outputs beta's name for `output_config.format`, still taken. */
    output_format: z.object({ type: z.literal('json_schema'), schema: z.record(z.string(), z.unknown()) }).loose().optional(),
    /** Anthropic's `metadata.user_id`: recorded as the spend tag `user` (tags.ts). */
    metadata: z.object({ user_id: z.string().nullable().optional() }).loose().optional(),
    /** `standard_only` becomes chat's `service_tier: default`, `auto` stays `auto`. */
    service_tier: z.enum(['auto', 'standard_only']).optional(),
  })
  .loose();
export type MessagesRequest = z.infer<typeof MessagesRequestSchema>;


/** An Anthropic image block's source as a chat image URL (base64 as a data URL), or why it has none. */
function imageUrl(source: unknown, where: string): string | { bad: string } {
  const s = (typeof source === 'object' && source !== null ? source : {}) as { type?: unknown; media_type?: unknown; data?: unknown; url?: unknown };
  if (s.type === 'base64' && typeof s.media_type === 'string' && typeof s.data === 'string') return `data:${s.media_type};base64,${s.data}`;
  if (s.type === 'url' && typeof s.url === 'string') return s.url;
  return { bad: `${where}.source: an image needs a base64 or url source (files are not supported)` };
}

function joinText(parts: ReadonlyArray<{ type: string; text?: string | undefined }>, where: string): string | { bad: string } {
  let text = '';
  for (const [j, p] of parts.entries()) {
    if (p.type !== 'text' || p.text === undefined) return { bad: `${where}.${j}.type: "${p.type}" is not supported here (text only)` };
    text += p.text;
  }
  return text;
}

/**
 * Chat's `reasoning_effort` for a Messages request's thinking: a budget by its size (the budgets of
 * THINKING_BUDGETS, rounded up), adaptive thinking by its effort (Anthropic's default: high); disabled or
 * absent, none.
 */
export function effortOf(r: Pick<MessagesRequest, 'thinking' | 'output_config'>): string | undefined {
  if (r.thinking?.type === 'enabled') {
    const budget = r.thinking.budget_tokens ?? 0;
    return Object.entries(THINKING_BUDGETS).find(([, b]) => budget <= b)?.[0] ?? 'xhigh';
  }
  if (r.thinking?.type !== 'adaptive') return undefined;
  const effort = r.output_config?.effort ?? 'high';
  return effort === 'max' ? 'xhigh' : ['low', 'medium', 'high'].includes(effort) ? effort : 'high';
}

/** A chat completion request for a Messages request, or the field that cannot be translated. */
export function toChatRequest(r: MessagesRequest): { ok: true; chat: ChatRequest } | { ok: false; message: string } {
  const messages: ChatMessage[] = [];
  if (r.system !== undefined) {
    const system = typeof r.system === 'string' ? r.system : joinText(r.system, 'system');
    if (typeof system !== 'string') return { ok: false, message: system.bad };
    // blocks marked for the prompt cache stay blocks, with their marks
    const marks = typeof r.system === 'string' ? [] : r.system.map((b) => cacheControlOf({ cache_control: b['cache_control'] }));
    if (marks.some((c) => c !== undefined) && typeof r.system !== 'string') messages.push({ role: 'system', content: r.system.map((b, j) => ({ type: 'text' as const, text: b.text ?? '', ...(marks[j] ? { cache_control: marks[j] } : {}) })) });
    else if (system !== '') messages.push({ role: 'system', content: system });
  }
  for (const [k, m] of r.messages.entries()) {
    if (typeof m.content === 'string') {
      messages.push({ role: m.role, content: m.content });
      continue;
    }
    let text = '';
    const parts: ChatPart[] = []; // a user turn's text and images, in order
    const calls: Array<Record<string, unknown>> = [];
    const thoughts: unknown[] = []; // an assistant turn's signed thinking, sent back to Claude as it came
    const results: ChatMessage[] = [];
    for (const [j, b] of m.content.entries()) {
      const where = `messages.${k}.content.${j}`;
      const cache = cacheControlOf({ cache_control: b['cache_control'] });
      if (b.type === 'text' && b.text !== undefined) {
        text += b.text;
        const last = parts[parts.length - 1];
        if (last?.type === 'text' && last.cache_control === undefined) last.text += b.text;
        else parts.push({ type: 'text', text: b.text });
        if (cache) (parts[parts.length - 1] as ChatPart).cache_control = cache;
      } else if (b.type === 'image' && m.role === 'user') {
        const url = imageUrl(b['source'], where);
        if (typeof url !== 'string') return { ok: false, message: url.bad };
        parts.push({ type: 'image_url', image_url: { url }, ...(cache ? { cache_control: cache } : {}) });
      } else if ((b.type === 'thinking' || b.type === 'redacted_thinking') && m.role === 'assistant') {
        // a streamed answer's thinking may come back unsigned (a model that does not sign): only signed blocks go on
        const [block] = thinkingBlocksOf({ thinking_blocks: [b] });
        if (block && (block.type === 'redacted_thinking' || block.signature !== '')) thoughts.push(block);
      } else if (b.type === 'tool_use' && m.role === 'assistant' && b.id && b.name) calls.push({ id: b.id, type: 'function', function: { name: b.name, arguments: JSON.stringify(b.input ?? {}) } });
      else if (b.type === 'tool_result' && m.role === 'user' && b.tool_use_id) {
        const content = typeof b.content === 'string' || b.content === undefined ? (b.content ?? '') : joinText(b.content, `${where}.content`);
        if (typeof content !== 'string') return { ok: false, message: content.bad };
        const result = b.is_error ? `Error: ${content}` : content;
        results.push({ role: 'tool', tool_call_id: b.tool_use_id, content: cache ? [{ type: 'text', text: result, cache_control: cache }] : result });
      } else return { ok: false, message: `${where}.type: "${b.type}" is not supported${b.type === 'tool_use' || b.type === 'tool_result' || b.type === 'image' ? ` in a ${m.role} message${b.type === 'image' ? '' : ' (or lacks its id)'}` : ' (text, image, tool_use and tool_result only)'}` };
    }
    // a user turn's tool results answer the previous assistant turn's calls: they come first
    messages.push(...results);
    // parts where a text is marked for the prompt cache (or a user turn has images), else the text
    const marked = parts.some((p) => p.cache_control !== undefined);
    if (m.role === 'assistant') messages.push({ role: 'assistant', content: marked ? parts : text === '' && calls.length > 0 ? null : text, ...(calls.length > 0 ? { tool_calls: calls } : {}), ...(thoughts.length > 0 ? { thinking_blocks: thoughts } : {}) });
    else if (marked || parts.some((p) => p.type === 'image_url')) messages.push({ role: 'user', content: parts });
    else if (text !== '' || results.length === 0) messages.push({ role: 'user', content: text });
  }
  const chat: Record<string, unknown> = { model: r.model, messages, max_tokens: r.max_tokens };
  if (r.temperature !== undefined) chat['temperature'] = r.temperature;
  if (r.top_p !== undefined) chat['top_p'] = r.top_p;
  if (r.service_tier) chat['service_tier'] = r.service_tier === 'standard_only' ? 'default' : 'auto';
  const effort = effortOf(r);
  if (effort !== undefined) chat['reasoning_effort'] = effort;
  if (r.stop_sequences && r.stop_sequences.length > 0) chat['stop'] = r.stop_sequences;
  // structured outputs: the schema the answer follows; not marked strict, as OpenAI's strict mode also wants every property required, which Anthropic's does not
  const format = r.output_config?.format ?? r.output_format;
  if (format) chat['response_format'] = { type: 'json_schema', json_schema: { name: 'answer', schema: format.schema } };
  if (r.tools && r.tools.length > 0) {
    const bad = r.tools.findIndex((t) => t.type !== undefined && t.type !== 'custom');
    if (bad >= 0) return { ok: false, message: `tools.${bad}.type: server tools ("${r.tools[bad]?.type}") are not supported (client tools only)` };
    chat['tools'] = r.tools.map((t) => {
      const cache = cacheControlOf({ cache_control: t['cache_control'] });
      return { type: 'function', function: { name: t.name, ...(t.description ? { description: t.description } : {}), parameters: t.input_schema ?? { type: 'object', properties: {} }, ...(t.strict !== undefined ? { strict: t.strict } : {}) }, ...(cache ? { cache_control: cache } : {}) };
    });
  }
  const tc = r.tool_choice;
  if (tc) {
    chat['tool_choice'] = tc.type === 'any' ? 'required' : tc.type === 'tool' ? { type: 'function', function: { name: tc.name ?? '' } } : tc.type;
    if (tc.disable_parallel_tool_use) chat['parallel_tool_calls'] = false;
  }
  return { ok: true, chat: chat as ChatRequest };
}

interface ChatToolCall {
  readonly index?: number;
  readonly id?: string;
  readonly function?: { readonly name?: string; readonly arguments?: string };
}
interface ChatLike {
  readonly model?: string;
  readonly choices?: ReadonlyArray<{
    message?: { content?: unknown; tool_calls?: readonly ChatToolCall[]; thinking_blocks?: unknown };
    delta?: { content?: string | null; tool_calls?: readonly ChatToolCall[]; reasoning_content?: string | null; thinking_blocks?: unknown };
    finish_reason?: string | null;
  }>;
  readonly usage?: UsageLike;
  readonly service_tier?: string | null;
  readonly error?: { readonly message?: string; readonly code?: string };
}

/**
 * A chat usage as Anthropic reports it: `input_tokens` without the tokens read from or written to the
 * prompt cache, which come apart (`cache_read_input_tokens`, `cache_creation_input_tokens`, and their
 * split by lifetime when Claude gave one) — so an Anthropic client sees its cache work.
 */
export function messagesUsage(u: UsageLike | undefined, serviceTier?: string | null): Record<string, unknown> {
  const prompt = u?.prompt_tokens ?? 0;
  const read = Math.min(prompt, u?.prompt_tokens_details?.cached_tokens ?? 0);
  const written = Math.min(prompt - read, u?.cache_creation_input_tokens ?? 0);
  // the tier that served it, in Anthropic's words (OpenAI's `default` is `standard`)
  const tier = serviceTier === 'default' ? 'standard' : serviceTier;
  return { input_tokens: prompt - read - written, output_tokens: u?.completion_tokens ?? 0, cache_read_input_tokens: read, cache_creation_input_tokens: written, ...(u?.cache_creation ? { cache_creation: u.cache_creation } : {}), ...(tier ? { service_tier: tier } : {}) };
}

const STOP: Record<string, string> = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use', function_call: 'tool_use', content_filter: 'refusal' };

function parseInput(args: string): unknown {
  try {
    return JSON.parse(args === '' ? '{}' : args);
  } catch {
    return { arguments: args };
  }
}

/** The Anthropic message for a chat completion (non-streaming). */
export function fromChatCompletion(c: ChatLike, fallbackModel: string): Record<string, unknown> {
  const choice = c.choices?.[0];
  const content: Array<Record<string, unknown>> = [...thinkingBlocksOf(choice?.message ?? {})];
  const text = choice?.message?.content;
  if (typeof text === 'string' && text !== '') content.push({ type: 'text', text });
  for (const call of choice?.message?.tool_calls ?? []) content.push({ type: 'tool_use', id: call.id ?? `toolu_${randomUUID()}`, name: call.function?.name ?? '', input: parseInput(call.function?.arguments ?? '') });
  return {
    id: `msg_${randomUUID().replace(/-/g, '')}`,
    type: 'message',
    role: 'assistant',
    model: c.model ?? fallbackModel,
    content,
    stop_reason: STOP[choice?.finish_reason ?? 'stop'] ?? 'end_turn',
    stop_sequence: null,
    usage: messagesUsage(c.usage, c.service_tier),
  };
}

/** Relays a chat completion SSE stream as Messages stream events. */
async function relayAsMessageEvents(r: MessagesRequest, body: AsyncIterable<Uint8Array>, res: ServerResponse, headers: Record<string, string>): Promise<void> {
  const send = (type: string, data: Record<string, unknown>): void => void res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
  let started = false;
  /** The open content block: text, thinking, or the tool call of a chat tool-call index. */
  let open: { index: number; call: number | 'thinking' | undefined } | undefined;
  let blocks = 0;
  /** How many of the answer's signed thinking blocks were relayed. */
  let relayedBlocks = 0;
  let stop: string | undefined;
  let usage = messagesUsage(undefined);
  const close = (): void => {
    if (open) send('content_block_stop', { index: open.index });
    open = undefined;
  };
  for await (const chunk of chatChunks<ChatLike>(body)) {
    if (!started) {
      started = true;
      send('message_start', { message: { id: `msg_${randomUUID().replace(/-/g, '')}`, type: 'message', role: 'assistant', model: chunk.model ?? r.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 } } });
    }
    if (chunk.error) {
      // the gateway's stream broke after bytes were sent: the Messages stream ends with an error event
      send('error', { error: { type: 'api_error', message: chunk.error.message ?? 'the stream broke' } });
      res.end();
      return;
    }
    const choice = chunk.choices?.[0];
    const thought = choice?.delta?.reasoning_content;
    if (typeof thought === 'string' && thought !== '') {
      if (open?.call !== 'thinking') {
        close();
        open = { index: blocks++, call: 'thinking' };
        send('content_block_start', { index: open.index, content_block: { type: 'thinking', thinking: '' } });
      }
      send('content_block_delta', { index: open.index, delta: { type: 'thinking_delta', thinking: thought } });
    }
    // the blocks signed so far, all again each time: the new ones are relayed
    const signed = thinkingBlocksOf(choice?.delta ?? {});
    for (const block of signed.slice(relayedBlocks)) {
      // a thinking block's signature closes it; a redacted block is whole
      if (block.type === 'thinking' && open?.call === 'thinking') {
        send('content_block_delta', { index: open.index, delta: { type: 'signature_delta', signature: block.signature } });
        close(); // the next thinking text is another block
      }
      if (block.type === 'redacted_thinking') {
        close();
        send('content_block_start', { index: blocks, content_block: block });
        send('content_block_stop', { index: blocks++ });
      }
    }
    relayedBlocks = Math.max(relayedBlocks, signed.length);
    const text = choice?.delta?.content;
    if (typeof text === 'string' && text !== '') {
      if (!open || open.call !== undefined) {
        close();
        open = { index: blocks++, call: undefined };
        send('content_block_start', { index: open.index, content_block: { type: 'text', text: '' } });
      }
      send('content_block_delta', { index: open.index, delta: { type: 'text_delta', text } });
    }
    for (const [k, call] of (choice?.delta?.tool_calls ?? []).entries()) {
      const n = call.index ?? k;
      if (open?.call !== n) {
        close();
        open = { index: blocks++, call: n };
        send('content_block_start', { index: open.index, content_block: { type: 'tool_use', id: call.id ?? `toolu_${randomUUID()}`, name: call.function?.name ?? '', input: {} } });
      }
      const partial = call.function?.arguments ?? '';
      if (partial !== '') send('content_block_delta', { index: open.index, delta: { type: 'input_json_delta', partial_json: partial } });
    }
    if (choice?.finish_reason) stop = STOP[choice.finish_reason] ?? 'end_turn';
    if (chunk.usage) usage = messagesUsage(chunk.usage, chunk.service_tier);
  }
  close();
  send('message_delta', { delta: { stop_reason: stop ?? 'end_turn', stop_sequence: null }, usage });
  send('message_stop', {});
  res.end();
}

const ERROR_TYPES: Record<number, string> = { 400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error', 413: 'request_too_large', 429: 'rate_limit_error', 529: 'overloaded_error' };

/**
 * An Anthropic-shaped error, keeping the gateway's stable code; counted by the metrics unless it is the
 * chat pipeline's own error passed on (`counted`: that one already was).
 */
function sendAnthropicError(res: ServerResponse, status: number, message: string, code: string, headers: Record<string, string>, counted = false): void {
  if (!counted && code in HTTP_ERROR_CODES) markErrorCode(res, code as HttpErrorCode);
  const text = JSON.stringify({ type: 'error', error: { type: ERROR_TYPES[status] ?? 'api_error', message, code } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** What `/v1/messages/count_tokens` needs beyond the loopback: whether the caller's key is known. */
export interface CountDeps {
  readonly bodyLimitBytes: number;
  readonly requestId: string;
  /** False when keys are configured and the request's key is not one of them. */
  readonly keyKnown: (authorization: string | undefined) => boolean;
}

/** The bearer header an Anthropic client's request carries: its x-api-key, else its Authorization. */
export function anthropicAuthorization(req: IncomingMessage): string | undefined {
  const apiKey = req.headers['x-api-key'];
  return typeof apiKey === 'string' ? `Bearer ${apiKey}` : req.headers.authorization;
}

/** Parses (over `defaults`) and translates a Messages request body; answers the error itself and returns undefined when it cannot. */
async function readMessages(req: IncomingMessage, res: ServerResponse, bodyLimitBytes: number, ids: Record<string, string>, defaults?: Record<string, unknown>): Promise<{ body: MessagesRequest; chat: ChatRequest } | undefined> {
  const text = await readBody(req, bodyLimitBytes);
  if (text === undefined) return void sendAnthropicError(res, 413, `request body over ${bodyLimitBytes} bytes`, 'invalid_request', ids);
  const parsed = parseJsonText(text, MessagesRequestSchema, defaults);
  if (!parsed.ok) return void sendAnthropicError(res, 400, parsed.message, 'invalid_request', ids);
  const t = toChatRequest(parsed.data);
  if (!t.ok) return void sendAnthropicError(res, 400, t.message, 'invalid_request', ids);
  return { body: parsed.data, chat: t.chat };
}

/**
 * POST /v1/messages/count_tokens: the request's input tokens (cl100k over the messages' text and the
 * tool definitions — an estimate, the routed model's own tokenizer may count differently). No model
 * is called; `max_tokens` may be left out.
 */
export async function serveCountTokens(req: IncomingMessage, res: ServerResponse, deps: CountDeps): Promise<void> {
  const ids = { 'x-request-id': deps.requestId };
  if (!deps.keyKnown(anthropicAuthorization(req))) return sendAnthropicError(res, 401, 'missing or unknown API key (x-api-key)', 'invalid_api_key', ids);
  const read = await readMessages(req, res, deps.bodyLimitBytes, ids, { max_tokens: 1 });
  if (!read) return;
  const chat = read.chat as ChatRequest & { tools?: unknown[] };
  const count = (s: string): number => CostModel.countTokens(s);
  const calls = (m: Record<string, unknown>): number => (m['tool_calls'] ? count(JSON.stringify(m['tool_calls'])) : 0);
  const tokens = chat.messages.reduce((sum, m) => sum + count(contentText(m.content)) + calls(m), 0) + (chat.tools ? count(JSON.stringify(chat.tools)) : 0);
  const out = JSON.stringify({ input_tokens: tokens });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out), ...ids });
  res.end(out);
}

/** POST /v1/messages: translate, call the gateway's own /v1/chat/completions, translate back. */
export async function serveMessages(req: IncomingMessage, res: ServerResponse, deps: LoopbackDeps): Promise<void> {
  const read = await readMessages(req, res, deps.bodyLimitBytes, { 'x-request-id': deps.requestId });
  if (!read) return;
  const { body, chat } = read;
  const stream = body.stream === true;
  // Anthropic clients send their key as x-api-key: it is the gateway key
  const userId = body.metadata?.user_id;
  const up = await callOwnChat(req, res, deps, chat, stream, anthropicAuthorization(req), typeof userId === 'string' && userId !== '' ? { user: userId } : undefined);
  if (up.status !== 200 || !stream) {
    const answer = await up.body.text();
    if (up.status !== 200) {
      let error: { message?: string; code?: string } = {};
      try {
        error = (JSON.parse(answer) as { error?: typeof error }).error ?? {};
      } catch {
        // not JSON: the message says what came back
      }
      return sendAnthropicError(res, up.status, error.message ?? answer.slice(0, 300), error.code ?? 'upstream_error', up.headers, true);
    }
    const message = JSON.stringify(fromChatCompletion(JSON.parse(answer) as ChatLike, body.model));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(message), ...up.headers });
    res.end(message);
    return;
  }
  await relayAsMessageEvents(body, up.body, res, up.headers);
}
