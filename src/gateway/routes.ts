/**
 * A gateway route, loaded: its router — the state it learned from feedback if the store has it (a
 * restart resumes where it stopped), else the artifact file — the models it may choose, how soft
 * routing's answers are merged, and its λ controller.
 */
import { readFileSync } from 'node:fs';
import { SwitchyardError } from '../core/errors.js';
import { readArtifactFile, repriceArtifact, type Repriced } from '../routers/artifact.js';
import { ResponseScorer } from '../routers/post-generation/response-scorer.js';
import { routerFromArtifact } from '../routers/registry.js';
import type { Router, RouterArtifact } from '../spec/router.js';
import type { StickyConfig } from './affinity.js';
import type { GatewayConfig, RouteConfig } from './config.js';
import { LambdaController } from './dynamic-lambda.js';
import { LearningRoute, RETAIN_EVENTS, SNAPSHOT_EVERY } from './learning.js';
import type { LatencyConfig } from './latency.js';
import type { Aggregator } from './mixture.js';
import type { GatewayStore } from './store/store.js';

export interface LoadedRoute {
  readonly name: string;
  /** Holds the route's router (replaced when a replica that fell behind the trimmed log reloads a snapshot). */
  readonly learning: LearningRoute;
  /** How soft routing's answers are merged, when configured. */
  readonly aggregator: Aggregator | undefined;
  readonly lambda: LambdaController;
  readonly models: readonly string[];
  /** A candidate router deciding in shadow (`routes.X.shadow`): recorded, never called. */
  readonly shadow: Router | undefined;
  /** A candidate router that routes a share of the requests (`routes.X.canary`), for real. */
  readonly canary: { readonly router: Router; readonly share: number } | undefined;
  /** How long the router may take to decide; past it, or when it fails, `fallback` answers. */
  readonly routerTimeoutMs: number;
  /** `routes.X.latency`: slow models are tried last (latency.ts). */
  readonly latency: LatencyConfig | undefined;
  /** The models the router now predicts costs for at the config's prices, not the ones it was trained with (`routes.X.prices`). */
  readonly repriced: readonly Repriced[];
  /** Conversation affinity (`routes.X.sticky`): a conversation's turns stay on one model. */
  readonly sticky: StickyConfig | undefined;
  /** The model that answers when the router fails (`routes.X.fallbackModel`; default: the most chosen so far, else the first). */
  fallback(): string;
  /** Counts a model the router chose (for the default fallback). */
  chose(model: string): void;
}

/** A route's fallback when its router fails: the configured model, else the one chosen most often so far, else its first. */
function fallbackChooser(models: readonly string[], configured: string | undefined): Pick<LoadedRoute, 'fallback' | 'chose'> {
  const counts = new Map<string, number>();
  let most: string | undefined;
  return {
    fallback: () => configured ?? most ?? (models[0] as string),
    chose(model) {
      const n = (counts.get(model) ?? 0) + 1;
      counts.set(model, n);
      if (most === undefined || n > (counts.get(most) ?? 0)) most = model;
    },
  };
}

/** A route's soft-routing aggregator from its config: a configured model, or a response scorer file. */
function loadAggregator(route: string, agg: RouteConfig['aggregate'], config: GatewayConfig): Aggregator | undefined {
  if (agg?.model !== undefined) {
    if (!(agg.model in config.models)) throw new SwitchyardError('invalid_argument', `routes.${route}.aggregate.model: "${agg.model}" is not a configured model`);
    return { kind: 'model', model: agg.model };
  }
  if (agg?.scorer === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(agg.scorer, 'utf8'));
  } catch (e) {
    throw new SwitchyardError('artifact_invalid', `routes.${route}.aggregate.scorer: cannot read ${agg.scorer}: ${(e as Error).message}`);
  }
  return { kind: 'scorer', scorer: ResponseScorer.fromArtifact(raw, `routes.${route}.aggregate.scorer (${agg.scorer})`) };
}

/** Loads route `name` and checks that its models are configured and known to its router. */
export async function loadRoute(name: string, rc: RouteConfig, config: GatewayConfig, store: GatewayStore): Promise<LoadedRoute> {
  const saved = await store.loadRouterState(name);
  // the router trades quality against cost at the prices the gateway pays (the config's), unless the route keeps its trained ones
  const serving = rc.prices === 'router' ? undefined : new Map(Object.entries(config.models));
  const reprice = (a: RouterArtifact): { artifact: RouterArtifact; changed: Repriced[] } => (serving ? repriceArtifact(a, serving) : { artifact: a, changed: [] });
  const load = async (a: RouterArtifact): Promise<Router> => routerFromArtifact(reprice(a).artifact);
  const { artifact, changed: repriced } = reprice(saved ? (JSON.parse(saved.artifactJson) as RouterArtifact) : readArtifactFile(rc.router));
  const router = await routerFromArtifact(artifact);
  const models = rc.models ?? router.models.filter((m) => m in config.models);
  const missing = models.filter((m) => !(m in config.models) || !router.models.includes(m));
  if (missing.length > 0 || models.length === 0) {
    throw new SwitchyardError('invalid_argument', `routes.${name}: models ${missing.length > 0 ? missing.join(', ') : '(none)'} are not both configured and known to the router (${router.models.join(', ')})`);
  }
  const aggregator = loadAggregator(name, rc.aggregate, config);
  const soft = Number(artifact.config['soft'] ?? 1);
  if (soft > 1 && aggregator === undefined) throw new SwitchyardError('invalid_argument', `routes.${name}.aggregate: the router routes soft (soft=${soft}: ${soft} models answer), so the route needs an aggregator (aggregate: { model: … } or { scorer: scorer.json })`);
  const shadow = rc.shadow ? await load(readArtifactFile(rc.shadow)) : undefined;
  if (shadow && !models.some((m) => shadow.models.includes(m))) throw new SwitchyardError('invalid_argument', `routes.${name}.shadow: ${rc.shadow} knows none of the route's models (${models.join(', ')})`);
  const canaryRouter = rc.canary ? await load(readArtifactFile(rc.canary.router)) : undefined;
  if (canaryRouter && !models.some((m) => canaryRouter.models.includes(m))) throw new SwitchyardError('invalid_argument', `routes.${name}.canary.router: ${rc.canary?.router} knows none of the route's models (${models.join(', ')})`);
  const canary = canaryRouter && rc.canary ? { router: canaryRouter, share: rc.canary.share } : undefined;
  if (rc.fallbackModel !== undefined && !models.includes(rc.fallbackModel)) throw new SwitchyardError('invalid_argument', `routes.${name}.fallbackModel: "${rc.fallbackModel}" is not one of the route's models (${models.join(', ')})`);
  const learning = new LearningRoute(name, router, store, saved?.seq ?? 0, RETAIN_EVENTS, SNAPSHOT_EVERY, load);
  await learning.sync(); // feedback received after the snapshot (here or on another replica)
  return { name, learning, aggregator, lambda: new LambdaController(rc.lambda, rc.schedule, rc.budget), models, shadow, canary, routerTimeoutMs: rc.routerTimeoutMs, latency: rc.latency, sticky: rc.sticky, repriced, ...fallbackChooser(models, rc.fallbackModel) };
}
