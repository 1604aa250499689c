/**
 * The OpenAI-compatible provider (OpenAI, Together, Groq, vLLM, Ollama, LM Studio, replay-upstream):
 * one POST /chat/completions over a keep-alive undici pool per origin (the fetch API costs ~0.3 ms
 * a call more), with a first-byte timeout (until the response headers) and a total timeout.
 * Failures come back as `AttemptOutcome`s for the retry policy. The HTTP client is injectable.
 */
import { Pool } from 'undici';
import type { ModelConfig } from '../config.js';
import type { AttemptOutcome } from '../retry-policy.js';

export interface UpstreamTimeouts {
  readonly firstByteMs: number;
  readonly totalMs: number;
}

/** What the gateway needs of an HTTP response. */
export interface UpstreamResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: AsyncIterable<Uint8Array> & { text(): Promise<string>; json(): Promise<unknown> };
  /** Ends the response early (the total timeout): reading the body then fails with `reason`. */
  abort(reason: Error): void;
}

/** What a transport needs besides the request: how long to wait for the response headers (the first byte). */
export interface PostOptions {
  readonly headersTimeoutMs: number;
}

export type HttpPost = (url: URL, headers: Record<string, string>, body: string, options: PostOptions) => Promise<UpstreamResponse>;

/**
 * The default client: one undici pool per origin, kept alive across requests, with a connect
 * timeout; the first-byte timeout is undici's own headers timeout, so a call needs no AbortController
 * (its signal plumbing cost ~10 µs a request).
 */
export function undiciPost(connectTimeoutMs: number): HttpPost {
  const pools = new Map<string, Pool>();
  return async (url, headers, body, options) => {
    let pool = pools.get(url.origin);
    if (!pool) pools.set(url.origin, (pool = new Pool(url.origin, { connections: 128, pipelining: 1, connect: { timeout: connectTimeoutMs } })));
    const r = await pool.request({ method: 'POST', path: url.pathname + url.search, headers, body, headersTimeout: options.headersTimeoutMs });
    const flat: Record<string, string | undefined> = {};
    for (const [k, v] of Object.entries(r.headers)) flat[k] = Array.isArray(v) ? v.join(', ') : v;
    return { status: r.statusCode, headers: flat, body: r.body as unknown as UpstreamResponse['body'], abort: (reason) => r.body.destroy(reason) };
  };
}

/** Adapts an injected `fetch` (tests, custom transports) to HttpPost. */
export function fetchPost(fetchFn: typeof fetch): HttpPost {
  return async (url, headers, body, options) => {
    const controller = new AbortController();
    const firstByte = setTimeout(() => controller.abort(new Error('first-byte timeout')), options.headersTimeoutMs);
    try {
      const r = await fetchFn(url, { method: 'POST', headers, body, signal: controller.signal });
      const flat: Record<string, string | undefined> = {};
      r.headers.forEach((v, k) => (flat[k] = v));
      const stream = r.body as unknown as AsyncIterable<Uint8Array>;
      return { status: r.status, headers: flat, body: Object.assign(stream ?? (async function* () {})(), { text: () => r.text(), json: () => r.json() }), abort: (reason) => controller.abort(reason) };
    } finally {
      clearTimeout(firstByte);
    }
  };
}

/** Transport errors that mean "too slow" rather than "unreachable". */
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT']);

/** Each model's chat-completions URL, parsed once. */
const urls = new WeakMap<ModelConfig, URL>();
function chatUrl(model: ModelConfig): URL {
  let url = urls.get(model);
  if (!url) urls.set(model, (url = new URL(`${model.baseURL.replace(/\/$/, '')}/chat/completions`)));
  return url;
}

export type UpstreamResult =
  | { readonly ok: true; readonly status: number; readonly response: UpstreamResponse; readonly finish: () => void }
  | { readonly ok: false; readonly outcome: AttemptOutcome; readonly status?: number; readonly body?: string };

export async function callChatCompletions(
  model: ModelConfig,
  modelId: string,
  body: Record<string, unknown>,
  timeouts: UpstreamTimeouts,
  deps: { post: HttpPost; env: Readonly<Record<string, string | undefined>> },
): Promise<UpstreamResult> {
  let response: UpstreamResponse | undefined;
  let expired = false;
  const total = setTimeout(() => {
    expired = true;
    response?.abort(new Error('total timeout'));
  }, timeouts.totalMs);
  const key = model.apiKeyEnv ? deps.env[model.apiKeyEnv] : undefined;
  try {
    response = await deps.post(
      chatUrl(model),
      { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      JSON.stringify({ ...body, model: model.upstreamModel ?? modelId }),
      { headersTimeoutMs: Math.min(timeouts.firstByteMs, timeouts.totalMs) },
    );
    if (expired) {
      response.abort(new Error('total timeout'));
      throw new Error('total timeout');
    }
    if (response.status < 200 || response.status >= 300) {
      const text = await response.body.text().catch(() => '');
      clearTimeout(total);
      return { ok: false, status: response.status, body: text, outcome: { kind: 'response', status: response.status, headers: response.headers } };
    }
    return { ok: true, status: response.status, response, finish: () => clearTimeout(total) };
  } catch (e) {
    clearTimeout(total);
    const err = e as { code?: string; message?: string };
    const timedOut = expired || TIMEOUT_CODES.has(err.code ?? '') || /timeout/i.test(String(err.message));
    return { ok: false, outcome: timedOut ? { kind: 'timeout', afterFirstByte: false } : { kind: 'connection-error' } };
  }
}
