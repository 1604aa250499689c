/** Runs the one router contract suite over every registered router. */
import { describe, expect, it } from 'vitest';
import { createRouter, routerKinds } from '../src/routers/registry.js';
import { loadDataset } from '../src/data/load.js';
import type { RoutingMatrix } from '../src/data/routing-matrix.js';
import { routerContract } from './contract/router-contract.js';
import { syntheticDir } from './helpers/synthetic.js';

/** Options a router needs in the contract run (the synthetic data's model ids). */
const SPEC: Record<string, string> = {
  fixed: 'fixed:model=small-2',
  random: 'random:seed=3',
  knn: 'knn:encoder=hashing:dim=256',
  linear: 'linear:encoder=hashing:dim=256',
  mlp: 'mlp:encoder=hashing:dim=256;epochs=5',
  mf: 'mf:encoder=hashing:dim=256;epochs=5',
  'cross-attention': 'cross-attention:encoder=hashing:dim=256;epochs=3;vocab=512',
  'semantic-routes': 'semantic-routes:encoder=hashing:dim=256;clusters=4',
  ensemble: 'ensemble:encoder=hashing:dim=256;members=knn+linear',
  linucb: 'linucb:encoder=hashing:dim=256;pca=16',
};

describe('registry', () => {
  it('has the baselines and refuses unknown names with a stable code', () => {
    expect(routerKinds()).toEqual(expect.arrayContaining(['best-single', 'cheapest', 'random', 'fixed']));
    expect(() => createRouter('no-such-router')).toThrow(expect.objectContaining({ code: 'router_unknown' }));
  });
});

/** Routers that need more than the default synthetic matrix (a cascade learns from answer texts). */
const withAnswers = (): RoutingMatrix => loadDataset(syntheticDir({ prompts: 240, models: 4, answers: true }));
const DATA: Record<string, () => RoutingMatrix> = { cascade: withAnswers };

for (const kind of routerKinds()) {
  const data = DATA[kind];
  routerContract(kind, () => createRouter(SPEC[kind] ?? kind), data ? { data } : {});
}
// the routed cascade: a pre-generation router picks each step (its artifact nests the base router's)
routerContract('cascade:base=linear', () => createRouter('cascade:base=linear;encoder=hashing:dim=256'), { data: withAnswers });
// costNorm=auto: the normalisation chosen in fit must travel in the artifact (identical decisions after load)
routerContract('linear:costNorm=auto', () => createRouter('linear:encoder=hashing:dim=256;costNorm=auto'));
