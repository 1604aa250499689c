/**
 * Retries as a pure policy (the openai-node rules): retry 408, 409, 429 and 5xx responses and
 * connection failures or timeouts before the first byte; honour `retry-after-ms` / `retry-after`
 * (seconds or an HTTP date) when the server gives one within reason; otherwise exponential backoff
 * with full jitter from a seeded random source. No I/O, no clock of its own: callers pass `now`.
 */
import type { Rng } from '../core/random.js';

export interface RetryPolicy {
  readonly maxRetries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** A server-requested delay longer than this is not honoured (the attempt is not retried). */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 2, baseDelayMs: 500, maxDelayMs: 8000, maxRetryAfterMs: 60_000 };

export type AttemptOutcome =
  | { readonly kind: 'response'; readonly status: number; readonly headers?: Readonly<Record<string, string | undefined>> }
  | { readonly kind: 'connection-error' }
  | { readonly kind: 'timeout'; readonly afterFirstByte: boolean };

export interface RetryDecision {
  readonly retry: boolean;
  readonly delayMs: number;
  readonly reason: string;
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** Milliseconds the server asked to wait, from `retry-after-ms` or `retry-after`; undefined if absent or unparseable. */
export function retryAfterMs(headers: Readonly<Record<string, string | undefined>> | undefined, now: number): number | undefined {
  const ms = headers?.['retry-after-ms'];
  if (ms !== undefined && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = headers?.['retry-after'];
  if (ra === undefined || ra.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(ra.trim())) return Number(ra) * 1000;
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Should attempt number `attempt` (0 = the first try) be retried, and after how long? */
export function decideRetry(outcome: AttemptOutcome, attempt: number, policy: RetryPolicy, rng: Rng, now: number): RetryDecision {
  if (outcome.kind === 'response' && !isRetryableStatus(outcome.status)) return { retry: false, delayMs: 0, reason: `status ${outcome.status} is final` };
  if (outcome.kind === 'timeout' && outcome.afterFirstByte) return { retry: false, delayMs: 0, reason: 'timed out after the first byte: not safe to retry' };
  if (attempt >= policy.maxRetries) return { retry: false, delayMs: 0, reason: `no retries left (${policy.maxRetries})` };
  const what = outcome.kind === 'response' ? `status ${outcome.status}` : outcome.kind;
  if (outcome.kind === 'response') {
    const asked = retryAfterMs(outcome.headers, now);
    if (asked !== undefined) {
      if (asked > policy.maxRetryAfterMs) return { retry: false, delayMs: 0, reason: `${what}: server asks to wait ${asked} ms, more than ${policy.maxRetryAfterMs}` };
      return { retry: true, delayMs: asked, reason: `${what}: retry-after ${asked} ms` };
    }
  }
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  const delayMs = Math.round(cap * (0.5 + 0.5 * rng.next())); // jitter in [cap/2, cap]
  return { retry: true, delayMs, reason: `${what}: backoff ${delayMs} ms (attempt ${attempt + 1})` };
}
