/**
 * OpenAI's Responses API (`POST /v1/responses`, `client.responses.create`) on top of the chat
 * completions pipeline: the request is translated to a chat completion request, sent through the
 * gateway's own `/v1/chat/completions` (so routing, fallbacks, auth, budgets, limits, metrics and the
 * decision log apply unchanged), and the answer translated back — a `response` object, or the
 * Responses stream events (`response.created` … `response.output_text.delta` … `response.completed`).
 * Text in, text out: tools, images, files and `previous_response_id` (server-side state) are refused
 * with a 400 naming the field. See docs/gateway.md, "Responses API".
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { parseJsonBody, readBody, sendError, sendJson, sseEvents, type ChatRequest } from './http.js';
import { CallSignal, type HttpPost } from './providers/openai-compatible.js';

const Part = z.object({ type: z.string(), text: z.string().optional() }).loose();
const Item = z.object({ type: z.string().optional(), role: z.string().optional(), content: z.union([z.string(), z.array(Part)]).optional() }).loose();

export const ResponsesRequestSchema = z
  .object({
    model: z.string().min(1),
    input: z.union([z.string(), z.array(Item).min(1)]),
    instructions: z.string().nullable().optional(),
    max_output_tokens: z.number().int().positive().nullable().optional(),
    temperature: z.number().nullable().optional(),
    top_p: z.number().nullable().optional(),
    stream: z.boolean().nullable().optional(),
    tools: z.array(z.unknown()).optional(),
    previous_response_id: z.string().nullable().optional(),
    text: z.object({ format: z.object({ type: z.string() }).loose().optional() }).loose().optional(),
    user: z.string().optional(),
    metadata: z.record(z.string(), z.string()).nullable().optional(),
  })
  .loose();
export type ResponsesRequest = z.infer<typeof ResponsesRequestSchema>;

/** A chat completion request for a Responses request, or the field that cannot be translated. */
export function toChatRequest(r: ResponsesRequest): { ok: true; chat: ChatRequest } | { ok: false; message: string } {
  if (r.tools && r.tools.length > 0) return { ok: false, message: 'tools: not supported on /v1/responses by this gateway yet (use /v1/chat/completions for tool calls)' };
  if (r.previous_response_id) return { ok: false, message: 'previous_response_id: this gateway keeps no responses; send the conversation in input' };
  const messages: Array<{ role: string; content: string }> = [];
  if (r.instructions) messages.push({ role: 'system', content: r.instructions });
  const items = typeof r.input === 'string' ? [{ role: 'user', content: r.input }] : r.input;
  for (const [k, item] of items.entries()) {
    if (item.type !== undefined && item.type !== 'message') return { ok: false, message: `input.${k}.type: "${item.type}" items are not supported (text messages only)` };
    const role = item.role === 'developer' ? 'system' : item.role;
    if (role !== 'user' && role !== 'assistant' && role !== 'system') return { ok: false, message: `input.${k}.role: expected user, assistant, system or developer` };
    let text = '';
    if (typeof item.content === 'string') text = item.content;
    else {
      for (const [j, part] of (item.content ?? []).entries()) {
        if ((part.type !== 'input_text' && part.type !== 'output_text') || part.text === undefined) return { ok: false, message: `input.${k}.content.${j}.type: "${part.type}" is not supported (input_text and output_text only)` };
        text += part.text;
      }
    }
    messages.push({ role, content: text });
  }
  const chat: Record<string, unknown> = { model: r.model, messages };
  if (r.max_output_tokens) chat['max_tokens'] = r.max_output_tokens;
  if (r.temperature !== undefined && r.temperature !== null) chat['temperature'] = r.temperature;
  if (r.top_p !== undefined && r.top_p !== null) chat['top_p'] = r.top_p;
  if (r.user) chat['user'] = r.user;
  const format = r.text?.format;
  if (format?.type === 'json_object') chat['response_format'] = { type: 'json_object' };
  else if (format?.type === 'json_schema') {
    const { type: _type, ...schema } = format;
    chat['response_format'] = { type: 'json_schema', json_schema: schema };
  }
  return { ok: true, chat: chat as ChatRequest };
}

interface ChatUsage {
  readonly prompt_tokens?: number;
  readonly completion_tokens?: number;
}

function usageOf(u: ChatUsage | undefined): Record<string, unknown> | null {
  if (!u) return null;
  const input = u.prompt_tokens ?? 0;
  const output = u.completion_tokens ?? 0;
  return { input_tokens: input, input_tokens_details: { cached_tokens: 0 }, output_tokens: output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: input + output };
}

/** The `response` object for an answer. */
function responseObject(r: ResponsesRequest, ids: { id: string; msg: string; created: number }, model: string, text: string, finish: string | null | undefined, usage: ChatUsage | undefined, status: 'in_progress' | 'completed' | 'incomplete'): Record<string, unknown> {
  const done = status !== 'in_progress';
  return {
    id: ids.id,
    object: 'response',
    created_at: ids.created,
    status: done && finish === 'length' ? 'incomplete' : status,
    error: null,
    incomplete_details: done && finish === 'length' ? { reason: 'max_output_tokens' } : null,
    instructions: r.instructions ?? null,
    max_output_tokens: r.max_output_tokens ?? null,
    model,
    output: done ? [{ type: 'message', id: ids.msg, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [], logprobs: [] }] }] : [],
    parallel_tool_calls: true,
    temperature: r.temperature ?? null,
    tool_choice: 'auto',
    tools: [],
    top_p: r.top_p ?? null,
    metadata: r.metadata ?? {},
    usage: done ? usageOf(usage) : null,
  };
}

function newIds(now: number): { id: string; msg: string; created: number } {
  const hex = randomUUID().replace(/-/g, '');
  return { id: `resp_${hex}`, msg: `msg_${hex}`, created: Math.floor(now / 1000) };
}

/** The Responses object for a chat completion (non-streaming). */
export function fromChatCompletion(r: ResponsesRequest, completion: { model?: string; choices?: Array<{ message?: { content?: unknown }; finish_reason?: string | null }>; usage?: ChatUsage }, now: number): Record<string, unknown> {
  const choice = completion.choices?.[0];
  const text = typeof choice?.message?.content === 'string' ? choice.message.content : '';
  return responseObject(r, newIds(now), completion.model ?? r.model, text, choice?.finish_reason, completion.usage, 'completed');
}

/** Relays a chat completion SSE stream as Responses stream events; resolves when the stream ends. */
export async function relayAsResponseEvents(r: ResponsesRequest, body: AsyncIterable<Uint8Array>, res: ServerResponse, headers: Record<string, string>, now: number): Promise<void> {
  const ids = newIds(now);
  let seq = 0;
  let model = r.model;
  let text = '';
  let finish: string | null | undefined;
  let usage: ChatUsage | undefined;
  const send = (type: string, data: Record<string, unknown>): void => void res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`);
  const item = (status: string, content: unknown[]): Record<string, unknown> => ({ type: 'message', id: ids.msg, status, role: 'assistant', content });
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
  let started = false;
  const start = (): void => {
    if (started) return;
    started = true;
    const created = responseObject(r, ids, model, '', undefined, undefined, 'in_progress');
    send('response.created', { response: created });
    send('response.in_progress', { response: created });
    send('response.output_item.added', { output_index: 0, item: item('in_progress', []) });
    send('response.content_part.added', { item_id: ids.msg, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
  };
  for await (const event of sseEvents(body)) {
    const line = event.split('\n').find((l) => l.startsWith('data:'));
    const data = line?.slice(5).trim();
    if (!data || data === '[DONE]') continue;
    const chunk = JSON.parse(data) as { model?: string; error?: { message?: string; code?: string }; choices?: Array<{ delta?: { content?: string | null }; finish_reason?: string | null }>; usage?: ChatUsage };
    if (chunk.error) {
      // the gateway's stream broke after bytes were sent: the Responses stream ends with an error event
      start();
      send('error', { code: chunk.error.code ?? 'upstream_stream_broken', message: chunk.error.message ?? 'the stream broke', param: null });
      res.end();
      return;
    }
    if (chunk.model) model = chunk.model;
    start();
    const choice = chunk.choices?.[0];
    const delta = choice?.delta?.content;
    if (typeof delta === 'string' && delta !== '') {
      text += delta;
      send('response.output_text.delta', { item_id: ids.msg, output_index: 0, content_index: 0, delta, logprobs: [] });
    }
    if (choice?.finish_reason) finish = choice.finish_reason;
    if (chunk.usage) usage = chunk.usage;
  }
  start();
  const part = { type: 'output_text', text, annotations: [], logprobs: [] };
  send('response.output_text.done', { item_id: ids.msg, output_index: 0, content_index: 0, text, logprobs: [] });
  send('response.content_part.done', { item_id: ids.msg, output_index: 0, content_index: 0, part });
  send('response.output_item.done', { output_index: 0, item: item('completed', [part]) });
  const final = responseObject(r, ids, model, text, finish, usage, 'completed');
  send(final['status'] === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: final });
  res.end();
}

export interface ResponsesDeps {
  /** How the gateway reaches itself (its undici pool). */
  readonly post: HttpPost;
  /** The gateway's own origin, e.g. http://127.0.0.1:8080. */
  readonly origin: string;
  readonly bodyLimitBytes: number;
  readonly now: () => number;
  readonly requestId: string;
}

/** Request headers passed on to the chat completions call: the key, and the per-request λ / budget / target. */
const FORWARDED = ['authorization', 'x-switchyard-lambda', 'x-switchyard-budget-usd', 'x-switchyard-target-quality'];
/** Response headers passed back: the request id, the Switchyard headers, retry-after. */
const RETURNED = /^(x-request-id|x-switchyard-.*|retry-after)$/;

/** POST /v1/responses: translate, call the gateway's own /v1/chat/completions, translate back. */
export async function serveResponses(req: IncomingMessage, res: ServerResponse, deps: ResponsesDeps): Promise<void> {
  const ids = { 'x-request-id': deps.requestId };
  const text = await readBody(req, deps.bodyLimitBytes);
  if (text === undefined) return sendError(res, 413, 'invalid_request', `request body over ${deps.bodyLimitBytes} bytes`, ids);
  const body = parseJsonBody(res, text, ResponsesRequestSchema, ids);
  if (!body) return;
  const t = toChatRequest(body);
  if (!t.ok) return sendError(res, 400, 'invalid_request', t.message, ids);
  const stream = body.stream === true;
  const chat = stream ? { ...t.chat, stream: true, stream_options: { include_usage: true } } : t.chat;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const h of FORWARDED) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  const signal = new CallSignal();
  res.once('close', () => {
    if (!res.writableEnded) signal.abort(new Error('the client went away'));
  });
  const up = await deps.post(new URL('/v1/chat/completions', deps.origin), headers, JSON.stringify(chat), signal);
  const back: Record<string, string> = {};
  for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && RETURNED.test(k)) back[k] = v;
  if (up.status !== 200 || !stream) {
    const raw = await up.body.text();
    if (up.status !== 200) {
      // the chat pipeline's OpenAI-shaped error (auth, budget, limits, routing, upstreams), as it is
      res.writeHead(up.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(raw), ...back });
      res.end(raw);
      return;
    }
    return sendJson(res, 200, fromChatCompletion(body, JSON.parse(raw) as Parameters<typeof fromChatCompletion>[1], deps.now()), back);
  }
  await relayAsResponseEvents(body, up.body, res, back, deps.now());
}
