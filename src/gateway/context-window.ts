/**
 * Context windows: the route's models a request fits — its messages (cl100k tokens) plus the
 * completion tokens it asks for — so a cheap small-context model is not chosen for a long prompt.
 */
import { CostModel } from '../routers/cost-model.js';
import type { ModelConfig } from './config.js';
import type { ChatRequest } from './http.js';
import { contentText } from './replay-upstream/replay-data.js';
import type { LoadedRoute } from './routes.js';

/** A request's tokens as admission and context windows count them: its messages (cl100k) plus the completion tokens it asks for. */
export function requestTokens(body: ChatRequest): number {
  return body.messages.reduce((sum, m) => sum + CostModel.countTokens(contentText(m.content)), 0) + askedTokens(body);
}

/** The completion tokens a request asks for (`max_completion_tokens` or `max_tokens`; 0 when neither is a positive number). */
function askedTokens(body: ChatRequest): number {
  const asked = Number(body['max_completion_tokens'] ?? body['max_tokens'] ?? 0);
  return Number.isFinite(asked) && asked > 0 ? asked : 0;
}

/**
 * The route's models whose context window the request fits (undefined: none of them has a known
 * window, so all may take it — nothing is counted); empty when it fits none.
 */
export function fittingModels(route: LoadedRoute, models: Readonly<Record<string, ModelConfig>>, body: ChatRequest): readonly string[] | undefined {
  let smallest = Infinity;
  for (const m of route.models) smallest = Math.min(smallest, models[m]?.contextWindow ?? Infinity);
  if (smallest === Infinity) return undefined;
  // a token is at least one UTF-8 byte, at most 3 a UTF-16 unit: a request surely within the smallest window is not counted
  const units = body.messages.reduce((sum, m) => sum + contentText(m.content).length, 0);
  const asked = askedTokens(body);
  if (3 * units + asked <= smallest) return undefined;
  const prompt = requestTokens(body) - asked;
  // a model with an output limit below what the request asks for is asked for its limit (withinOutputLimit)
  return route.models.filter((m) => (models[m]?.contextWindow ?? Infinity) >= prompt + Math.min(asked, models[m]?.maxOutputTokens ?? Infinity));
}
