/** Runs the one router contract suite over every registered router. */
import { describe, expect, it } from 'vitest';
import { createRouter, routerKinds } from '../src/routers/registry.js';
import { routerContract } from './contract/router-contract.js';

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

for (const kind of routerKinds()) routerContract(kind, () => createRouter(SPEC[kind] ?? kind));
