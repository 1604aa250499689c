/**
 * Soft routing in the gateway (mixture-of-agents): when a route's router answers with a `mixture`
 * decision (e.g. `cross-attention:soft=2`), the proposer models answer the request in parallel and
 * either the route's aggregator model writes the final answer from theirs (its call then goes
 * through the normal pipeline: retries, circuit breaker, streaming) or a response scorer picks the best of
 * them. The request's cost counts every call. See docs/gateway.md, "Soft routing".
 */
import type { ModelUpstreams } from './deployments.js';
import type { ModelConfig } from './config.js';
import { requestTokens } from './context-window.js';
import type { ChatRequest } from './http.js';
import { callModel, type RetryDeps } from './model-call.js';
import type { CallSignal, HttpPost, UpstreamTimeouts } from './providers/openai-compatible.js';
import type { ResponseScorer } from '../routers/post-generation/response-scorer.js';

/** What the aggregator is told (after the mixture-of-agents "aggregate and synthesize" instruction). */
export const AGGREGATE_INSTRUCTION =
  'Several assistants answered the latest user message; their answers follow. Write the best single answer to that message: ' +
  'check the answers against each other, keep what is correct, fix or drop what is wrong, and do not mention that there were several answers.';

export interface Proposal {
  readonly model: string;
  readonly text: string;
  readonly costUsd: number;
  /** The proposer's chat.completion, as it answered. */
  readonly completion: Record<string, unknown>;
}

/** How a route merges soft routing's answers: an aggregator model writes one, or a scorer picks one. */
export type Aggregator = { readonly kind: 'model'; readonly model: string } | { readonly kind: 'scorer'; readonly scorer: ResponseScorer };

/** The proposal the scorer ranks first. */
export async function pickProposal(scorer: ResponseScorer, prompt: string, proposals: readonly Proposal[]): Promise<Proposal> {
  const scores = await scorer.score(proposals.map((p) => ({ prompt, model: p.model, response: p.text })));
  let best = 0;
  for (let k = 1; k < proposals.length; k++) if ((scores[k] as number) > (scores[best] as number)) best = k;
  return proposals[best] as Proposal;
}

export interface ProposalDeps {
  readonly post: (modelId: string) => HttpPost;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cost: (usage: { prompt_tokens?: number; completion_tokens?: number } | undefined, model: ModelConfig, serviceTier?: string) => number;
  /** The model's deployments and breakers: a model whose circuits are all open is skipped; each call's outcome is reported. */
  readonly upstreams?: (modelId: string) => ModelUpstreams | undefined;
  /** A proposer's retryable failures are retried like the routed call's. */
  readonly retry: RetryDeps;
  /** Aborted when the client went away: the proposers' calls are cancelled. */
  readonly cancel?: CallSignal | undefined;
}

/** Calls every proposer in parallel, without streaming, with retries; proposers that still fail (and open circuits) are left out. */
export async function propose(models: readonly string[], configs: Readonly<Record<string, ModelConfig>>, body: ChatRequest, timeouts: UpstreamTimeouts, deps: ProposalDeps): Promise<Proposal[]> {
  const request: Record<string, unknown> = { ...body, stream: false };
  delete request['stream_options'];
  const results = await Promise.all(
    models.map(async (id): Promise<Proposal | undefined> => {
      const model = configs[id];
      if (!model) return undefined;
      const call = await callModel(model, id, request, timeouts, { post: deps.post(id), env: deps.env, upstreams: deps.upstreams?.(id), retry: deps.retry, cancel: deps.cancel, tokens: () => requestTokens(body) });
      if (call.kind !== 'ok') return undefined;
      const r = call.result;
      try {
        const json = (await r.response.body.json()) as { choices?: Array<{ message?: { content?: unknown } }>; usage?: { prompt_tokens?: number; completion_tokens?: number }; service_tier?: unknown };
        call.settle(json.usage);
        const content = json.choices?.[0]?.message?.content;
        return typeof content === 'string' && content !== '' ? { model: id, text: content, costUsd: deps.cost(json.usage, model, typeof json.service_tier === 'string' ? json.service_tier : undefined), completion: json as Record<string, unknown> } : undefined;
      } catch {
        return undefined;
      } finally {
        r.finish();
      }
    }),
  );
  return results.filter((p): p is Proposal => p !== undefined);
}

/** The aggregator's request: the client's request with the proposals in a system message before the conversation. */
export function aggregateRequest(body: ChatRequest, proposals: readonly Proposal[]): ChatRequest {
  const listed = proposals.map((p, k) => `Answer ${k + 1}:\n${p.text}`).join('\n\n');
  return { ...body, messages: [{ role: 'system', content: `${AGGREGATE_INSTRUCTION}\n\n${listed}` }, ...body.messages] };
}
