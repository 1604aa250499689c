/**
 * The models a chat request may go to, before the router chooses: those that can do what it needs
 * (capabilities.ts: tools, images, a JSON schema, audio, several choices), whose context it fits (context-window.ts),
 * and — on a route with `latency` — not slow now (latency.ts; slow ones are kept for last). A model
 * named directly is checked for what it needs, and its `fallbacks` filtered alike. Either the models,
 * or the 400 error that says why there are none.
 */
import { allowed, type KeyConfig } from './auth.js';
import { capableModels, requiredCapabilities, supportsOf, unsupportedMessage, type Supports } from './capabilities.js';
import { fittingModels, requestTokens } from './context-window.js';
import type { ChatRequest } from './http.js';
import { setSlowApart } from './latency.js';
import type { ModelSet } from './model-set.js';
import type { HttpErrorCode } from './openai-errors.js';
import type { LoadedRoute } from './routes.js';

export type Eligible =
  | { readonly ok: false; readonly code: HttpErrorCode; readonly message: string }
  | {
      readonly ok: true;
      /** For a route: the models its router chooses among (undefined: all of the route's). */
      readonly models: readonly string[] | undefined;
      /** For a route with `latency`: slow models now, tried after the others, and why. */
      readonly slow: ReadonlyArray<{ readonly model: string; readonly why: string }>;
      /** For a model named directly: its `fallbacks` this request may go to. */
      readonly fallbacks: readonly string[];
    };

export function eligibleModels(route: LoadedRoute | undefined, named: string, body: ChatRequest, models: ModelSet, key: KeyConfig | null | undefined, now: number): Eligible {
  const needs = requiredCapabilities(body);
  const supportsById = (id: string): Supports | undefined => supportsOf(models.config[id]);
  const capable = needs.length === 0 ? undefined : capableModels(route?.models ?? [named], supportsById, needs);
  if (capable?.length === 0) return { ok: false, code: 'unsupported_capability', message: unsupportedMessage(route ? `route ${route.name}` : `model ${named}`, route?.models ?? [named], supportsById, needs) };
  if (!route) {
    const fallbacks = (models.config[named]?.fallbacks ?? []).filter((m) => m in models.config && allowed(key, m));
    return { ok: true, models: undefined, slow: [], fallbacks: capableModels(fallbacks, supportsById, needs) };
  }
  const fitting = fittingModels(route, models.config, body);
  if (fitting?.length === 0) {
    const largest = route.models.reduce((a, m) => ((models.config[m]?.contextWindow ?? 0) > (models.config[a]?.contextWindow ?? 0) ? m : a));
    return { ok: false, code: 'context_length_exceeded', message: `this request needs ~${requestTokens(body)} tokens (prompt + max_tokens); the largest context among route ${route.name}'s models is ${models.config[largest]?.contextWindow} (${largest})` };
  }
  const eligible = capable === undefined ? fitting : (fitting ?? capable).filter((m) => capable.includes(m));
  if (eligible?.length === 0) {
    return { ok: false, code: 'context_length_exceeded', message: `this request needs ~${requestTokens(body)} tokens (prompt + max_tokens) and ${needs.join(', ')}: route ${route.name}'s models with ${needs.join(', ')} (${capable?.join(', ')}) have smaller context windows` };
  }
  if (!route.latency) return { ok: true, models: eligible, slow: [], fallbacks: [] };
  const { fast, slow } = setSlowApart(eligible ?? route.models, (id) => models.upstreams.get(id)?.firstByte, route.latency, now);
  return { ok: true, models: fast, slow, fallbacks: [] };
}
