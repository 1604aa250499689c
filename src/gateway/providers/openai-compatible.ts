/**
 * The OpenAI-compatible provider (OpenAI, Together, Groq, vLLM, Ollama, LM Studio, replay-upstream):
 * one POST /chat/completions with an injected fetch, a first-byte timeout (until the response
 * headers) and a total timeout. Failures come back as `AttemptOutcome`s for the retry policy.
 */
import type { ModelConfig } from '../config.js';
import type { AttemptOutcome } from '../retry-policy.js';

export interface UpstreamTimeouts {
  readonly firstByteMs: number;
  readonly totalMs: number;
}

export type UpstreamResult =
  | { readonly ok: true; readonly status: number; readonly response: Response; readonly finish: () => void }
  | { readonly ok: false; readonly outcome: AttemptOutcome; readonly status?: number; readonly body?: string };

export async function callChatCompletions(
  model: ModelConfig,
  modelId: string,
  body: Record<string, unknown>,
  timeouts: UpstreamTimeouts,
  deps: { fetch: typeof fetch; env: Readonly<Record<string, string | undefined>> },
): Promise<UpstreamResult> {
  const controller = new AbortController();
  const total = setTimeout(() => controller.abort(new Error('total timeout')), timeouts.totalMs);
  const firstByte = setTimeout(() => controller.abort(new Error('first-byte timeout')), timeouts.firstByteMs);
  const key = model.apiKeyEnv ? deps.env[model.apiKeyEnv] : undefined;
  const url = `${model.baseURL.replace(/\/$/, '')}/chat/completions`;
  try {
    const response = await deps.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ ...body, model: model.upstreamModel ?? modelId }),
      signal: controller.signal,
    });
    clearTimeout(firstByte);
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      clearTimeout(total);
      const headers: Record<string, string> = {};
      response.headers.forEach((v, k) => (headers[k] = v));
      return { ok: false, status: response.status, body: text, outcome: { kind: 'response', status: response.status, headers } };
    }
    return { ok: true, status: response.status, response, finish: () => clearTimeout(total) };
  } catch (e) {
    clearTimeout(firstByte);
    clearTimeout(total);
    const reason = String((controller.signal.reason as Error | undefined)?.message ?? (e as Error).message);
    return { ok: false, outcome: reason.includes('timeout') ? { kind: 'timeout', afterFirstByte: false } : { kind: 'connection-error' } };
  }
}
