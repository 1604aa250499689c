/**
 * OpenAI's Responses API (`POST /v1/responses`, `client.responses.create`) on top of the chat
 * completions pipeline: the request is translated to a chat completion request
 * (`responses-request.ts`), sent through the gateway's own `/v1/chat/completions` (so routing,
 * fallbacks, auth, budgets, limits, metrics and the decision log apply unchanged), and the answer
 * translated back — a `response` object, or the Responses stream events (`response.created` …
 * `response.output_text.delta` / `response.function_call_arguments.delta` … `response.completed`).
 * A model's reasoning text (`reasoning_content`) becomes a `reasoning` item, Claude's signed thinking
 * its `encrypted_content`, which a client sends back in its next input to keep thinking in a tool loop.
 * Responses are stored for `previous_response_id` and `GET`/`DELETE /v1/responses/{id}`
 * (responses-store.ts). See docs/gateway.md, "Responses API".
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { UNKNOWN_KEY_MESSAGE } from './auth.js';
import { readJsonBody, sendError, sendJson } from './http.js';
import { callOwnChat, chatChunks, relayError, type LoopbackDeps } from './loopback.js';
import { ResponsesRequestSchema, toChatRequest, type ChatMessage, type ResponsesRequest } from './responses-request.js';
import { assistantMessage, inputItems, type StoredResponses } from './responses-store.js';
import { encodeThinking, thinkingBlocksOf, type ThinkingBlock } from './providers/anthropic-thinking.js';

export interface ResponsesDeps extends LoopbackDeps {
  readonly stored: StoredResponses;
  /** The API key a bearer header names: its name, null when the gateway has no keys, undefined when missing or unknown. */
  readonly keyName: (authorization: string | undefined) => string | null | undefined;
}

interface ChatUsage {
  readonly prompt_tokens?: number;
  readonly completion_tokens?: number;
  readonly prompt_tokens_details?: { readonly cached_tokens?: number } | null;
  readonly completion_tokens_details?: { readonly reasoning_tokens?: number } | null;
}
interface ChatToolCallDelta {
  readonly index?: number;
  readonly id?: string;
  readonly function?: { readonly name?: string; readonly arguments?: string };
}
interface ChatChoice {
  readonly message?: { readonly content?: unknown; readonly tool_calls?: readonly ChatToolCallDelta[]; readonly reasoning_content?: unknown; readonly thinking_blocks?: unknown };
  readonly delta?: { readonly content?: string | null; readonly tool_calls?: readonly ChatToolCallDelta[]; readonly reasoning_content?: string | null; readonly thinking_blocks?: unknown };
  readonly finish_reason?: string | null;
}
interface ChatCompletionLike {
  readonly model?: string;
  readonly choices?: readonly ChatChoice[];
  readonly usage?: ChatUsage;
  readonly service_tier?: string | null;
  readonly error?: { readonly message?: string; readonly code?: string };
}

type Emit = (type: string, data: Record<string, unknown>) => void;

/** An output item being built: the message's text, one function call, or the model's reasoning (its text, and Claude's signed thinking blocks). */
type OutputItem =
  | { kind: 'message'; id: string; text: string }
  | { kind: 'call'; id: string; callId: string; name: string; args: string }
  | { kind: 'reasoning'; id: string; text: string; blocks: readonly ThinkingBlock[] };

/**
 * Builds a response's output items from chat pieces, in the order they first appear, and emits the
 * Responses stream events for them when given an emitter (none for a non-streamed answer).
 */
class OutputAssembler {
  readonly items: OutputItem[] = [];
  private message: Extract<OutputItem, { kind: 'message' }> | undefined;
  private reasoning: Extract<OutputItem, { kind: 'reasoning' }> | undefined;
  private readonly calls = new Map<number, Extract<OutputItem, { kind: 'call' }>>();

  constructor(
    private readonly hex: string,
    private readonly emit: Emit | undefined,
  ) {}

  text(delta: string): void {
    if (!this.message) {
      this.message = { kind: 'message', id: `msg_${this.hex}`, text: '' };
      this.open(this.message);
    }
    this.message.text += delta;
    this.emit?.('response.output_text.delta', { item_id: this.message.id, output_index: this.items.indexOf(this.message), content_index: 0, delta, logprobs: [] });
  }

  /** Reasoning text (`reasoning_content`); `blocks`: the signed thinking blocks so far (a stream sends them all again as each is signed). */
  thought(delta: string, blocks: readonly ThinkingBlock[] = []): void {
    if (!this.reasoning && (delta !== '' || blocks.length > 0)) {
      this.reasoning = { kind: 'reasoning', id: `rs_${this.hex}`, text: '', blocks: [] };
      this.open(this.reasoning);
    }
    const item = this.reasoning;
    if (!item) return;
    if (delta !== '') {
      item.text += delta;
      this.emit?.('response.reasoning_text.delta', { item_id: item.id, output_index: this.items.indexOf(item), content_index: 0, delta });
    }
    if (blocks.length > 0) item.blocks = blocks;
  }

  call(d: ChatToolCallDelta, position: number): void {
    const index = d.index ?? position;
    let call = this.calls.get(index);
    if (!call) {
      call = { kind: 'call', id: `fc_${this.hex}_${index}`, callId: d.id ?? `call_${this.hex}_${index}`, name: d.function?.name ?? '', args: '' };
      this.calls.set(index, call);
      this.open(call);
    } else if (d.function?.name) call.name += d.function.name;
    const delta = d.function?.arguments ?? '';
    if (delta === '') return;
    call.args += delta;
    this.emit?.('response.function_call_arguments.delta', { item_id: call.id, output_index: this.items.indexOf(call), delta });
  }

  /** Closes every item (and gives an empty message when nothing came); the response's output. */
  finish(): Array<Record<string, unknown>> {
    if (this.items.length === 0) this.text('');
    for (const [k, item] of this.items.entries()) {
      const done = this.render(item);
      if (item.kind === 'message') {
        const part = (done['content'] as unknown[])[0];
        this.emit?.('response.output_text.done', { item_id: item.id, output_index: k, content_index: 0, text: item.text, logprobs: [] });
        this.emit?.('response.content_part.done', { item_id: item.id, output_index: k, content_index: 0, part });
      } else if (item.kind === 'reasoning') {
        this.emit?.('response.reasoning_text.done', { item_id: item.id, output_index: k, content_index: 0, text: item.text });
        this.emit?.('response.content_part.done', { item_id: item.id, output_index: k, content_index: 0, part: { type: 'reasoning_text', text: item.text } });
      } else this.emit?.('response.function_call_arguments.done', { item_id: item.id, output_index: k, name: item.name, arguments: item.args });
      this.emit?.('response.output_item.done', { output_index: k, item: done });
    }
    return this.items.map((item) => this.render(item));
  }

  private open(item: OutputItem): void {
    this.items.push(item);
    const k = this.items.length - 1;
    this.emit?.('response.output_item.added', { output_index: k, item: this.render(item, 'in_progress') });
    if (item.kind === 'message') this.emit?.('response.content_part.added', { item_id: item.id, output_index: k, content_index: 0, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
    if (item.kind === 'reasoning') this.emit?.('response.content_part.added', { item_id: item.id, output_index: k, content_index: 0, part: { type: 'reasoning_text', text: '' } });
  }

  private render(item: OutputItem, status = 'completed'): Record<string, unknown> {
    if (item.kind === 'reasoning') {
      const signed = item.blocks.length > 0 ? encodeThinking(item.blocks) : null;
      return { type: 'reasoning', id: item.id, summary: [], content: status === 'completed' ? [{ type: 'reasoning_text', text: item.text }] : [], encrypted_content: status === 'completed' ? signed : null, status };
    }
    if (item.kind === 'call') return { type: 'function_call', id: item.id, call_id: item.callId, name: item.name, arguments: status === 'completed' ? item.args : '', status };
    return { type: 'message', id: item.id, status, role: 'assistant', content: status === 'completed' ? [{ type: 'output_text', text: item.text, annotations: [], logprobs: [] }] : [] };
  }
}

function usageOf(u: ChatUsage | undefined): Record<string, unknown> | null {
  if (!u) return null;
  const input = u.prompt_tokens ?? 0;
  const output = u.completion_tokens ?? 0;
  const cached = u.prompt_tokens_details?.cached_tokens ?? 0;
  const reasoning = u.completion_tokens_details?.reasoning_tokens ?? 0;
  return { input_tokens: input, input_tokens_details: { cached_tokens: cached }, output_tokens: output, output_tokens_details: { reasoning_tokens: reasoning }, total_tokens: input + output };
}

/** The `response` object: in progress (no output yet), or done with its output items and usage. */
function responseObject(r: ResponsesRequest, id: string, created: number, model: string, done?: { output: Array<Record<string, unknown>>; finish: string | null | undefined; usage: ChatUsage | undefined; serviceTier?: string | null | undefined }): Record<string, unknown> {
  const cut = done?.finish === 'length';
  return {
    id,
    object: 'response',
    created_at: created,
    status: !done ? 'in_progress' : cut ? 'incomplete' : 'completed',
    error: null,
    incomplete_details: cut ? { reason: 'max_output_tokens' } : null,
    instructions: r.instructions ?? null,
    max_output_tokens: r.max_output_tokens ?? null,
    model,
    output: done?.output ?? [],
    parallel_tool_calls: r.parallel_tool_calls ?? true,
    temperature: r.temperature ?? null,
    tool_choice: r.tool_choice ?? 'auto',
    tools: r.tools ?? [],
    top_p: r.top_p ?? null,
    metadata: r.metadata ?? {},
    previous_response_id: r.previous_response_id ?? null,
    store: r.store !== false,
    service_tier: done?.serviceTier ?? r.service_tier ?? null,
    usage: done ? usageOf(done.usage) : null,
  };
}

/** The Responses object for a chat completion (non-streaming). */
export function fromChatCompletion(r: ResponsesRequest, completion: ChatCompletionLike, now: number): Record<string, unknown> {
  const hex = randomUUID().replace(/-/g, '');
  const choice = completion.choices?.[0];
  const out = new OutputAssembler(hex, undefined);
  const reasoning = choice?.message?.reasoning_content;
  out.thought(typeof reasoning === 'string' ? reasoning : '', thinkingBlocksOf(choice?.message ?? {}));
  const content = choice?.message?.content;
  if (typeof content === 'string' && content !== '') out.text(content);
  choice?.message?.tool_calls?.forEach((c, k) => out.call(c, k));
  return responseObject(r, `resp_${hex}`, Math.floor(now / 1000), completion.model ?? r.model, { output: out.finish(), finish: choice?.finish_reason, usage: completion.usage, serviceTier: completion.service_tier });
}

/**
 * Relays a chat completion SSE stream as Responses stream events; `done` gets the finished response
 * before the client sees it completed (where it is stored). Resolves when the stream ends.
 */
export async function relayAsResponseEvents(r: ResponsesRequest, body: AsyncIterable<Uint8Array>, res: ServerResponse, headers: Record<string, string>, now: number, done: (response: Record<string, unknown>) => Promise<void> = async () => undefined): Promise<void> {
  const hex = randomUUID().replace(/-/g, '');
  const id = `resp_${hex}`;
  const created = Math.floor(now / 1000);
  let seq = 0;
  const emit: Emit = (type, data) => void res.write(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...data })}\n\n`);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
  let model = r.model;
  let finish: string | null | undefined;
  let usage: ChatUsage | undefined;
  let serviceTier: string | null | undefined;
  let started = false;
  const start = (): void => {
    if (started) return;
    started = true;
    const inProgress = responseObject(r, id, created, model);
    emit('response.created', { response: inProgress });
    emit('response.in_progress', { response: inProgress });
  };
  const out = new OutputAssembler(hex, emit);
  for await (const chunk of chatChunks<ChatCompletionLike>(body)) {
    if (chunk.model) model = chunk.model;
    start();
    if (chunk.error) {
      // the gateway's stream broke after bytes were sent: the Responses stream ends with an error event
      emit('error', { code: chunk.error.code ?? 'upstream_stream_broken', message: chunk.error.message ?? 'the stream broke', param: null });
      res.end();
      return;
    }
    const choice = chunk.choices?.[0];
    const thought = choice?.delta?.reasoning_content;
    out.thought(typeof thought === 'string' ? thought : '', thinkingBlocksOf(choice?.delta ?? {}));
    const delta = choice?.delta?.content;
    if (typeof delta === 'string' && delta !== '') out.text(delta);
    choice?.delta?.tool_calls?.forEach((c, k) => out.call(c, k));
    if (choice?.finish_reason) finish = choice.finish_reason;
    if (chunk.usage) usage = chunk.usage;
    if (chunk.service_tier) serviceTier = chunk.service_tier;
  }
  start();
  const final = responseObject(r, id, created, model, { output: out.finish(), finish, usage, serviceTier });
  await done(final);
  emit(final['status'] === 'incomplete' ? 'response.incomplete' : 'response.completed', { response: final });
  res.end();
}

/** POST /v1/responses: translate (after the stored conversation it continues), call the gateway's own /v1/chat/completions, translate back, store. */
export async function serveResponses(req: IncomingMessage, res: ServerResponse, deps: ResponsesDeps): Promise<void> {
  const ids = { 'x-request-id': deps.requestId };
  const body = await readJsonBody(req, res, deps.bodyLimitBytes, ResponsesRequestSchema, ids);
  if (!body) return;
  const key = deps.keyName(req.headers.authorization);
  let history: ChatMessage[] = [];
  if (body.previous_response_id) {
    if (!deps.stored.enabled) return sendError(res, 400, 'invalid_request', 'previous_response_id: this gateway stores no responses (responses.store: false in its config); send the whole conversation in input', ids);
    if (key === undefined) return sendError(res, 401, 'invalid_api_key', UNKNOWN_KEY_MESSAGE, ids);
    const previous = await deps.stored.load(body.previous_response_id, key);
    if (!previous) return sendError(res, 404, 'response_not_found', `previous_response_id: no stored response "${body.previous_response_id}" (expired, deleted, created with store: false, or by another API key)`, ids);
    history = previous.messages;
  }
  const t = toChatRequest(body, history);
  if (!t.ok) return sendError(res, 400, 'invalid_request', t.message, ids);
  const stream = body.stream === true;
  const up = await callOwnChat(req, res, deps, t.chat, stream, undefined, body.metadata ?? undefined);
  // kept before the client has it, so its next request (to any replica) finds it
  const store = async (response: Record<string, unknown>): Promise<void> => {
    if (body.store !== false && key !== undefined) await deps.stored.save({ key, response, messages: [...t.conversation, assistantMessage(response['output'] as Array<Record<string, unknown>>)] });
  };
  if (up.status !== 200) return relayError(res, up);
  if (!stream) {
    const response = fromChatCompletion(body, JSON.parse(await up.body.text()) as ChatCompletionLike, deps.now());
    await store(response);
    return sendJson(res, 200, response, up.headers);
  }
  await relayAsResponseEvents(body, up.body, res, up.headers, deps.now(), store);
}

/** GET /v1/responses/{id} (the stored response), GET /v1/responses/{id}/input_items (its input, newest first unless `order=asc`) and DELETE /v1/responses/{id}. */
export async function serveStoredResponse(req: IncomingMessage, res: ServerResponse, id: string, part: 'response' | 'input_items', deps: Pick<ResponsesDeps, 'stored' | 'keyName' | 'requestId'>): Promise<void> {
  const ids = { 'x-request-id': deps.requestId };
  const key = deps.keyName(req.headers.authorization);
  if (key === undefined) return sendError(res, 401, 'invalid_api_key', UNKNOWN_KEY_MESSAGE, ids);
  if (/[?&]stream=true/.test(req.url ?? '')) return sendError(res, 400, 'invalid_request', 'stream: a stored response is returned as JSON only (replaying it as events is not supported)', ids);
  const missing = (): void => sendError(res, 404, 'response_not_found', `no stored response "${id}" (expired, deleted, created with store: false, or by another API key)`, ids);
  if (req.method === 'DELETE') return (await deps.stored.delete(id, key)) ? sendJson(res, 200, { id, object: 'response', deleted: true }, ids) : missing();
  const stored = await deps.stored.load(id, key);
  if (!stored) return missing();
  if (part === 'response') return sendJson(res, 200, stored.response, ids);
  const items = inputItems(stored);
  if (!/[?&]order=asc/.test(req.url ?? '')) items.reverse();
  return sendJson(res, 200, { object: 'list', data: items, first_id: items[0]?.['id'] ?? null, last_id: items[items.length - 1]?.['id'] ?? null, has_more: false }, ids);
}
