/**
 * One model's call with the gateway's resilience around it: each attempt goes to one of its
 * deployments whose circuit breaker lets it through (deployments.ts), which is told the outcome, and a retryable failure (408/409/429/5xx, timeouts before the first
 * byte, connection errors) is retried by the pure retry policy. Used for the routed call (which then
 * falls back along the router's ranking) and for soft routing's proposers.
 */
import type { Rng } from '../core/random.js';
import type { ModelConfig } from './config.js';
import type { ModelUpstreams } from './deployments.js';
import type { UsageLike } from './usage-cost.js';
import { callEndpoint, type CallSignal, type Endpoint, type HttpPost, type UpstreamResult, type UpstreamTimeouts } from './providers/openai-compatible.js';
import { decideRetry, DEFAULT_RETRY_POLICY, isRetryableStatus, type AttemptOutcome } from './retry-policy.js';

/**
 * How providers say a request does not fit the model's context: OpenAI's `context_length_exceeded`,
 * vLLM's and OpenAI's "maximum context length", Anthropic's "prompt is too long" and "input length and
 * `max_tokens` exceed context limit" (the prompt fits, not with the tokens asked for), Bedrock's "Input
 * is too long for requested model", TGI's "must be <= N".
 */
const CONTEXT_OVERFLOW = /context_length_exceeded|maximum context length|context window|prompt is too long|exceed context limit|input is too long for requested model|tokens? \+ `?max_new_tokens`? must be <=/i;

export interface RetryDeps {
  readonly maxRetries: number;
  readonly rng: Rng;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface ModelCallDeps {
  readonly post: HttpPost;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The model's deployments and their circuit breakers (none: call `model` as it is, unguarded). */
  readonly upstreams: ModelUpstreams | undefined;
  readonly retry: RetryDeps;
  /** Aborted when the client went away: the call in progress is cancelled and nothing is retried. */
  readonly cancel?: CallSignal | undefined;
  /** More request headers (the trace context, tracing.ts). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** The tokens the call may use (prompt + completion tokens asked for), for a model's `tokensPerMinute`; asked only when it has one. */
  readonly tokens?: (() => number) | undefined;
}

export type ModelCall =
  /**
   * The upstream (`deployment`) answered 2xx; the caller reads the response, calls `finish`, and
   * `settle` with the answer's usage (a model's `tokensPerMinute` counts the tokens it used beyond `tokens`).
   */
  | { readonly kind: 'ok'; readonly result: Extract<UpstreamResult, { ok: true }>; readonly deployment: number; readonly settle: (usage: UsageLike | undefined) => void }
  /**
   * A final answer that is not the model's fault to retry (400, 401, 404 …): the client's answer —
   * unless `tooLong`: the prompt does not fit this model's context, and a model with a larger one may answer.
   */
  | { readonly kind: 'refused'; readonly status: number | undefined; readonly body: string; readonly tooLong: boolean }
  /**
   * Retries used up or the circuit open: the caller falls back or gives up. `busy`: every deployment
   * was at its `maxInFlight` (reported as a 429 with `retry-after: 1`).
   */
  | { readonly kind: 'failed'; readonly status: number | undefined; readonly outcome: AttemptOutcome; readonly busy?: boolean }
  /** The client went away (deps.cancel): no answer is wanted any more. */
  | { readonly kind: 'cancelled' };

export async function callModel(model: ModelConfig, modelId: string, body: Record<string, unknown>, timeouts: UpstreamTimeouts, deps: ModelCallDeps, endpoint: Endpoint = 'chat/completions'): Promise<ModelCall> {
  const { upstreams, retry } = deps;
  const own = model.timeouts;
  const limits = own ? { ...timeouts, firstByteMs: own.firstByteMs ?? timeouts.firstByteMs, totalMs: own.totalMs ?? timeouts.totalMs, idleMs: own.idleMs ?? timeouts.idleMs } : timeouts;
  let last: { status: number | undefined; outcome: AttemptOutcome } = { status: undefined, outcome: { kind: 'connection-error' } };
  const tried = new Set<number>();
  const tokens = upstreams?.limitsTokens && deps.tokens ? deps.tokens() : 0;
  for (let attempt = 0; ; attempt++) {
    // shared minute limits: a share of the minute reserved from the store, when this replica's is used up
    const leasing = upstreams?.lease(tokens);
    if (leasing) await leasing;
    // a deployment whose circuit lets the call through, one not tried yet first (waiting up to queueMs while every one is full)
    let at = upstreams ? upstreams.pick(retry.rng, tried, tokens) : 0;
    let slot: string | undefined; // the deployment's shared maxInFlight slot (replicas on a shared store)
    let busy = false; // waited in line for room (queueMs) or a shared slot, and none came free
    if (upstreams && (at === undefined ? model.queueMs : upstreams.sharesSlots(at))) ({ at, slot, busy = false } = await takeDeployment(upstreams, model, retry.rng, tried, tokens, at, deps.cancel));
    if (deps.cancel?.aborted) {
      if (at !== undefined) upstreams?.unclaim(at, slot);
      return { kind: 'cancelled' };
    }
    if (at === undefined) {
      if (attempt === 0 && upstreams && (busy || upstreams.full(tokens))) {
        const retryAfter = upstreams.rateLimited(tokens) ? String(upstreams.retryAfterS) : '1';
        return { kind: 'failed', status: 429, outcome: { kind: 'response', status: 429, headers: { 'retry-after': retryAfter } }, busy: true };
      }
      return { kind: 'failed', ...last };
    }
    tried.add(at);
    const breaker = upstreams?.breakers[at];
    // counted against the deployment's maxInFlight until the answer is read (finish) or the call failed
    upstreams?.acquire(at, tokens);
    let held = upstreams !== undefined;
    const free = (): void => {
      if (held) upstreams?.release(at, slot);
      held = false;
    };
    let result: UpstreamResult;
    const sent = performance.now();
    try {
      result = await callEndpoint(upstreams ? upstreams.config(at) : model, modelId, body, limits, { post: deps.post, env: deps.env, cancel: deps.cancel, headers: deps.headers }, endpoint);
    } catch (e) {
      free();
      throw e;
    }
    if (deps.cancel?.aborted) {
      if (result.ok) result.finish();
      free();
      return { kind: 'cancelled' }; // not the upstream's fault: its breaker is not told
    }
    // time to first byte, for slow-model routing; a first-byte timeout counts as its limit
    if (result.ok) upstreams?.recordFirstByte(at, performance.now() - sent, retry.now());
    else if (result.outcome.kind === 'timeout' && !result.outcome.afterFirstByte) upstreams?.recordFirstByte(at, limits.firstByteMs, retry.now());
    if (result.ok) {
      breaker?.success();
      const finish = result.finish;
      const settle = (usage: UsageLike | undefined): void => upstreams?.settle(at, tokens, (usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0));
      return { kind: 'ok', result: held ? { ...result, finish: () => (free(), finish()) } : result, deployment: at, settle };
    }
    free();
    last = { status: result.status, outcome: result.outcome };
    const retryable = result.outcome.kind !== 'response' || isRetryableStatus(result.outcome.status);
    if (retryable) breaker?.failure();
    else breaker?.success(); // the upstream is up; a 4xx is the request's fault (and this ends a half-open probe)
    if (!retryable) return { kind: 'refused', status: result.status, body: result.body ?? '', tooLong: result.status === 400 && CONTEXT_OVERFLOW.test(result.body ?? '') };
    const d = decideRetry(result.outcome, attempt, { ...DEFAULT_RETRY_POLICY, maxRetries: retry.maxRetries }, retry.rng, retry.now());
    if (!d.retry) return { kind: 'failed', ...last };
    await retry.sleep(d.delayMs);
    if (deps.cancel?.aborted) return { kind: 'cancelled' };
  }
}

/**
 * The deployment an attempt goes to when picking it is not simple: every one is full and the model
 * has a `queueMs` to wait (`picked` undefined), or `picked` shares its `maxInFlight` with other
 * replicas and a slot must be claimed in the store first. A deployment whose slots the other
 * replicas hold counts as full for a moment, so the next pick goes elsewhere or waits in line.
 */
async function takeDeployment(upstreams: ModelUpstreams, model: ModelConfig, rng: Rng, tried: ReadonlySet<number>, tokens: number, picked: number | undefined, cancel: CallSignal | undefined): Promise<{ at: number | undefined; slot?: string; busy?: boolean }> {
  const until = performance.now() + (model.queueMs ?? 0);
  let at = picked;
  let heldElsewhere = false;
  for (;;) {
    if (at === undefined && model.queueMs) at = await pickWaiting(upstreams, rng, tried, tokens, until - performance.now(), cancel);
    // busy: no room came in time, whether the last look found the deployments full here or their slots held elsewhere (a mark that may have lapsed since)
    if (at === undefined) return { at, busy: heldElsewhere || upstreams.full(tokens) };
    if (!upstreams.sharesSlots(at) || cancel?.aborted) return { at };
    const slot = await upstreams.claim(at);
    if (slot !== false) return slot === null ? { at } : { at, slot }; // null: the store did not answer; counted here alone
    heldElsewhere = true;
    at = upstreams.pick(rng, tried, tokens); // held elsewhere: another deployment, or wait
  }
}

/**
 * While every deployment is at its `maxInFlight` (not kept by a minute limit, which lasts until the
 * next minute), waits up to `waitMs` in line for a call to end and picks again; undefined when none
 * came free in time (or none can: circuits open, every deployment tried).
 */
export async function pickWaiting(upstreams: ModelUpstreams, rng: Rng, tried: ReadonlySet<number>, tokens: number, waitMs: number, cancel: CallSignal | undefined): Promise<number | undefined> {
  const until = performance.now() + waitMs;
  for (;;) {
    // picks first: a deployment marked held elsewhere may have come free (its mark lapsed) without a call ending here
    const at = upstreams.pick(rng, tried, tokens);
    if (at !== undefined) return at;
    if (upstreams.rateLimited(tokens)) return undefined;
    if (!upstreams.full(tokens)) {
      // room between the pick and this look: a held-elsewhere mark lapsed just then, so pick again;
      // still none while not full: none can take it at all (circuits open, every deployment tried)
      const again = upstreams.pick(rng, tried, tokens);
      if (again !== undefined || !upstreams.full(tokens)) return again;
    }
    if (!(await upstreams.waitForRoom(until - performance.now(), cancel))) return undefined;
  }
}
