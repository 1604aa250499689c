/**
 * `GET /v1/models` (client.models.list) and `GET /v1/models/{id}` (client.models.retrieve): the
 * routes and models the caller's API key may name, with OpenAI's fields and what a client choosing
 * between them may want — a route's models, a model's prices and context window.
 */
import type { ServerResponse } from 'node:http';
import { allowed, type KeyConfig } from './auth.js';
import type { ModelConfig } from './config.js';
import { decodeSegment, sendError, sendJson } from './http.js';

export interface ModelListDeps {
  readonly routes: ReadonlyMap<string, { readonly models: readonly string[] }>;
  readonly models: Readonly<Record<string, ModelConfig>>;
  /** The caller's key (a key limited to some models sees those); undefined without keys or a known one. */
  readonly key: KeyConfig | undefined;
  readonly requestId: string;
}

export function serveModelList(res: ServerResponse, path: string, deps: ModelListDeps): void {
  const { routes, models, key } = deps;
  const headers = { 'x-request-id': deps.requestId };
  const card = (id: string): Record<string, unknown> => {
    const route = routes.get(id);
    if (route) return { id, object: 'model', created: 0, owned_by: 'switchyard-route', models: route.models };
    const m = models[id];
    const longContext = m?.priceTiers ? { long_context: m.priceTiers.map((t) => ({ above_input_tokens: t.aboveInputTokens, input_usd_per_mtok: t.inputPricePerMTok, output_usd_per_mtok: t.outputPricePerMTok })) } : {};
    // a service tier's price is a multiple of these (flex: 0.5)
    const tiers = m?.serviceTiers && Object.keys(m.serviceTiers).length > 0 ? { service_tier_multipliers: m.serviceTiers } : {};
    const audio = { ...(m?.audioInputPricePerMTok !== undefined ? { audio_input_usd_per_mtok: m.audioInputPricePerMTok } : {}), ...(m?.audioOutputPricePerMTok !== undefined ? { audio_output_usd_per_mtok: m.audioOutputPricePerMTok } : {}) };
    return { id, object: 'model', created: 0, owned_by: 'switchyard', pricing: { input_usd_per_mtok: m?.inputPricePerMTok, output_usd_per_mtok: m?.outputPricePerMTok, ...audio, ...longContext, ...tiers }, ...(m?.contextWindow ? { context_window: m.contextWindow } : {}) };
  };
  const listed = [...routes.keys(), ...Object.keys(models)].filter((id) => allowed(key, id));
  if (path === '/v1/models') return sendJson(res, 200, { object: 'list', data: listed.map(card) }, headers);
  const id = decodeSegment(path.slice('/v1/models/'.length));
  // one the key may not name is not there for it, as in the list
  if (path.startsWith('/v1/models/') && listed.includes(id)) return sendJson(res, 200, card(id), headers);
  return sendError(res, 404, 'model_not_found', `"${id}" is neither a route (${[...routes.keys()].filter((r) => allowed(key, r)).join(', ')}) nor a configured model`, headers);
}
