/**
 * The router registry: name → factory. The CLI, the evaluator and the gateway create and load
 * routers only through it, so a new strategy is one `register` call away from every front.
 */
import { z } from 'zod';
import { SwitchyardError } from '../core/errors.js';
import type { Router, RouterArtifact } from '../spec/router.js';
import { BANDIT_ALGORITHMS, BanditConfigSchema, BanditRouter } from './bandit/bandit.js';
import { CrossAttentionRouter, QUERY_MODES } from './cross-attention/cross-attention.js';
import { EnsembleRouter, setEnsembleMemberFactory } from './ensemble/ensemble.js';
import { KnnRouter } from './knn/knn.js';
import { LinearRouter } from './linear/linear.js';
import { MfRouter, type MfLoss } from './mf/mf.js';
import { MlpRouter } from './mlp/mlp.js';
import { RulesRouter } from './rules/rules.js';
import { SemanticRoutesRouter } from './semantic/semantic-routes.js';
import { PredictorRouter, type PredictorOptions } from './predictor.js';
import { CascadeRouter } from './post-generation/cascade.js';
import { BestSingleRouter, CheapestRouter, FixedRouter, RandomRouter } from './baselines/baselines.js';

export type RouterOptions = Readonly<Record<string, string | number | boolean>>;

export interface RouterFactory {
  readonly kind: string;
  readonly summary: string;
  /** The options `kind:key=value;…` may set, with their types: an unknown key or a bad value is an error naming it. */
  readonly options: Readonly<Record<string, z.ZodType>>;
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
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? undefined : spec.slice(colon + 1);
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
  checkOptions(spec, routerFactory(kind), options);
  return { kind, options, label: spec };
}

/** Every option known to the router, of the right type (`knn:k=abc` and `knn:kk=5` are errors, not silently ignored). */
function checkOptions(spec: string, factory: RouterFactory, options: RouterOptions): void {
  const known = Object.keys(factory.options);
  for (const [key, value] of Object.entries(options)) {
    const type = factory.options[key];
    if (!type) throw new SwitchyardError('invalid_argument', `router "${spec}": ${factory.kind} has no option "${key}" (${known.length > 0 ? `options: ${known.join(', ')}` : 'it takes no options'})`);
    const r = type.safeParse(value);
    if (!r.success) throw new SwitchyardError('invalid_argument', `router "${spec}": ${key}=${String(value)}: ${r.error.issues[0]?.message ?? 'invalid'}`);
  }
}

const int = z.number({ error: 'expected a whole number' }).int('expected a whole number').positive('expected a number > 0');
const count = z.number({ error: 'expected a whole number' }).int('expected a whole number').min(0, 'expected a number ≥ 0');
const positive = z.number({ error: 'expected a number' }).positive('expected a number > 0');
const text = z.union([z.string(), z.number()]).transform(String);
const flag = z.boolean({ error: 'expected true or false' });
const oneOf = (values: readonly string[]) => z.enum(values as [string, ...string[]], { error: `expected ${values.join(', ')}` });
/** Options every quality predictor takes. */
const PREDICTOR_OPTIONS = { encoder: text, calibrate: flag, costNorm: oneOf(['absolute', 'relative', 'auto']), strip: flag } as const;

/** Options every predictor takes: encoder=SPEC (default use-lite, or SWITCHYARD_ENCODER), calibrate=false, costNorm=absolute|auto, strip=true. */
export function predictorOptions(o: RouterOptions): PredictorOptions {
  const encoder = o['encoder'] !== undefined ? String(o['encoder']) : process.env['SWITCHYARD_ENCODER'];
  const costNorm = o['costNorm'];
  if (costNorm !== undefined && costNorm !== 'absolute' && costNorm !== 'relative' && costNorm !== 'auto') {
    throw new SwitchyardError('invalid_argument', `costNorm: expected "absolute", "relative" or "auto", got "${String(costNorm)}"`);
  }
  return {
    ...(encoder ? { encoder } : {}),
    ...(o['calibrate'] !== undefined ? { calibrate: o['calibrate'] !== false } : {}),
    ...(o['strip'] !== undefined ? { strip: o['strip'] !== false } : {}),
    ...(costNorm ? { costNorm } : {}),
  };
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
  options: {},
  create: () => new BestSingleRouter(),
  fromArtifact: (a) => BestSingleRouter.fromArtifact(a),
});
registerRouter({
  kind: 'cheapest',
  summary: 'always the model with the lowest mean cost on train',
  options: {},
  create: () => new CheapestRouter(),
  fromArtifact: (a) => CheapestRouter.fromArtifact(a),
});
registerRouter({
  kind: 'random',
  summary: "RouteLLM's random router: best model with probability 1 − λ, else the cheapest",
  options: { seed: count },
  create: (o) => new RandomRouter(Number(o['seed'] ?? 0)),
  fromArtifact: (a) => RandomRouter.fromArtifact(a),
});
registerRouter({
  kind: 'fixed',
  summary: 'one configured model (option model=ID)',
  options: { model: text },
  create: (o) => new FixedRouter(o['model'] === undefined ? undefined : String(o['model'])),
  fromArtifact: (a) => FixedRouter.fromArtifact(a),
});

registerRouter({
  kind: 'knn',
  summary: 'mean score of the k nearest training prompts (cosine on a PCA of the embedding); k by leave-one-out',
  options: { ...PREDICTOR_OPTIONS, k: z.union([z.literal('auto'), int], { error: 'expected a whole number > 0 or auto' }), pca: count },
  create: (o) => new KnnRouter({ ...predictorOptions(o), ...(o['k'] !== undefined ? { k: o['k'] === 'auto' ? 'auto' : Number(o['k']) } : {}), ...(o['pca'] !== undefined ? { pca: Number(o['pca']) } : {}) }),
  fromArtifact: (a) => KnnRouter.fromArtifact(a),
});

registerRouter({
  kind: 'linear',
  summary: 'ridge regression of each model\'s score on the embedding; penalty by 5-fold CV',
  options: { ...PREDICTOR_OPTIONS, alpha: z.union([z.literal('auto'), positive], { error: 'expected a number > 0 or auto' }) },
  create: (o) => new LinearRouter({ ...predictorOptions(o), ...(o['alpha'] !== undefined ? { alpha: o['alpha'] === 'auto' ? 'auto' : Number(o['alpha']) } : {}) }),
  fromArtifact: (a) => LinearRouter.fromArtifact(a),
});

const num = (o: RouterOptions, key: string): Record<string, number> => (o[key] !== undefined ? { [key]: Number(o[key]) } : {});

registerRouter({
  kind: 'mlp',
  summary: 'multi-output MLP predicting every model\'s score; 5-fold cross-fitted, nets averaged',
  options: { ...PREDICTOR_OPTIONS, hidden: int, pca: count, epochs: int, lr: positive },
  create: (o) => new MlpRouter({ ...predictorOptions(o), ...num(o, 'hidden'), ...num(o, 'pca'), ...num(o, 'epochs'), ...num(o, 'lr') }),
  fromArtifact: (a) => MlpRouter.fromArtifact(a),
});

registerRouter({
  kind: 'mf',
  summary: 'matrix factorisation (RouteLLM-style, N models): model embeddings x projected prompt embedding',
  options: { ...PREDICTOR_OPTIONS, dim: int, pca: count, epochs: int, lr: positive, loss: oneOf(['pointwise', 'pairwise', 'both']) },
  create: (o) => {
    const loss = o['loss'];
    if (loss !== undefined && loss !== 'pointwise' && loss !== 'pairwise' && loss !== 'both') {
      throw new SwitchyardError('invalid_argument', `mf: loss must be pointwise, pairwise or both, got "${String(loss)}"`);
    }
    return new MfRouter({ ...predictorOptions(o), ...num(o, 'dim'), ...num(o, 'pca'), ...num(o, 'epochs'), ...num(o, 'lr'), ...(loss ? { loss: loss as MfLoss } : {}) });
  },
  fromArtifact: (a) => MfRouter.fromArtifact(a),
});

registerRouter({
  kind: 'cross-attention',
  summary: 'cross-attention soft router (arXiv 2506.09157): prompt tokens attend over learned model embeddings; soft=k calls the top k',
  options: {
    ...PREDICTOR_OPTIONS,
    ...Object.fromEntries(['dim', 'vocab', 'maxLen', 'soft', 'epochs', 'folds'].map((k) => [k, int])),
    pca: count,
    ...Object.fromEntries(['encoderLr', 'lr'].map((k) => [k, positive])),
    ...Object.fromEntries(['beta', 'trainLambda', 'sentenceWeight'].map((k) => [k, z.number({ error: 'expected a number' }).min(0, 'expected a number ≥ 0')])),
    query: oneOf(['auto', ...QUERY_MODES]),
  },
  create: (o) => {
    const query = o['query'];
    if (query !== undefined && query !== 'auto' && !(QUERY_MODES as readonly unknown[]).includes(query)) {
      throw new SwitchyardError('invalid_argument', `cross-attention: query must be auto, ${QUERY_MODES.join(', ')}, got "${String(query)}"`);
    }
    const keys = ['dim', 'vocab', 'maxLen', 'encoderLr', 'beta', 'trainLambda', 'sentenceWeight', 'soft', 'pca', 'epochs', 'lr', 'folds'];
    return new CrossAttentionRouter({ ...predictorOptions(o), ...Object.assign({}, ...keys.map((k) => num(o, k))), ...(query ? { query: query as 'tokens' } : {}) });
  },
  fromArtifact: (a) => CrossAttentionRouter.fromArtifact(a),
});

registerRouter({
  kind: 'rules',
  summary: 'declarative tiers (keywords, regex, token length) → model lists; λ walks each list (option config=FILE)',
  options: { config: text },
  create: (o) => new RulesRouter(o['config'] !== undefined ? String(o['config']) : undefined),
  fromArtifact: (a) => RulesRouter.fromArtifact(a),
});

registerRouter({
  kind: 'semantic-routes',
  summary: 'named routes by example utterances (option config=FILE) or learned clusters; per-route quality profiles',
  options: { ...PREDICTOR_OPTIONS, config: text, clusters: int },
  create: (o) => {
    const config = o['config'] !== undefined ? String(o['config']) : undefined;
    const clusters = o['clusters'] !== undefined ? { clusters: Number(o['clusters']) } : {};
    return new SemanticRoutesRouter({ ...predictorOptions(o), routes: config ?? { ...clusters } });
  },
  fromArtifact: (a) => SemanticRoutesRouter.fromArtifact(a),
});

registerRouter({
  kind: 'ensemble',
  summary: 'mean of several predictors\' calibrated predictions (option members=knn+linear)',
  options: { ...PREDICTOR_OPTIONS, members: text },
  create: (o) => new EnsembleRouter({ ...predictorOptions(o), ...(o['members'] !== undefined ? { members: String(o['members']).split('+') } : {}) }),
  fromArtifact: (a) => EnsembleRouter.fromArtifact(a),
});

registerRouter({
  kind: 'cascade',
  summary: 'post-generation: a cheap model first, the next one when an answer judge rates its answer below τ (needs recorded answers to fit)',
  options: { maxLength: int, folds: int, maxModels: int, promptDim: int, base: text, encoder: text },
  create: (o) => {
    const base = o['base'] === undefined ? undefined : `${String(o['base'])}${o['encoder'] !== undefined ? `:encoder=${String(o['encoder'])}` : ''}`;
    if (base !== undefined) parseRouterSpec(base); // an unknown base router fails here, before any fit
    return new CascadeRouter({ ...num(o, 'maxLength'), ...num(o, 'folds'), ...num(o, 'maxModels'), ...num(o, 'promptDim'), ...(base ? { base } : {}) });
  },
  fromArtifact: (a) => CascadeRouter.fromArtifact(a),
});

setEnsembleMemberFactory({
  create: (spec) => {
    const r = createRouter(spec);
    if (!(r instanceof PredictorRouter)) throw new SwitchyardError('invalid_argument', `ensemble: member "${spec}" is not a quality predictor`);
    return r;
  },
  load: async (a) => {
    const r = await routerFromArtifact(a);
    if (!(r instanceof PredictorRouter)) throw new SwitchyardError('artifact_invalid', `ensemble: member "${a.kind}" is not a quality predictor`);
    return r;
  },
});

const BANDIT_SUMMARY: Record<(typeof BANDIT_ALGORITHMS)[number], string> = {
  ucb1: 'bandit (context-free): UCB1 on each model\'s score, learns online from feedback',
  thompson: 'bandit (context-free): Thompson sampling, Beta–Bernoulli or Gaussian',
  linucb: 'contextual bandit: disjoint LinUCB on the PCA-reduced embedding (option pca=32|64|128|0)',
  'epsilon-greedy': 'bandit (context-free): ε-greedy baseline',
};
for (const algorithm of BANDIT_ALGORITHMS) {
  registerRouter({
    kind: algorithm,
    summary: BANDIT_SUMMARY[algorithm],
    // the bandit's own schema checks the values (BanditConfigSchema); these are its keys
    options: Object.fromEntries(Object.keys(BanditConfigSchema.shape).filter((k) => k !== 'algorithm').map((k) => [k, z.unknown()])),
    create: (o) => {
      const encoder = o['encoder'] !== undefined ? String(o['encoder']) : process.env['SWITCHYARD_ENCODER'];
      return new BanditRouter({ ...o, algorithm, ...(encoder ? { encoder } : {}) } as never);
    },
    fromArtifact: (a) => BanditRouter.fromArtifact(a),
  });
}
