/**
 * Other wire formats in front of the chat pipeline (the Responses API, Anthropic's Messages API): the
 * request, once translated, goes through the gateway's own `/v1/chat/completions` over its keep-alive
 * pool, so authentication, budgets, rate limits, routing, fallbacks, metrics and the decision log
 * apply exactly as to a chat request (it is one). The caller translates the answer back.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sseEvents, type ChatRequest } from './http.js';
import { CallSignal, type HttpPost, type UpstreamResponse } from './providers/openai-compatible.js';

export interface LoopbackDeps {
  /** How the gateway reaches itself (its undici pool). */
  readonly post: HttpPost;
  /** The gateway's own origin, e.g. http://127.0.0.1:8080. */
  readonly origin: string;
  readonly bodyLimitBytes: number;
  readonly now: () => number;
  readonly requestId: string;
}

/** Request headers passed on: the per-request λ / budget / target, what the client asks of the answer cache, its spend tags, its conversation. */
const FORWARDED = ['authorization', 'x-switchyard-lambda', 'x-switchyard-budget-usd', 'x-switchyard-target-quality', 'x-switchyard-cache', 'cache-control', 'x-switchyard-tags', 'x-switchyard-conversation'];
/** Response headers passed back: the request id, the Switchyard headers, retry-after. */
const RETURNED = /^(x-request-id|x-switchyard-.*|retry-after)$/;

export interface OwnChatAnswer {
  readonly status: number;
  /** The headers to answer the client with (request id, x-switchyard-*, retry-after). */
  readonly headers: Record<string, string>;
  readonly body: UpstreamResponse['body'];
}

/**
 * Sends a chat request to the gateway itself; streaming asks for the usage chunk. `authorization`
 * overrides the client's header (Anthropic clients send their key as `x-api-key`). The call is
 * cancelled when the client goes away.
 */
export async function callOwnChat(req: IncomingMessage, res: ServerResponse, deps: LoopbackDeps, chat: ChatRequest, stream: boolean, authorization?: string, tags?: Readonly<Record<string, string>>): Promise<OwnChatAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const h of FORWARDED) {
    const v = req.headers[h];
    if (typeof v === 'string') headers[h] = v;
  }
  if (authorization) headers['authorization'] = authorization;
  // the API's own tags (the Responses API's metadata, Anthropic's metadata.user_id), before the client's header (which wins)
  const own = Object.entries(tags ?? {}).filter(([, v]) => !/[,;]/.test(v)).map(([k, v]) => `${k}=${v}`);
  if (own.length > 0) headers['x-switchyard-tags'] = [...own, ...(headers['x-switchyard-tags'] ? [headers['x-switchyard-tags']] : [])].join(',');
  const signal = new CallSignal();
  res.once('close', () => {
    if (!res.writableEnded) signal.abort(new Error('the client went away'));
  });
  const body = stream ? { ...chat, stream: true, stream_options: { include_usage: true } } : chat;
  const up = await deps.post(new URL('/v1/chat/completions', deps.origin), headers, JSON.stringify(body), signal);
  const back: Record<string, string> = {};
  for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && RETURNED.test(k)) back[k] = v;
  return { status: up.status, headers: back, body: up.body };
}

/** The data of each event of a chat completion SSE stream, parsed, until `[DONE]`. */
export async function* chatChunks<T>(body: AsyncIterable<Uint8Array>): AsyncGenerator<T> {
  for await (const event of sseEvents(body)) {
    const data = event.split('\n').find((l) => l.startsWith('data:'))?.slice(5).trim();
    if (!data || data === '[DONE]') continue;
    yield JSON.parse(data) as T;
  }
}

/** Passes the chat pipeline's error answer (OpenAI-shaped: auth, budget, limits, routing, upstreams) on as it is. */
export async function relayError(res: ServerResponse, up: OwnChatAnswer): Promise<void> {
  const raw = await up.body.text();
  res.writeHead(up.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(raw), ...up.headers });
  res.end(raw);
}
