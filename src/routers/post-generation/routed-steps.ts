/**
 * The routed cascade's steps (`cascade:base=knn`): a pre-generation router picks each step's model per
 * prompt — a cheap-leaning choice (its λ_first) first, a quality-leaning one (λ_last) to escalate to.
 * To tune the thresholds on train without the base router having seen the prompt it decides on, its
 * choices on train are cross-fitted: fitted on k − 1 folds, routed on the held-out one.
 */
import type { Router, RouterArtifact, TrainingData } from '../../spec/router.js';

/** The λ values at which the base router's choices are tried as steps. */
export const STEP_LAMBDAS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1] as const;

/** Prompts `rows` of a training view, addressed 0..rows.length-1. */
export function subsetOf(train: TrainingData, rows: readonly number[]): TrainingData {
  const at = (i: number): number => rows[i] as number;
  return {
    models: train.models,
    size: rows.length,
    text: (i) => train.text(at(i)),
    id: (i) => train.id(at(i)),
    score: (i, m) => train.score(at(i), m),
    cost: (i, m) => train.cost(at(i), m),
    inputTokens: (i, m) => train.inputTokens(at(i), m),
    outputTokens: (i, m) => train.outputTokens(at(i), m),
  };
}

/** A fresh base router from its spec (the registry is imported lazily: it registers the cascade itself). */
export async function createBase(spec: string): Promise<Router> {
  const { createRouter } = await import('../registry.js');
  return createRouter(spec);
}

export async function loadBase(artifact: RouterArtifact): Promise<Router> {
  const { routerFromArtifact } = await import('../registry.js');
  return routerFromArtifact(artifact);
}

/**
 * Out-of-fold choices of the base router on every training prompt at every step λ:
 * `choice[g * n + i]` is the model index chosen for prompt i at STEP_LAMBDAS[g] (candidates: the models with an outcome).
 */
export async function crossFitChoices(spec: string, train: TrainingData, fold: Int32Array, folds: number, seed: number): Promise<Int32Array> {
  const n = train.size;
  const M = train.models.length;
  const index = new Map(train.models.map((c, m) => [c.id, m]));
  const choice = new Int32Array(STEP_LAMBDAS.length * n).fill(-1);
  for (let f = 0; f < folds; f++) {
    const fitRows: number[] = [];
    const heldOut: number[] = [];
    for (let i = 0; i < n; i++) (fold[i] === f ? heldOut : fitRows).push(i);
    if (fitRows.length === 0 || heldOut.length === 0) continue;
    const base = await createBase(spec);
    await base.fit(subsetOf(train, fitRows), { seed: seed + f });
    const prompts = heldOut.map((i) => {
      const available = train.models.map((c, m) => (Number.isNaN(train.score(i, m)) ? '' : c.id)).filter((id) => id !== '');
      return available.length === M ? { text: train.text(i) } : { text: train.text(i), candidates: available };
    });
    for (const [g, lambda] of STEP_LAMBDAS.entries()) {
      const ds = await base.route(prompts, { lambda, detail: 'choice' });
      heldOut.forEach((i, k) => (choice[g * n + i] = index.get(ds[k]?.models[0] as string) ?? -1));
    }
  }
  return choice;
}
