/**
 * `POST /v1/embeddings`, passed through to a configured OpenAI-compatible model, so that an
 * application pointing its whole OpenAI client at the gateway keeps its embeddings calls. Nothing is
 * routed (a route names chat models); the call gets the same retries, circuit breaker, timeouts and
 * cancellation as a chat call, and is billed (input tokens × the model's input price) to the key's
 * budget and the decision log like any request.
 */
import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import type { ModelConfig } from './config.js';
import { sendError, sendRefused } from './http.js';
import { callModel, type ModelCallDeps } from './model-call.js';
import type { UpstreamTimeouts } from './providers/openai-compatible.js';
import { costOf } from './usage-cost.js';

/** The part of an embeddings request the gateway reads; the rest passes through. */
export const EmbeddingsRequestSchema = z.object({ model: z.string().min(1), input: z.unknown().refine((v) => v !== undefined && v !== null, 'required') }).loose();
export type EmbeddingsRequest = z.infer<typeof EmbeddingsRequestSchema>;

export interface EmbeddingsJob {
  readonly res: ServerResponse;
  readonly body: EmbeddingsRequest;
  readonly models: Readonly<Record<string, ModelConfig>>;
  readonly routes: readonly string[];
  readonly timeouts: UpstreamTimeouts;
  /** The model's call dependencies (its transport, breaker, retry policy, the client's cancel signal). */
  readonly deps: (modelId: string) => ModelCallDeps;
  readonly headers: Record<string, string>;
  /** Records the request (status, cost) in the decision log, spend and metrics. */
  readonly record: (modelId: string, status: number, costUsd: number) => Promise<void>;
}

export async function serveEmbeddings(job: EmbeddingsJob): Promise<void> {
  const { res, body, models, headers } = job;
  const modelId = body.model;
  const model = models[modelId];
  if (!model) {
    const hint = job.routes.includes(modelId) ? ' (routes choose chat models; name an embedding model)' : '';
    return sendError(res, 404, 'model_not_found', `"${modelId}" is not a configured model${hint}`, headers);
  }
  if ((model.provider ?? 'openai-compatible') !== 'openai-compatible') {
    return sendError(res, 400, 'invalid_request', `models.${modelId}: a ${model.provider} model does not serve embeddings (only openai-compatible ones do)`, headers);
  }
  const deps = job.deps(modelId);
  const call = await callModel(model, modelId, body, job.timeouts, deps, 'embeddings');
  if (call.kind === 'cancelled') return job.record(modelId, 499, 0);
  if (call.kind === 'refused') return sendRefused(res, modelId, call, headers);
  if (call.kind === 'failed') {
    const status = call.status === 429 ? 429 : 502; // as a chat call whose models all failed
    await job.record(modelId, status, 0);
    return sendError(res, status, 'upstream_unavailable', `${modelId} failed (${call.status ?? call.outcome.kind})`, headers);
  }
  const { result } = call;
  let text: string;
  let usage: { prompt_tokens?: number } | undefined;
  try {
    text = await result.response.body.text();
    usage = (JSON.parse(text) as { usage?: { prompt_tokens?: number } }).usage;
  } catch {
    if (deps.cancel?.aborted) return job.record(modelId, 499, 0); // the client went away while the answer was read
    await job.record(modelId, 502, 0);
    return sendError(res, 502, 'upstream_unavailable', `${modelId}: the embeddings answer broke off or is not JSON`, headers);
  } finally {
    result.finish();
  }
  const cost = costOf(usage, model);
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers, 'x-switchyard-model': modelId, 'x-switchyard-cost-usd': cost.toPrecision(6) });
  res.end(text);
  await job.record(modelId, 200, cost);
}
