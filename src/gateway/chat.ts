/**
 * The chat completions pipeline (`POST /v1/chat/completions`, once the gateway has authorised the key
 * and read the body): validated, limited (tokens, end users, the key's models, context windows),
 * planned (the route's router, or the model named), then answered — soft routing's or a cascade's
 * kept answer, the answer cache, or the planned models called in order, falling back on a retryable
 * failure before the first byte — and recorded. The gateway (server.ts) owns the state it reads
 * through `ChatHost`; a reload swaps that state, and a request keeps the models it started with.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CostModel } from '../routers/cost-model.js';
import { conversationOf, type ConversationAffinity } from './affinity.js';
import type { AuthResult } from './auth.js';
import type { Admission } from './admission.js';
import { CompletionAssembler, cacheMode, type CompletionCache } from './completion-cache.js';
import type { GatewayConfig, ModelConfig } from './config.js';
import { requestTokens } from './context-window.js';
import { eligibleModels } from './eligibility.js';
import { ChatRequestSchema, parseJsonBody, promptOf, sendError, sendRefused, type ChatRequest } from './http.js';
import { SHUTDOWN } from './in-flight.js';
import type { GatewayMetrics } from './metrics.js';
import { aggregateRequest, type Proposal } from './mixture.js';
import { callModel, type RetryDeps } from './model-call.js';
import type { ModelSet } from './model-set.js';
import type { CallSignal, HttpPost } from './providers/openai-compatible.js';
import { requestLambda } from './request-lambda.js';
import type { AttemptOutcome } from './retry-policy.js';
import { directPlan, planRequest, stickyPlan, type PlanDeps } from './routing-plan.js';
import type { LoadedRoute } from './routes.js';
import type { DecisionRecord } from './store/store.js';
import { answerJson, pipeStream, sendCompletion, type StreamEnd } from './stream.js';
import { requestTags } from './tags.js';
import { endCallSpan, startCallSpan, type RequestSpan } from './tracing.js';
import { costOf, serviceTierFactor, type UsageLike } from './usage-cost.js';

/** A chat completions request once its key is authorised and its body read. */
export interface ChatJob {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Fires when the client goes away. */
  readonly client: CallSignal;
  readonly span: RequestSpan | undefined;
  /** performance.now() when the request came in. */
  readonly started: number;
  readonly requestId: string;
  readonly auth: Extract<AuthResult, { ok: true }>;
  readonly text: string;
}

/** What feedback needs of a recent request (kept in memory; prompts reach the store only if configured). */
export interface RecentRequest {
  readonly route: string;
  readonly prompt: string;
  readonly answered: string;
  readonly costUsd: number;
}

/** What the pipeline reads of the gateway, at each request (a reload replaces config, models, routes and cache). */
export interface ChatHost {
  readonly config: GatewayConfig;
  readonly models: ModelSet;
  readonly routes: ReadonlyMap<string, LoadedRoute>;
  readonly admission: Admission;
  readonly metrics: GatewayMetrics;
  readonly cache: CompletionCache | undefined;
  /** A shared store (Redis): records are written before the answer, as feedback may reach another replica next. */
  readonly sharedStore: boolean;
  readonly now: () => number;
  readonly post: HttpPost;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly retry: RetryDeps;
  planDeps(client: CallSignal, models: ModelSet): PlanDeps;
  /** Records a decision (store, metrics, log, spend) and remembers an answered request for feedback. */
  record(d: DecisionRecord, recent: RecentRequest | undefined, upstreamMs?: number, overheadMs?: number): Promise<void>;
  /** The models conversations' turns stay on (`routes.X.sticky`). */
  readonly affinity: ConversationAffinity;
  /** An answer came at a service tier its model's `serviceTiers` does not price (billed at the standard prices): logged now and then. */
  unpricedTier(modelId: string, tier: string): void;
}

/** `POST /v1/chat/completions`, authorised and read: validated, limited, routed, answered (JSON or a stream, with fallbacks) and recorded. */
export async function serveChat(host: ChatHost, job: ChatJob): Promise<void> {
  const { req, res, client, span, started, requestId, auth, text } = job;
  const body = parseJsonBody(res, text, ChatRequestSchema, { 'x-request-id': requestId });
  if (!body) return;
  const { admission, config } = host;
  if (auth.key?.tokensPerMinute !== undefined) {
    if (await admission.refuseTokens(res, auth.key, requestTokens(body), requestId)) return;
  }
  const tagged = requestTags(body, req.headers);
  if (!tagged.ok) return sendError(res, 400, 'invalid_request', tagged.message, { 'x-request-id': requestId });
  if (config.auth.endUsers && (await admission.refuseEndUser(res, auth.key, tagged.tags?.['user'], requestId))) return;
  // resolve the route (or a model named directly) and rank the models to try
  const models = host.models; // this request's models, should a reload swap them meanwhile
  const prompt = promptOf(body.messages);
  const route = host.routes.get(body.model);
  const chosenLambda = requestLambda(req.headers, route ? route.lambda.lambda(host.now()) : 0, route?.learning.router);
  if (!chosenLambda.ok) return sendError(res, 400, 'invalid_request', chosenLambda.message);
  const lambda = Math.max(chosenLambda.lambda, auth.key?.minLambda ?? 0); // a key's floor (a cheaper tier) holds
  if (!route && !(body.model in models.config)) {
    return sendError(res, 404, 'model_not_found', `"${body.model}" is neither a route (${[...host.routes.keys()].join(', ')}) nor a configured model`);
  }
  if (admission.refuseModel(res, auth.key, body.model, requestId)) return;
  // the models it may go to: what it needs (tools, images …), its length, slow models set apart
  const eligible = eligibleModels(route, body.model, body, models, auth.key, host.now());
  if (!eligible.ok) return sendError(res, 400, eligible.code, eligible.message, { 'x-request-id': requestId });
  for (const s of eligible.slow) host.metrics.slowSetApart.of(route?.name ?? body.model, s.model).value++;
  // a conversation's later turn stays on the model that answered it, where that model may take it (routes.X.sticky)
  const sticky = route?.sticky;
  const conversation = route && sticky ? conversationOf(route.name, auth.key?.name ?? null, body, req.headers) : undefined;
  const kept = conversation?.continues ? await host.affinity.modelOf(conversation.id) : undefined;
  const allowed = route ? (eligible.models ?? route.models) : [];
  const planned = route && kept !== undefined && allowed.includes(kept) ? stickyPlan(kept, allowed) : route ? await planRequest(route, body, prompt, lambda, host.planDeps(client, models), eligible.models) : directPlan(body.model, eligible.fallbacks);
  const stick = conversation && sticky ? (model: string): Promise<void> => host.affinity.remember(conversation.id, model, sticky) : undefined;
  const plan = eligible.slow.length > 0 ? { ...planned, order: [...planned.order, ...eligible.slow.map((s) => s.model)], reason: `${planned.reason}; tried last, slow now: ${eligible.slow.map((s) => `${s.model} (${s.why})`).join('; ')}` } : planned;
  const { order, candidates, reason, proposals, picked, escalated, shadow, canary } = plan;
  const routeName = route?.name ?? body.model;
  // what was paid before the answering call: soft routing's proposers, a cascade's answers not kept
  const proposalCost = [...proposals, ...escalated].reduce((sum, p) => sum + p.costUsd, 0);
  span?.span.setAttributes({ 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': body.model, 'switchyard.route': route?.name ?? '', 'switchyard.chosen': order[0] as string, 'switchyard.lambda': lambda, 'switchyard.request_id': requestId });
  // what is recorded of this request: the model that answered (or was being called), status, cost
  const decision = (answered: string | null, status: number, costUsd: number, why = reason): DecisionRecord => ({
    requestId, time: host.now(), route: routeName, keyId: auth.key?.name ?? null, lambda, chosen: order[0] as string, answered, reason: why, candidates,
    costUsd: costUsd + proposalCost, latencyMs: performance.now() - started, status, prompt: status === 200 && config.store.keepPrompts ? prompt : null,
    ...(tagged.tags ? { tags: tagged.tags } : {}),
    ...(shadow ? { shadow } : {}),
    ...(canary ? { canary } : {}),
  });
  // the client went away (499) or the shutdown cut the request (503): recorded with the cost of the
  // prompt and of the output streamed so far (the provider bills what it generated); nothing is sent
  const gone = (model: ModelConfig | undefined, modelId: string | null, outputTokens: number, usageCost = 0): Promise<void> => {
    const cost = usageCost > 0 || !model ? usageCost : costOf({ prompt_tokens: CostModel.countTokens(prompt), completion_tokens: outputTokens }, model);
    return host.record(decision(modelId, client.reason?.message === SHUTDOWN ? 503 : 499, cost), undefined);
  };
  if (client.aborted) return gone(undefined, null, 0);
  const stream = body.stream === true;
  const includeUsage = body.stream_options?.include_usage === true;
  const cascadeHeader = escalated.length > 0 ? { 'x-switchyard-escalated-from': escalated.map((p) => p.model).join(',') } : {};
  if (picked) {
    const completion = { ...picked.completion, model: picked.model };
    const pickedCost = proposals.includes(picked) ? 0 : picked.costUsd; // a kept cascade answer is not among the proposals
    const headers = {
      'x-request-id': requestId,
      'x-switchyard-model': picked.model,
      'x-switchyard-route': route?.name ?? picked.model,
      ...(proposals.length > 0 ? { 'x-switchyard-proposers': proposals.map((p) => p.model).join(',') } : {}),
      ...cascadeHeader,
      'x-switchyard-cost-usd': (proposalCost + pickedCost).toPrecision(6),
      'x-switchyard-lambda': String(lambda),
    };
    const record = async (): Promise<void> => {
      await stick?.(picked.model);
      return host.record(decision(picked.model, 200, pickedCost), { route: route?.name ?? picked.model, prompt, answered: picked.model, costUsd: proposalCost + pickedCost });
    };
    return sendCompletion(res, completion, headers, stream, includeUsage, record, host.sharedStore);
  }
  // the answer cache: one model's answer to this exact request (not for soft routing's or a cascade's answers)
  const cache = host.cache && proposals.length === 0 && escalated.length === 0 ? host.cache : undefined;
  const mode = cache ? cacheMode(req.headers) : 'bypass';
  const cacheKey = (modelId: string): string => (cache as CompletionCache).key(modelId, body, auth.key?.name ?? null);
  const cached = mode === 'use' ? await cache?.get(cacheKey(order[0] as string)) : undefined;
  if (cache) host.metrics.cache.of(routeName, cached ? 'hit' : mode === 'use' ? 'miss' : mode).value++;
  if (cached) {
    const modelId = order[0] as string;
    span?.span.setAttributes({ 'switchyard.cache': 'hit', 'gen_ai.response.model': modelId, 'switchyard.cost_usd': 0 });
    const headers = { 'x-request-id': requestId, 'x-switchyard-model': modelId, 'x-switchyard-route': routeName, 'x-switchyard-cost-usd': '0', 'x-switchyard-cache': 'hit', ...(route ? { 'x-switchyard-lambda': String(lambda) } : {}) };
    const record = (): Promise<void> => host.record(decision(modelId, 200, 0, `${reason}; answered from the cache`), { route: routeName, prompt, answered: modelId, costUsd: 0 });
    return sendCompletion(res, { ...cached, model: modelId }, headers, stream, includeUsage, record, host.sharedStore);
  }
  // a whole answer is kept (a stream that did not finish cleanly has none)
  const keep =
    mode === 'bypass'
      ? undefined
      : (modelId: string, completion: Record<string, unknown> | undefined): Promise<void> => {
          if (!completion || (completion['choices'] as unknown[] | undefined)?.length !== 1) return Promise.resolve(); // one choice: a stream replays one
          host.metrics.cache.of(routeName, 'stored').value++;
          return (cache as CompletionCache).put(cacheKey(modelId), completion);
        };
  const extraHeaders = {
    ...(canary ? { 'x-switchyard-canary': '1' } : {}),
    ...(proposals.length > 0 ? { 'x-switchyard-proposers': proposals.map((p) => p.model).join(',') } : {}),
    ...cascadeHeader,
    ...(cache ? { 'x-switchyard-cache': mode === 'use' ? 'miss' : mode } : {}),
    ...(kept !== undefined && order[0] === kept ? { 'x-switchyard-sticky': 'kept' } : {}),
  };
  return answerInOrder(host, { job, body, models, route, lambda, order, proposals, proposalCost, prompt, extraHeaders, keep, stick, decision, gone });
}

/** A planned request, ready to call its models in order. */
interface Answering {
  readonly job: ChatJob;
  readonly body: ChatRequest;
  readonly models: ModelSet;
  readonly route: LoadedRoute | undefined;
  readonly lambda: number;
  /** The models to try: the router's choice first, then its fallbacks. */
  readonly order: readonly string[];
  readonly proposals: readonly Proposal[];
  /** Paid before the answering call (proposers, a cascade's answers not kept). */
  readonly proposalCost: number;
  readonly prompt: string;
  /** Headers every answer carries beyond the call's own (canary, proposers, cascade, cache). */
  readonly extraHeaders: Readonly<Record<string, string>>;
  /** Remembers the model that answered as its conversation's (absent when the route is not sticky). */
  readonly stick: ((modelId: string) => Promise<void>) | undefined;
  /** Keeps a whole answer in the answer cache (absent when the cache is not used). */
  readonly keep: ((modelId: string, completion: Record<string, unknown> | undefined) => Promise<void>) | undefined;
  readonly decision: (answered: string | null, status: number, costUsd: number, why?: string) => DecisionRecord;
  readonly gone: (model: ModelConfig | undefined, modelId: string | null, outputTokens: number, usageCost?: number) => Promise<void>;
}

/**
 * Calls the planned models in order until one answers: its answer is passed on (JSON or a stream)
 * and recorded. A retryable failure before the first byte (or an answer too long for a model's
 * context, a body that broke off) falls back to the next; a final refusal is the client's answer.
 */
async function answerInOrder(host: ChatHost, a: Answering): Promise<void> {
  const { job, body, models, route, lambda, order, proposals, proposalCost, prompt, keep, stick, decision, gone } = a;
  const { res, client, span, started, requestId } = job;
  const upstreamBody: Record<string, unknown> = { ...(proposals.length > 0 ? aggregateRequest(body, proposals) : body) };
  if (body.stream) upstreamBody['stream_options'] = { ...(body.stream_options ?? {}), include_usage: true };
  let last: { status: number | undefined; outcome: AttemptOutcome | undefined; busy?: boolean | undefined } = { status: undefined, outcome: undefined };
  const overhead = performance.now() - started; // gateway time before the first upstream call
  let asked: number | undefined; // the request's tokens, counted for a model's tokensPerMinute (once)
  const tokens = (): number => (asked ??= requestTokens(body));
  for (const modelId of order) {
    const model = models.config[modelId] as ModelConfig;
    const traced = span ? startCallSpan(span, modelId, model) : undefined;
    const call = await callModel(model, modelId, upstreamBody, host.config.timeouts, { post: models.posts.get(modelId) ?? host.post, env: host.env, upstreams: models.upstreams.get(modelId), retry: host.retry, cancel: client, headers: traced?.headers, tokens });
    if (call.kind !== 'ok') endCallSpan(traced, call.kind);
    if (call.kind === 'cancelled') return gone(model, modelId, 0);
    if (call.kind === 'refused' && call.tooLong && modelId !== order[order.length - 1]) {
      last = { status: call.status, outcome: { kind: 'response', status: call.status ?? 400 } }; // too long for this model: the next may take it
      continue;
    }
    if (call.kind === 'refused') return sendRefused(res, modelId, call, { 'x-request-id': requestId });
    if (call.kind === 'failed') {
      last = call;
      continue;
    }
    const { result } = call;
    const headers = {
      'x-request-id': requestId,
      'x-switchyard-model': modelId,
      'x-switchyard-route': route?.name ?? modelId,
      'x-switchyard-overhead-ms': overhead.toFixed(3),
      ...(route ? { 'x-switchyard-lambda': String(lambda) } : {}),
      ...(order[0] !== modelId ? { 'x-switchyard-fallback-from': order[0] as string } : {}),
      ...a.extraHeaders,
    };
    const upstreamStart = started + overhead;
    // the request's cost: this call plus any soft-routing proposers; a stream that broke midway is
    // recorded as a 502 (the client got an error event), and feedback cannot refer to it
    const collect = keep && body.stream ? new CompletionAssembler() : undefined;
    const after = (callCost: number, end: StreamEnd = 'done', dataEvents = 0, answer?: Record<string, unknown>, streamed?: UsageLike, streamedTier?: string): Promise<void> => {
      const usage = streamed ?? (answer?.['usage'] as UsageLike | undefined);
      const tier = streamedTier ?? answer?.['service_tier'];
      if (typeof tier === 'string' && serviceTierFactor(model, tier) === undefined) host.unpricedTier(modelId, tier);
      if (usage) host.metrics.countTokens(modelId, usage);
      call.settle(usage);
      endCallSpan(traced, end, callCost, usage);
      span?.span.setAttributes({ 'gen_ai.response.model': modelId, 'switchyard.cost_usd': callCost + proposalCost });
      if (end === 'cancelled') return gone(model, modelId, dataEvents, callCost);
      const ok = end === 'done';
      const logged = host.record(decision(modelId, ok ? 200 : 502, callCost), ok ? { route: route?.name ?? modelId, prompt, answered: modelId, costUsd: callCost + proposalCost } : undefined, performance.now() - upstreamStart, overhead);
      // the conversation's model is remembered with the record (before the answer's end with a shared store: the next turn may reach another replica)
      const recorded = ok && stick ? Promise.all([logged, stick(modelId)]).then(() => undefined) : logged;
      return ok && keep ? recorded.then(() => keep(modelId, answer ?? collect?.completion())) : recorded;
    };
    if (body.stream) return pipeStream({ res, upstream: result.response, finish: result.finish, headers, model, modelId, clientWantsUsage: body.stream_options?.include_usage === true, after, otherCalls: proposalCost, recordFirst: host.sharedStore, client, collect });
    if (await answerJson(res, result, model, modelId, headers, proposalCost, after, host.sharedStore)) return;
    if (client.aborted) return gone(model, modelId, 0);
    // the body broke off (or is not JSON): nothing has reached the client yet, so the next model may answer
    endCallSpan(traced, 'broken');
    models.upstreams.get(modelId)?.failure(call.deployment);
    last = { status: undefined, outcome: { kind: 'connection-error' } };
  }
  const status = last.status === 429 ? 429 : 502;
  await host.record(decision(null, status, 0), undefined);
  const why = last.busy ? `${order[order.length - 1]} is full (its maxInFlight, requestsPerMinute or tokensPerMinute)` : `${last.status ?? last.outcome?.kind ?? 'unknown'}`;
  const retryAfter = last.busy && last.outcome?.kind === 'response' ? (last.outcome.headers?.['retry-after'] ?? '1') : undefined;
  sendError(res, status, 'upstream_unavailable', `every model failed (${order.join(', ')}); last: ${why}`, { 'x-request-id': requestId, ...(retryAfter ? { 'retry-after': retryAfter } : {}) });
}
