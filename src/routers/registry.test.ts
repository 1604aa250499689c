/** Router specs (`kind:key=value;…`): every option is known to its router and of the right type. */
import { describe, expect, it } from 'vitest';
import { createRouter, parseRouterSpec, routerFactory, routerKinds } from './registry.js';

describe('router specs', () => {
  it('parses known options with their types', () => {
    expect(parseRouterSpec('knn:encoder=hashing:dim=256;k=5').options).toEqual({ encoder: 'hashing:dim=256', k: 5 });
    expect(parseRouterSpec('knn:k=auto').options).toEqual({ k: 'auto' });
    expect(parseRouterSpec('linucb:bootstrap=false;pca=16').options).toEqual({ bootstrap: false, pca: 16 });
    expect(createRouter('fixed:model=small-1').kind).toBe('fixed');
  });

  it('refuses an unknown option, naming it and the options there are', () => {
    expect(() => parseRouterSpec('knn:kk=5')).toThrow('router "knn:kk=5": knn has no option "kk" (options: encoder, calibrate, costNorm, strip, k, pca)');
    expect(() => parseRouterSpec('best-single:x=1')).toThrow('best-single has no option "x" (it takes no options)');
    expect(() => parseRouterSpec('linucb:foo=1')).toThrow(/linucb has no option "foo" \(options: encoder, pca, /);
  });

  it('refuses a value of the wrong type, naming the option', () => {
    expect(() => parseRouterSpec('knn:k=abc')).toThrow('router "knn:k=abc": k=abc: expected a whole number > 0 or auto');
    expect(() => parseRouterSpec('random:seed=1.5')).toThrow('seed=1.5: expected a whole number');
    expect(() => parseRouterSpec('linear:alpha=-1')).toThrow('alpha=-1: expected a number > 0');
    expect(() => parseRouterSpec('mf:loss=foo')).toThrow('loss=foo: expected pointwise, pairwise, both');
    expect(() => parseRouterSpec('knn:calibrate=yes')).toThrow('calibrate=yes: expected true or false');
    expect(() => parseRouterSpec('cross-attention:epochs=0')).toThrow('epochs=0: expected a number > 0');
  });

  it('declares options for every registered router', () => {
    for (const kind of routerKinds()) expect(routerFactory(kind).options, kind).toBeTypeOf('object');
  });

  it('costNorm=auto picks a normalisation by train AIQ and keeps the choice (not "auto") in the artifact', async () => {
    const { syntheticDir } = await import('../../test/helpers/synthetic.js');
    const { loadDataset } = await import('../data/load.js');
    const logs: string[] = [];
    const r = createRouter('linear:encoder=hashing:dim=256;costNorm=auto');
    await r.fit(loadDataset(syntheticDir({ prompts: 120 })).view('train'), { seed: 0, log: (l) => logs.push(l) });
    const chosen = r.toArtifact().config['costNorm'];
    expect(['absolute', 'relative']).toContain(chosen);
    expect(logs.join('\n')).toMatch(new RegExp(`costNorm=auto chose ${String(chosen)} \\(train AIQ, out-of-fold: relative [0-9.]+, absolute [0-9.]+\\)`));
    expect(() => parseRouterSpec('linear:costNorm=sometimes')).toThrow(/costNorm/);
  });
});
