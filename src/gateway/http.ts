/** HTTP plumbing shared by the gateway and replay-upstream: the request schema, bodies, JSON and error replies. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { errorBody, type HttpErrorCode } from './openai-errors.js';
import { contentText } from './replay-upstream/replay-data.js';

/** POST /v1/feedback: a score in [0, 1] for an answered request (the gateway's and an edge node's). */
export const FeedbackSchema = z.object({ request_id: z.string().min(1), score: z.number().min(0).max(1) });

/** The part of a chat completion request Switchyard reads; everything else passes through. */
export const ChatRequestSchema = z
  .object({
    model: z.string().min(1),
    messages: z.array(z.object({ role: z.string(), content: z.unknown() }).loose()).min(1),
    stream: z.boolean().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullable().optional(),
  })
  .loose();
export type ChatRequest = z.infer<typeof ChatRequestSchema>;

/** A chat content part the gateway writes when it translates another API's request: text, or an image. */
export type ChatPart = ({ type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string; detail?: string } }) & { cache_control?: unknown };
/** A chat message the gateway writes when it translates another API's request (Responses, Messages). */
export type ChatMessage = {
  role: string;
  content: string | null | ChatPart[];
  tool_calls?: Array<Record<string, unknown>>;
  tool_call_id?: string;
  /** An assistant turn's signed Claude thinking, sent back to Claude (providers/anthropic-thinking.ts). */
  thinking_blocks?: unknown[];
};

/** What a request is routed by (and judged, and logged as): its user messages' text. */
export function promptOf(messages: ChatRequest['messages']): string {
  return messages.filter((m) => m.role === 'user').map((m) => contentText(m.content)).join('\n\n');
}

/** The request body as text; undefined when it is over `limit` bytes (read by events: no async iterator a request). */
export function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume(); // drain the rest unread
        resolve(undefined);
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => resolve(size > limit ? undefined : (chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)).toString('utf8')));
    req.once('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The error code each response was answered with (for metrics), while the response lives. */
const answeredCodes = new WeakMap<ServerResponse, HttpErrorCode>();

/** The stable code of the OpenAI-shaped error `res` was answered with, if any. */
export function errorCodeOf(res: ServerResponse): HttpErrorCode | undefined {
  return answeredCodes.get(res);
}

/** Notes the stable code an error response carries, whatever its shape (OpenAI's, Anthropic's), for the metrics. */
export function markErrorCode(res: ServerResponse, code: HttpErrorCode): void {
  answeredCodes.set(res, code);
}

export function sendError(res: ServerResponse, status: number, code: HttpErrorCode, message: string, headers: Record<string, string> = {}, type?: string): void {
  markErrorCode(res, code);
  sendJson(res, status, errorBody(code, message, type ?? (status >= 500 ? 'server_error' : 'invalid_request_error')), headers);
}

/** An upstream's final error (400, 401, 404 …) passed on to the client with its status: the request's fault, not a reason to fall back. */
export function sendRefused(res: ServerResponse, modelId: string, call: { readonly status: number | undefined; readonly body: string }, headers: Record<string, string>): void {
  sendError(res, call.status ?? 502, 'upstream_error', `${modelId} answered ${call.status}: ${call.body.slice(0, 300)}`, { ...headers, 'x-switchyard-model': modelId }, 'invalid_request_error');
}

/** Reads a request's JSON body (up to `limit` bytes) and validates it; on failure answers 413 or 400 itself and returns undefined. */
export async function readJsonBody<T>(req: IncomingMessage, res: ServerResponse, limit: number, schema: z.ZodType<T>, headers: Record<string, string> = {}): Promise<T | undefined> {
  const text = await readBody(req, limit);
  if (text === undefined) return void sendError(res, 413, 'invalid_request', `request body over ${limit} bytes`, headers);
  return parseJsonBody(res, text, schema, headers);
}

/** A path segment decoded (`%2F` …); a malformed escape is kept as it is (it then names nothing, a 404). */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** Parses and validates a JSON body; on failure answers 400 `invalid_request` itself and returns undefined. */
export function parseJsonBody<T>(res: ServerResponse, text: string, schema: z.ZodType<T>, headers: Record<string, string> = {}): T | undefined {
  const parsed = parseJsonText(text, schema);
  if (!parsed.ok) return void sendError(res, 400, 'invalid_request', parsed.message, headers);
  return parsed.data;
}

/** A JSON body validated by `schema` (over `defaults` when the body is an object), or what is wrong with it, each field by path. */
export function parseJsonText<T>(text: string, schema: z.ZodType<T>, defaults?: Record<string, unknown>): { ok: true; data: T } | { ok: false; message: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, message: 'request body is not JSON' };
  }
  const deep = tooDeep(raw);
  if (deep !== undefined) return { ok: false, message: `${deep}: nested deeper than ${MAX_JSON_DEPTH} levels` };
  if (defaults && typeof raw === 'object' && raw !== null && !Array.isArray(raw)) raw = { ...defaults, ...raw };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) return { ok: false, message: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') };
  return { ok: true, data: parsed.data };
}

/** Splits a server-sent-events byte stream into events (text between blank lines), synchronously per chunk. */
export class SseSplitter {
  private readonly decoder = new TextDecoder();
  private buffer = '';

  /** The events completed by this chunk, in order. */
  push(chunk: Uint8Array): string[] {
    this.buffer += this.decoder.decode(chunk, { stream: true });
    const events: string[] = [];
    let start = 0;
    let cut: number;
    while ((cut = this.buffer.indexOf('\n\n', start)) >= 0) {
      events.push(this.buffer.slice(start, cut));
      start = cut + 2;
    }
    if (start > 0) this.buffer = this.buffer.slice(start);
    return events;
  }
}

const BLANK_LINE = Buffer.from('\n\n');

/**
 * Splits a server-sent-events byte stream into its events as bytes, each with its closing blank line,
 * so that events passed through need no decoding or re-encoding.
 */
export class SseByteSplitter {
  private pending: Buffer = Buffer.alloc(0);

  /** The events (blank line included) completed by this chunk, in order. */
  push(chunk: Uint8Array): Buffer[] {
    const data = this.pending.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.concat([this.pending, chunk]);
    const events: Buffer[] = [];
    let start = 0;
    let cut: number;
    while ((cut = data.indexOf(BLANK_LINE, start)) >= 0) {
      events.push(data.subarray(start, cut + 2));
      start = cut + 2;
    }
    this.pending = start === data.length ? Buffer.alloc(0) : Buffer.from(data.subarray(start)); // a copy: the chunk's memory may be reused
    return events;
  }
}

/** The events of a server-sent-events body (text between blank lines), as they arrive. */
export async function* sseEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const splitter = new SseSplitter();
  for await (const chunk of body) yield* splitter.push(chunk);
}

/**
 * How deep a request body's objects and arrays may nest. JSON.parse takes far deeper bodies, but
 * passing one on (JSON.stringify, the SDKs, the providers) overflows the stack; no API body needs
 * more (a tool's JSON schema nests a handful of levels).
 */
export const MAX_JSON_DEPTH = 64;

/** The top-level field under which `value` nests deeper than MAX_JSON_DEPTH (`body` for the body itself); undefined when it does not. */
function tooDeep(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const stack: Array<{ v: object; depth: number; field: string }> = [{ v: value, depth: 1, field: 'body' }];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    if (top.depth > MAX_JSON_DEPTH) return top.field;
    // the body's own fields are named (the error says which one); deeper values keep their top-level field's name
    const children: ReadonlyArray<readonly [string, unknown]> | readonly unknown[] = top.depth === 1 ? Object.entries(top.v) : Array.isArray(top.v) ? top.v : Object.values(top.v);
    for (const child of children) {
      const [field, c] = top.depth === 1 ? (child as readonly [string, unknown]) : [top.field, child];
      if (typeof c === 'object' && c !== null) stack.push({ v: c, depth: top.depth + 1, field });
    }
  }
  return undefined;
}
