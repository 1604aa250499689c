/**
 * What a routed request will call (`planRequest`): the route's router decides; the order to try is
 * its choice, then the rest of the route's models by predicted utility (for fallbacks); a cascade
 * runs its steps before the last (cascade.ts); soft routing gets its proposers' answers and either
 * the model that aggregates them or the answer a scorer picked (mixture.ts).
 */
import type { CandidateEstimate, Decision, RoutePrefs, Router } from '../spec/router.js';
import { runCascade } from './cascade.js';
import { missingCapabilities, requiredCapabilities, supportsOf } from './capabilities.js';
import type { ModelConfig } from './config.js';
import type { ChatRequest } from './http.js';
import { pickProposal, propose, type Proposal, type ProposalDeps } from './mixture.js';
import type { UpstreamTimeouts } from './providers/openai-compatible.js';
import type { LoadedRoute } from './routes.js';
import type { ShadowChoice } from './store/store.js';

export interface Plan {
  readonly order: readonly string[];
  readonly candidates: readonly CandidateEstimate[];
  readonly reason: string;
  readonly proposals: readonly Proposal[];
  readonly picked: Proposal | undefined;
  /** A cascade's answers paid for and not kept (cascade.ts). */
  readonly escalated: readonly Proposal[];
  /** The shadow router's choice, when the route has one. */
  readonly shadow?: ShadowChoice | undefined;
  /** The canary router (`routes.X.canary`) decided this request. */
  readonly canary?: boolean;
}

export interface PlanDeps {
  readonly models: Readonly<Record<string, ModelConfig>>;
  readonly timeouts: UpstreamTimeouts;
  /** What the calls made before the answering one need (built only for cascades and soft routing, off the hot path). */
  readonly calls: () => ProposalDeps;
  /** Counts a cascade step (switchyard_cascade_steps_total). */
  readonly countStep: (route: string, model: string, outcome: string) => void;
  /** A uniform draw in [0, 1) (the seeded generator): does the canary route this request? */
  readonly draw: () => number;
  /** A router failed or missed the route's routerTimeoutMs (counted and logged by the gateway). */
  readonly onRouterError: (route: string, router: 'main' | 'canary' | 'shadow', e: unknown) => void;
}

/** The router's decision for one prompt; rejects when it fails or takes longer than `ms`. */
async function decide(router: Router, prompt: string, prefs: RoutePrefs, ms: number): Promise<Decision | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no decision within routerTimeoutMs (${ms} ms)`)), ms)));
  try {
    return (await Promise.race([router.route([{ text: prompt }], prefs), late]))[0];
  } finally {
    clearTimeout(timer);
  }
}

/** The plan when the router failed: the route's fallback model (if this request may go to it), then the others. */
function fallbackPlan(route: LoadedRoute, allowed: readonly string[], e: unknown): Plan {
  const wanted = route.fallback();
  const model = allowed.includes(wanted) ? wanted : (allowed[0] as string);
  const why = ((e as Error).message ?? String(e)).slice(0, 200);
  return { order: [model, ...allowed.filter((m) => m !== model)], candidates: [], reason: `router failed (${why}): ${model} answers as the route's fallback`, proposals: [], picked: undefined, escalated: [] };
}

/** What the route's shadow router would choose among `allowed` (those it knows), with its own predictions for that model. */
async function shadowChoice(route: LoadedRoute, prompt: string, lambda: number, allowed: readonly string[], onError: PlanDeps['onRouterError']): Promise<ShadowChoice | undefined> {
  const shadow = route.shadow;
  if (!shadow) return undefined;
  const candidates = allowed.filter((m) => shadow.models.includes(m));
  if (candidates.length === 0) return undefined;
  let d: Decision | undefined;
  try {
    d = await decide(shadow, prompt, { lambda, candidates }, route.routerTimeoutMs);
  } catch (e) {
    onError(route.name, 'shadow', e); // a shadow never affects the live request
    return undefined;
  }
  const model = d?.models[0];
  if (model === undefined) return undefined;
  const own = d?.candidates?.find((c) => c.model === model);
  return { model, ...(own?.quality !== undefined ? { quality: own.quality } : {}), ...(own?.cost !== undefined ? { cost: own.cost } : {}) };
}

/** A conversation's later turn (`routes.X.sticky`): the model that answered its earlier ones, the route's other models after it should it fail. */
export const stickyPlan = (model: string, allowed: readonly string[]): Plan => ({
  order: [model, ...allowed.filter((m) => m !== model)],
  candidates: [],
  reason: `kept ${model}: it answered this conversation's earlier turns (sticky)`,
  proposals: [],
  picked: undefined,
  escalated: [],
});

/** A model named directly: it, then its `fallbacks` (those the caller may use). */
export const directPlan = (model: string, fallbacks: readonly string[] = []): Plan => ({ order: [model, ...fallbacks], candidates: [], reason: 'model named directly', proposals: [], picked: undefined, escalated: [] });

/** `allowed`: the route's models this request may go to (those whose context it fits; default all). */
export async function planRequest(route: LoadedRoute, body: ChatRequest, prompt: string, lambda: number, deps: PlanDeps, allowed: readonly string[] = route.models): Promise<Plan> {
  // the canary's share of requests goes to the canary router, among the models it knows
  const canary = route.canary && deps.draw() < route.canary.share ? route.canary.router : undefined;
  const known = canary ? allowed.filter((m) => canary.models.includes(m)) : allowed;
  let router = canary && known.length > 0 ? canary : route.learning.router;
  let decision: Decision | undefined;
  try {
    decision = await decide(router, prompt, { lambda, candidates: router === canary ? known : allowed }, route.routerTimeoutMs);
  } catch (e) {
    deps.onRouterError(route.name, router === canary ? 'canary' : 'main', e);
    if (router !== canary) return fallbackPlan(route, allowed, e);
    // the canary failed: the live router decides
    router = route.learning.router;
    try {
      decision = await decide(router, prompt, { lambda, candidates: allowed }, route.routerTimeoutMs);
    } catch (e2) {
      deps.onRouterError(route.name, 'main', e2);
      return fallbackPlan(route, allowed, e2);
    }
  }
  const chosen = decision?.models[0] as string;
  if (chosen !== undefined) route.chose(chosen);
  const candidates = decision?.candidates ?? [];
  const ranked = [...candidates].filter((c) => allowed.includes(c.model)).sort((a, b) => (b.utility ?? 0) - (a.utility ?? 0)).map((c) => c.model);
  const order = [chosen, ...ranked.filter((m) => m !== chosen), ...allowed.filter((m) => m !== chosen && !ranked.includes(m))];
  const reason = router === canary ? `canary: ${decision?.reason ?? ''}` : (decision?.reason ?? '');
  const plan: Plan = { order, candidates, reason, proposals: [], picked: undefined, escalated: [], shadow: await shadowChoice(route, prompt, lambda, allowed, deps.onRouterError), ...(router === canary ? { canary: true } : {}) };
  if (decision?.kind === 'cascade') {
    // a cascade: cheap models first, each answer judged; the last model goes through the normal pipeline
    const c = await runCascade(decision, router, prompt, deps.models, body, deps.timeouts, deps.calls());
    for (const step of c.steps) deps.countStep(route.name, step.model, step.outcome);
    const reason = `${plan.reason}; ${c.note}`;
    if (c.kept) return { ...plan, reason, picked: c.kept, escalated: c.escalated };
    return { ...plan, reason, escalated: c.escalated, order: [c.last, ...order.filter((m) => m !== c.last && !decision.models.includes(m))] };
  }
  if (decision?.kind !== 'mixture' || !route.aggregator) return plan;
  if (route.aggregator.kind === 'model') {
    // an aggregator that cannot do what the request needs (tools, images …) would lose it: the first choice answers alone, no proposer paid
    const lacks = missingCapabilities(supportsOf(deps.models[route.aggregator.model]), requiredCapabilities(body));
    if (lacks.length > 0) return { ...plan, reason: `${plan.reason}; the aggregator ${route.aggregator.model} has no ${lacks.join(', ')}, so the first choice answers alone` };
  }
  // soft routing: the proposers answer in parallel, then an aggregator model or a scorer
  const proposals = await propose(decision.models, deps.models, body, deps.timeouts, deps.calls());
  const names = proposals.map((p) => p.model).join(', ');
  if (proposals.length === 0) return { ...plan, reason: `${plan.reason}; no proposer answered, so the first choice answers alone` };
  if (route.aggregator.kind === 'model') return { ...plan, proposals, order: [route.aggregator.model], reason: `${plan.reason}; ${route.aggregator.model} aggregated the answers of ${names}` };
  const picked = await pickProposal(route.aggregator.scorer, prompt, proposals);
  return { ...plan, proposals, picked, reason: `${plan.reason}; the response scorer picked ${picked.model}'s answer of ${names}` };
}
