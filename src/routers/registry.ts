/**
 * The router registry: name → factory. The CLI, the evaluator and the gateway create and load
 * routers only through it, so a new strategy is one `register` call away from every front.
 */
import { SwitchyardError } from '../core/errors.js';
import type { Router, RouterArtifact } from '../spec/router.js';
import { BestSingleRouter, CheapestRouter, FixedRouter, RandomRouter } from './baselines/baselines.js';

export type RouterOptions = Readonly<Record<string, string | number | boolean>>;

export interface RouterFactory {
  readonly kind: string;
  readonly summary: string;
  create(options: RouterOptions): Router;
  fromArtifact(artifact: RouterArtifact): Router | Promise<Router>;
}

const factories = new Map<string, RouterFactory>();

export function registerRouter(factory: RouterFactory): void {
  factories.set(factory.kind, factory);
}

export function routerKinds(): string[] {
  return [...factories.keys()];
}

export function routerFactory(kind: string): RouterFactory {
  const f = factories.get(kind);
  if (!f) throw new SwitchyardError('router_unknown', `unknown router "${kind}" (known: ${routerKinds().join(', ')})`);
  return f;
}

/** `kind` or `kind:key=value;key=value` (as the CLI takes it, e.g. `fixed:model=gpt-4o`). */
export function parseRouterSpec(spec: string): { kind: string; options: RouterOptions; label: string } {
  const [kind, rest] = spec.split(':', 2) as [string, string | undefined];
  const options: Record<string, string | number | boolean> = {};
  if (rest) {
    for (const pair of rest.split(';')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new SwitchyardError('invalid_argument', `router "${spec}": expected key=value, got "${pair}"`);
      const key = pair.slice(0, eq);
      const raw = pair.slice(eq + 1);
      const asNum = Number(raw);
      options[key] = raw === 'true' ? true : raw === 'false' ? false : raw !== '' && Number.isFinite(asNum) ? asNum : raw;
    }
  }
  routerFactory(kind);
  return { kind, options, label: spec };
}

export function createRouter(spec: string): Router {
  const { kind, options } = parseRouterSpec(spec);
  return routerFactory(kind).create(options);
}

export async function routerFromArtifact(artifact: RouterArtifact): Promise<Router> {
  return routerFactory(artifact.kind).fromArtifact(artifact);
}

registerRouter({
  kind: 'best-single',
  summary: 'always the model with the best mean score on train',
  create: () => new BestSingleRouter(),
  fromArtifact: (a) => BestSingleRouter.fromArtifact(a),
});
registerRouter({
  kind: 'cheapest',
  summary: 'always the model with the lowest mean cost on train',
  create: () => new CheapestRouter(),
  fromArtifact: (a) => CheapestRouter.fromArtifact(a),
});
registerRouter({
  kind: 'random',
  summary: "RouteLLM's random router: best model with probability 1 − λ, else the cheapest",
  create: (o) => new RandomRouter(Number(o['seed'] ?? 0)),
  fromArtifact: (a) => RandomRouter.fromArtifact(a),
});
registerRouter({
  kind: 'fixed',
  summary: 'one configured model (option model=ID)',
  create: (o) => new FixedRouter(o['model'] === undefined ? undefined : String(o['model'])),
  fromArtifact: (a) => FixedRouter.fromArtifact(a),
});
