/**
 * The OpenAI-compatible provider (OpenAI, Together, Groq, vLLM, Ollama, LM Studio, replay-upstream):
 * one POST /chat/completions over a keep-alive undici pool per origin (the fetch API costs ~0.3 ms
 * a call more), with a first-byte timeout (until the response headers) and a total timeout.
 * Failures come back as `AttemptOutcome`s for the retry policy. The HTTP client is injectable.
 */
import { EventEmitter } from 'node:events';
import { Pool } from 'undici';
import type { ModelConfig } from '../config.js';
import type { AttemptOutcome } from '../retry-policy.js';

export interface UpstreamTimeouts {
  readonly firstByteMs: number;
  readonly totalMs: number;
  /** After the headers: the longest wait for the next chunk of the body (none: only totalMs). */
  readonly idleMs?: number | undefined;
}

/** What the gateway needs of an HTTP response. */
export interface UpstreamResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: AsyncIterable<Uint8Array> & { text(): Promise<string>; json(): Promise<unknown> };
}

/**
 * Cancels one upstream call, before or after its headers arrived (the body then fails with `reason`).
 * undici accepts an EventEmitter as a request's signal; this costs a fraction of an AbortController's
 * EventTarget plumbing (~10 µs a request on the hot path).
 */
export class CallSignal extends EventEmitter {
  aborted = false;
  reason: Error | undefined;

  abort(reason: Error): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.emit('abort');
  }
}

export type HttpPost = (url: URL, headers: Record<string, string>, body: string, signal: CallSignal) => Promise<UpstreamResponse>;

/** An upstream's answer is cut off beyond this many bytes by default (64 MiB): a runaway upstream cannot exhaust the gateway's memory. */
export const UPSTREAM_BODY_LIMIT = 64 << 20;

/**
 * The default client: one undici pool per origin, kept alive across requests, with a connect timeout;
 * an answer longer than `maxBodyBytes` fails (a JSON answer as a broken one: the next model is
 * tried; a stream ends with an error event).
 */
export function undiciPost(connectTimeoutMs: number, maxBodyBytes = UPSTREAM_BODY_LIMIT): HttpPost {
  const pools = new Map<string, Pool>();
  return async (url, headers, body, signal) => {
    let pool = pools.get(url.origin);
    if (!pool) pools.set(url.origin, (pool = new Pool(url.origin, { connections: 128, pipelining: 1, connect: { timeout: connectTimeoutMs }, maxResponseSize: maxBodyBytes })));
    const r = await pool.request({ method: 'POST', path: url.pathname + url.search, headers, body, signal });
    const flat: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(r.headers)) flat[k] = Array.isArray(v) ? v.join(', ') : v;
    return { status: r.statusCode, headers: flat, body: r.body as unknown as UpstreamResponse['body'] };
  };
}

/** Adapts an injected `fetch` (tests, custom transports) to HttpPost. */
export function fetchPost(fetchFn: typeof fetch): HttpPost {
  return async (url, headers, body, signal) => {
    const controller = new AbortController();
    signal.once('abort', () => controller.abort(signal.reason));
    const r = await fetchFn(url, { method: 'POST', headers, body, signal: controller.signal });
    const flat: Record<string, string | undefined> = {};
    r.headers.forEach((v, k) => (flat[k] = v));
    const stream = r.body as unknown as AsyncIterable<Uint8Array>;
    return { status: r.status, headers: flat, body: Object.assign(stream ?? (async function* () {})(), { text: () => r.text(), json: () => r.json() }) };
  };
}

/** The OpenAI-compatible endpoints the gateway calls. */
export type Endpoint = 'chat/completions' | 'embeddings' | 'models';

/** Each model's endpoint URLs, parsed once. */
const urls = new WeakMap<ModelConfig, Partial<Record<Endpoint, URL>>>();
export function endpointUrl(model: ModelConfig, endpoint: Endpoint): URL {
  let known = urls.get(model);
  if (!known) urls.set(model, (known = {}));
  if (known[endpoint]) return known[endpoint];
  const url = new URL(`${model.baseURL.replace(/\/$/, '')}/${endpoint}`);
  for (const [k, v] of Object.entries(model.query ?? {})) url.searchParams.set(k, v);
  return (known[endpoint] = url);
}

/** A model's own request headers: its static `headers`, then those read from the environment (`headerEnv`; unset variables send nothing). */
const ownHeaders = new WeakMap<ModelConfig, Readonly<Record<string, string>>>();
export function headersOf(model: ModelConfig, env: Readonly<Record<string, string | undefined>>): Readonly<Record<string, string>> {
  if (!model.headers && !model.headerEnv) return NONE;
  if (!model.headerEnv) {
    let known = ownHeaders.get(model);
    if (!known) ownHeaders.set(model, (known = { ...model.headers }));
    return known;
  }
  const out: Record<string, string> = { ...model.headers };
  for (const [name, variable] of Object.entries(model.headerEnv)) {
    const value = env[variable];
    if (value) out[name] = value;
  }
  return out;
}
const NONE: Readonly<Record<string, string>> = {};

export type UpstreamResult =
  | { readonly ok: true; readonly status: number; readonly response: UpstreamResponse; readonly finish: () => void }
  | { readonly ok: false; readonly outcome: AttemptOutcome; readonly status?: number; readonly body?: string };

/** `body` asking for at most `limit` completion tokens (the model's `maxOutputTokens`), itself when it already does. */
export function withinOutputLimit(body: Record<string, unknown>, limit: number | undefined): Record<string, unknown> {
  if (limit === undefined) return body;
  const over = (field: string): boolean => typeof body[field] === 'number' && (body[field] as number) > limit;
  if (!over('max_completion_tokens') && !over('max_tokens')) return body;
  return { ...body, ...(over('max_completion_tokens') ? { max_completion_tokens: limit } : {}), ...(over('max_tokens') ? { max_tokens: limit } : {}) };
}

/** `body` without the fields the model refuses (`models.X.dropParams`), itself when it has none of them. */
export function withoutDropped(body: Record<string, unknown>, drop: readonly string[] | undefined): Record<string, unknown> {
  if (drop === undefined || !drop.some((f) => f in body)) return body;
  const out = { ...body };
  for (const f of drop) delete out[f];
  return out;
}

type Json = Record<string, unknown>;
const isObject = (x: unknown): x is Json => typeof x === 'object' && x !== null;
const cacheMarked = (x: unknown): x is Json => isObject(x) && 'cache_control' in x;
/** A message carrying what only Claude reads: thinking blocks, or content parts marked for its prompt cache. */
const claudeOnly = (m: unknown): m is Json => isObject(m) && ('thinking_blocks' in m || (Array.isArray(m['content']) && m['content'].some(cacheMarked)));
const unmarked = (x: Json): Json => {
  const { cache_control: _mark, ...rest } = x;
  return rest;
};

/**
 * `body` without what only Claude reads, for a model that is not `anthropic`: the thinking blocks a
 * client sent back on assistant messages (`thinking_blocks`, and beside them the same text as
 * `reasoning_content`) and prompt-cache marks (`cache_control` on content parts and tools). Other
 * APIs do not know them, and some refuse them with a 400. `reasoning_content` without blocks (a
 * reasoning server's own, which some want back) stays. Itself when there is none of them.
 */
export function withoutClaudeFields(body: Json): Json {
  const messages = body['messages'];
  const tools = body['tools'];
  const inMessages = Array.isArray(messages) && messages.some(claudeOnly);
  const inTools = Array.isArray(tools) && tools.some(cacheMarked);
  if (!inMessages && !inTools) return body;
  const out = { ...body };
  if (inMessages) {
    out['messages'] = messages.map((m: unknown) => {
      if (!claudeOnly(m)) return m;
      const { thinking_blocks: blocks, reasoning_content: text, ...rest } = m;
      const kept: Json = blocks === undefined && text !== undefined ? { ...rest, reasoning_content: text } : rest;
      const content = kept['content'];
      return Array.isArray(content) && content.some(cacheMarked) ? { ...kept, content: content.map((p: unknown) => (cacheMarked(p) ? unmarked(p) : p)) } : kept;
    });
  }
  if (inTools) out['tools'] = tools.map((t: unknown) => (cacheMarked(t) ? unmarked(t) : t));
  return out;
}

/** One attempt at one OpenAI-compatible endpoint (chat completions by default, or embeddings) of a model. */
export async function callEndpoint(
  model: ModelConfig,
  modelId: string,
  body: Record<string, unknown>,
  timeouts: UpstreamTimeouts,
  deps: { post: HttpPost; env: Readonly<Record<string, string | undefined>>; cancel?: CallSignal | undefined; headers?: Readonly<Record<string, string>> | undefined },
  endpoint: Endpoint = 'chat/completions',
): Promise<UpstreamResult> {
  // built before the call and its timers: a body that cannot be serialised is the gateway's failure (thrown), not the upstream's
  const sent = withoutDropped(withinOutputLimit(body, model.maxOutputTokens), model.dropParams);
  const payload = JSON.stringify({ ...(model.provider === 'anthropic' ? sent : withoutClaudeFields(sent)), model: model.upstreamModel ?? modelId });
  const signal = new CallSignal();
  const total = setTimeout(() => signal.abort(new Error('total timeout')), timeouts.totalMs);
  const firstByte = setTimeout(() => signal.abort(new Error('first-byte timeout')), timeouts.firstByteMs);
  // the caller's cancel (the client went away) cancels this call until it is finished
  const { cancel } = deps;
  const onCancel = (): void => signal.abort(cancel?.reason ?? new Error('cancelled'));
  cancel?.once('abort', onCancel);
  const release = (): void => {
    clearTimeout(total);
    cancel?.off('abort', onCancel);
  };
  const key = model.apiKeyEnv ? deps.env[model.apiKeyEnv] : undefined;
  try {
    if (cancel?.aborted) throw cancel.reason ?? new Error('cancelled');
    const response = await deps.post(
      endpointUrl(model, endpoint),
      { 'content-type': 'application/json', ...headersOf(model, deps.env), ...deps.headers, ...(key ? { authorization: `Bearer ${key}` } : {}) },
      payload,
      signal,
    );
    clearTimeout(firstByte);
    if (response.status < 200 || response.status >= 300) {
      const text = await response.body.text().catch(() => '');
      release();
      return { ok: false, status: response.status, body: text, outcome: { kind: 'response', status: response.status, headers: response.headers } };
    }
    if (timeouts.idleMs === undefined) return { ok: true, status: response.status, response, finish: release };
    const guarded = idleGuard(response.body, timeouts.idleMs, () => signal.abort(new Error('idle timeout')));
    return { ok: true, status: response.status, response: { ...response, body: guarded.body }, finish: () => (guarded.stop(), release()) };
  } catch (e) {
    clearTimeout(firstByte);
    release();
    const reason = String(signal.reason?.message ?? (e as Error).message);
    const timedOut = reason.includes('timeout') || (e as { code?: string }).code === 'UND_ERR_CONNECT_TIMEOUT';
    return { ok: false, outcome: timedOut ? { kind: 'timeout', afterFirstByte: false } : { kind: 'connection-error' } };
  }
}

/**
 * A body whose reader is cancelled (`onIdle`) when no chunk arrives for `idleMs`: the iterator
 * re-arms the timer at each chunk; `text()` / `json()` must complete within it.
 */
function idleGuard(body: UpstreamResponse['body'], idleMs: number, onIdle: () => void): { body: UpstreamResponse['body']; stop: () => void } {
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    if (timer) timer.refresh();
    else timer = setTimeout(onIdle, idleMs);
  };
  const stop = (): void => clearTimeout(timer);
  const whole = async <T>(read: () => Promise<T>): Promise<T> => {
    arm();
    try {
      return await read();
    } finally {
      stop();
    }
  };
  async function* chunks(): AsyncGenerator<Uint8Array> {
    arm();
    try {
      for await (const chunk of body) {
        arm();
        yield chunk;
      }
    } finally {
      stop();
    }
  }
  return { body: Object.assign(chunks(), { text: () => whole(() => body.text()), json: () => whole(() => body.json()) }), stop };
}
