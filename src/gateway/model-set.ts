/**
 * The configured models with what calls them — each model's transport when not plain HTTP
 * (Anthropic, the in-process replay provider) and its deployments' circuit breakers. A gateway holds
 * one set and replaces it whole when a reload changes the models, so a request keeps the set it
 * started with; a model whose config did not change keeps its breakers (their state is still true).
 */
import type { ModelConfig } from './config.js';
import { ModelUpstreams, type SharedLimits } from './deployments.js';
import { modelPosts } from './providers/model-posts.js';
import type { HttpPost } from './providers/openai-compatible.js';

export interface ModelSet {
  readonly config: Readonly<Record<string, ModelConfig>>;
  readonly posts: ReadonlyMap<string, HttpPost>;
  readonly upstreams: ReadonlyMap<string, ModelUpstreams>;
}

/** What changed between two model configs. */
export interface ModelChanges {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
}

const same = (a: ModelConfig | undefined, b: ModelConfig | undefined): boolean => JSON.stringify(a) === JSON.stringify(b);

export function modelChanges(before: Readonly<Record<string, ModelConfig>>, after: Readonly<Record<string, ModelConfig>>): ModelChanges {
  return {
    added: Object.keys(after).filter((id) => !(id in before)),
    removed: Object.keys(before).filter((id) => !(id in after)),
    changed: Object.keys(after).filter((id) => id in before && !same(before[id], after[id])),
  };
}

/**
 * Breakers (and minute limits) per model: kept from `previous` for a model whose config did not
 * change, new otherwise; `shared`: the minute limits and `maxInFlight` are shared by replicas through the store.
 */
export function upstreamsFor(models: Readonly<Record<string, ModelConfig>>, previous: ModelSet | undefined, now: () => number, shared?: SharedLimits): Map<string, ModelUpstreams> {
  const out = new Map<string, ModelUpstreams>();
  for (const [id, m] of Object.entries(models)) {
    const kept = previous?.upstreams.get(id);
    out.set(id, kept && same(previous?.config[id], m) ? kept : new ModelUpstreams(m, { failureThreshold: 5, cooldownMs: 30_000 }, now, shared && { id, ...shared }));
  }
  return out;
}

/**
 * The set for `models`: transports loaded for the models `previous` does not have as they are (a
 * replay model's dataset is read here), `previous`'s transports and breakers kept for the others.
 */
export async function loadModelSet(models: Readonly<Record<string, ModelConfig>>, base: HttpPost, now: () => number, previous?: ModelSet, shared?: SharedLimits, env?: Readonly<Record<string, string | undefined>>): Promise<ModelSet> {
  const kept = (id: string): boolean => previous !== undefined && same(previous.config[id], models[id]);
  const posts = await modelPosts(Object.fromEntries(Object.entries(models).filter(([id]) => !kept(id))), base, now, env);
  for (const id of Object.keys(models)) {
    const post = kept(id) ? previous?.posts.get(id) : undefined;
    if (post) posts.set(id, post);
  }
  return { config: models, posts, upstreams: upstreamsFor(models, previous, now, shared) };
}
