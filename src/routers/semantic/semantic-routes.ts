/**
 * `semantic-routes`: named routes given by example utterances, matched by embedding similarity
 * (the best cosine to any of a route's utterances) against a threshold calibrated on the utterances
 * themselves (leave-one-out: own-route vs other-route similarities). Each route's quality profile —
 * every model's mean score on the training prompts it matches, shrunk towards the overall mean — is
 * the predicted quality, and the shared decision rule picks the model. A route may pin its models.
 * Without configured routes, routes are learned: k-means clusters of the training prompts.
 */
import { z } from 'zod';
import { readConfigFile, validateConfig } from '../../core/config-file.js';
import { base64ToF32, f32ToBase64 } from '../../core/encode-f32.js';
import { createRng } from '../../core/random.js';
import { dot, normalizeInPlace } from '../../core/vec.js';
import type { Decision, FitContext, PromptInput, RoutePrefs, RouterArtifact } from '../../spec/router.js';
import { parseState } from '../artifact.js';
import { PredictorRouter, predictorConfig, type PredictorOptions } from '../predictor.js';

export const SemanticRoutesConfigSchema = z.strictObject({
  routes: z
    .array(z.strictObject({ name: z.string().min(1), utterances: z.array(z.string().min(1)).min(1), models: z.array(z.string().min(1)).min(1).optional() }))
    .default([]),
  threshold: z.union([z.number().min(-1).max(1), z.literal('auto')]).default('auto'),
  /** Learned routes when none are configured. */
  clusters: z.number().int().min(1).max(256).default(8),
});
export type SemanticRoutesConfig = z.infer<typeof SemanticRoutesConfigSchema>;

export interface SemanticRoutesOptions extends PredictorOptions {
  readonly routes?: z.input<typeof SemanticRoutesConfigSchema> | string;
}

const StateSchema = z.object({
  config: SemanticRoutesConfigSchema,
  threshold: z.number(),
  dim: z.number().int(),
  /** Per anchor (utterance or centroid): its vector and route index. */
  anchors: z.string(),
  anchorRoute: z.array(z.number().int()),
  names: z.array(z.string()),
  /** (routes + 1) x M profiles; the last row is the no-match route. */
  profiles: z.array(z.number()),
});

const PRIOR = 5;

export class SemanticRoutesRouter extends PredictorRouter {
  readonly kind = 'semantic-routes';
  readonly version = 1;
  private routesConfig: SemanticRoutesConfig;
  private threshold = -1;
  private dim = 0;
  private anchors: Float32Array = new Float32Array(0);
  private anchorRoute: number[] = [];
  private names: string[] = [];
  private profiles: number[] = [];
  private pinned: Array<Uint8Array | undefined> = [];

  constructor(options: SemanticRoutesOptions = {}) {
    super(options);
    const r = options.routes ?? {};
    this.routesConfig = typeof r === 'string' ? readConfigFile(r, SemanticRoutesConfigSchema) : validateConfig(r, SemanticRoutesConfigSchema, 'semantic-routes');
  }

  /** Index of the matched route for an embedding (names.length = no match). */
  private match(x: Float32Array): number {
    let best = -Infinity;
    let route = this.names.length;
    const d = this.dim;
    for (let a = 0; a < this.anchorRoute.length; a++) {
      const s = dot(this.anchors.subarray(a * d, (a + 1) * d), x);
      if (s > best) {
        best = s;
        route = this.anchorRoute[a] as number;
      }
    }
    return best >= this.threshold ? route : this.names.length;
  }

  protected async fitQuality(X: readonly Float32Array[], Y: Float64Array, ctx: FitContext): Promise<Float64Array> {
    const n = X.length;
    const M = this.cards.length;
    this.dim = (X[0] as Float32Array).length;
    const configured = this.routesConfig.routes;
    if (configured.length > 0) {
      const vectors = await this.encoder!.embed(configured.flatMap((r) => r.utterances));
      this.anchors = new Float32Array(vectors.length * this.dim);
      vectors.forEach((v, k) => this.anchors.set(v, k * this.dim));
      this.anchorRoute = configured.flatMap((r, i) => r.utterances.map(() => i));
      this.names = configured.map((r) => r.name);
      this.threshold = this.routesConfig.threshold === 'auto' ? calibrateThreshold(vectors, this.anchorRoute) : this.routesConfig.threshold;
    } else {
      const k = Math.min(this.routesConfig.clusters, n);
      const centroids = kMeans(X, k, ctx.seed);
      this.anchors = new Float32Array(k * this.dim);
      centroids.forEach((c, i) => this.anchors.set(c, i * this.dim));
      this.anchorRoute = centroids.map((_, i) => i);
      this.names = centroids.map((_, i) => `cluster-${i}`);
      this.threshold = -Infinity;
    }
    this.pinned = [...configured.map((r) => (r.models ? this.maskOf(r.models) : undefined)), undefined];
    const R = this.names.length + 1;
    const assign = X.map((x) => this.match(x));
    const sum = new Float64Array(R * M);
    const cnt = new Float64Array(R * M);
    const gSum = new Float64Array(M);
    const gCnt = new Float64Array(M);
    assign.forEach((r, i) => {
      for (let m = 0; m < M; m++) {
        const y = Y[i * M + m] as number;
        if (Number.isNaN(y)) continue;
        sum[r * M + m] = (sum[r * M + m] as number) + y;
        cnt[r * M + m] = (cnt[r * M + m] as number) + 1;
        gSum[m] = (gSum[m] as number) + y;
        gCnt[m] = (gCnt[m] as number) + 1;
      }
    });
    const g = (m: number): number => ((gCnt[m] as number) > 0 ? (gSum[m] as number) / (gCnt[m] as number) : 0.5);
    this.profiles = Array.from({ length: R * M }, (_, k) => ((sum[k] as number) + PRIOR * g(k % M)) / ((cnt[k] as number) + PRIOR));
    ctx.log?.(`semantic-routes: ${this.names.length} routes, threshold ${this.threshold.toFixed(3)}, matched ${assign.filter((r) => r < this.names.length).length}/${n} training prompts`);
    // leave-one-out profile of each training prompt's own route
    const oof = new Float64Array(n * M);
    assign.forEach((r, i) => {
      for (let m = 0; m < M; m++) {
        const y = Y[i * M + m] as number;
        const k = r * M + m;
        const own = Number.isNaN(y) ? 0 : 1;
        oof[i * M + m] = ((sum[k] as number) - (own ? y : 0) + PRIOR * g(m)) / ((cnt[k] as number) - own + PRIOR);
      }
    });
    return oof;
  }

  private maskOf(models: readonly string[]): Uint8Array {
    const mask = new Uint8Array(this.cards.length);
    for (const id of models) mask[this.modelIndex(id)] = 1;
    return mask;
  }

  protected predictQuality(x: Float32Array, out: Float64Array, offset: number): void {
    const r = this.match(x);
    const M = this.cards.length;
    for (let m = 0; m < M; m++) out[offset + m] = this.profiles[r * M + m] as number;
  }

  protected override async routeBatch(prompts: readonly PromptInput[], prefs: RoutePrefs): Promise<Decision[]> {
    const X = await this.embedPrompts(prompts);
    const routes = X.map((x) => this.match(x));
    const pinnedPrompts = prompts.map((p, i) => {
      const pin = this.pinned[routes[i] as number];
      if (!pin) return p;
      const allowed = this.models.filter((id, m) => pin[m] === 1 && (!p.candidates || p.candidates.includes(id)));
      return allowed.length > 0 ? { ...p, candidates: allowed } : p;
    });
    const decisions = await super.routeBatch(pinnedPrompts, prefs);
    return decisions.map((d, i) => ({ ...d, reason: `route "${this.names[routes[i] as number] ?? 'none'}": ${d.reason}` }));
  }

  protected familyConfig(): Record<string, unknown> {
    return {};
  }

  protected familyState(): unknown {
    return { config: this.routesConfig, threshold: this.threshold, dim: this.dim, anchors: f32ToBase64(this.anchors), anchorRoute: this.anchorRoute, names: this.names, profiles: this.profiles.map((v) => Number(v.toFixed(6))) };
  }

  protected restoreFamily(_config: Readonly<Record<string, unknown>>, state: unknown): void {
    const s = parseState(StateSchema, { ...(state as object), threshold: (state as { threshold?: number | null }).threshold ?? -1 }, this.kind);
    this.routesConfig = s.config;
    this.threshold = s.threshold;
    this.dim = s.dim;
    this.anchors = base64ToF32(s.anchors);
    this.anchorRoute = s.anchorRoute;
    this.names = s.names;
    this.profiles = s.profiles;
    this.pinned = [...s.config.routes.map((r) => (r.models ? this.maskOf(r.models) : undefined)), undefined];
  }

  static fromArtifact(a: RouterArtifact): SemanticRoutesRouter {
    return new SemanticRoutesRouter(predictorConfig(a.config)).restore(a);
  }
}

/** The similarity threshold that best separates own-route from other-route nearest utterances (leave-one-out). */
export function calibrateThreshold(vectors: readonly Float32Array[], route: readonly number[]): number {
  const pos: number[] = [];
  const neg: number[] = [];
  vectors.forEach((v, i) => {
    let own = -Infinity;
    let other = -Infinity;
    vectors.forEach((u, j) => {
      if (i === j) return;
      const s = dot(v, u);
      if (route[j] === route[i]) own = Math.max(own, s);
      else other = Math.max(other, s);
    });
    if (own > -Infinity) pos.push(own);
    if (other > -Infinity) neg.push(other);
  });
  if (pos.length === 0) return 0.5;
  const candidates = [...pos, ...neg].sort((a, b) => a - b);
  let best = { t: 0.5, acc: -1 };
  for (const t of candidates) {
    const acc = pos.filter((s) => s >= t).length + neg.filter((s) => s < t).length;
    if (acc > best.acc) best = { t, acc };
  }
  return best.t;
}

/** Spherical k-means (cosine), k-means++ seeding, seeded; returns unit centroids. */
export function kMeans(X: readonly Float32Array[], k: number, seed: number, iterations = 15): Float32Array[] {
  const rng = createRng(seed);
  const d = (X[0] as Float32Array).length;
  const centroids: Float32Array[] = [Float32Array.from(X[rng.int(X.length)] as Float32Array)];
  const dist = new Float64Array(X.length).fill(Infinity);
  while (centroids.length < k) {
    const c = centroids[centroids.length - 1] as Float32Array;
    let total = 0;
    X.forEach((x, i) => {
      dist[i] = Math.min(dist[i] as number, Math.max(0, 1 - dot(x, c)));
      total += dist[i] as number;
    });
    let u = rng.next() * total;
    let pick = 0;
    for (; pick < X.length - 1; pick++) if ((u -= dist[pick] as number) <= 0) break;
    centroids.push(Float32Array.from(X[pick] as Float32Array));
  }
  const assign = new Int32Array(X.length);
  for (let it = 0; it < iterations; it++) {
    X.forEach((x, i) => {
      let best = -Infinity;
      centroids.forEach((c, j) => {
        const s = dot(x, c);
        if (s > best) {
          best = s;
          assign[i] = j;
        }
      });
    });
    const sums = centroids.map(() => new Float32Array(d));
    X.forEach((x, i) => {
      const s = sums[assign[i] as number] as Float32Array;
      for (let t = 0; t < d; t++) s[t] = (s[t] as number) + (x[t] as number);
    });
    sums.forEach((s, j) => {
      if (s.some((v) => v !== 0)) centroids[j] = normalizeInPlace(s);
    });
  }
  return centroids;
}
