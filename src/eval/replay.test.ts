import { describe, expect, it } from 'vitest';
import { syntheticMatrix } from '../../test/helpers/synthetic.js';
import type { Decision, PromptInput, Router, RoutePrefs } from '../spec/router.js';
import { evaluate } from './replay.js';

/** A fixed-choice router for crediting tests. */
function fixedRouter(models: string[], kind: Decision['kind']): Router {
  return {
    kind: 'test',
    models,
    fit: async () => undefined,
    toArtifact: () => {
      throw new Error('not needed');
    },
    route: async (ps: readonly PromptInput[], _p: RoutePrefs) => ps.map(() => ({ models, kind, reason: 'test' })),
  };
}

describe('replay crediting', () => {
  const m = syntheticMatrix({ prompts: 80 });
  const train = m.view('train');
  const test = m.view('test');

  it('credits a mixture with every call\'s cost and its best recorded score (upper bound)', async () => {
    const ids = ['small-1', 'small-2'];
    const res = await evaluate(test, train, [{ name: 'mix', router: fixedRouter(ids, 'mixture') }], { lambdas: 2, bootstrap: 0 });
    let q = 0;
    let c = 0;
    for (let i = 0; i < test.size; i++) {
      q += Math.max(test.score(i, 1), test.score(i, 2));
      c += test.cost(i, 1) + test.cost(i, 2);
    }
    expect(res.routers[0]?.points[0]?.quality).toBeCloseTo(q / test.size, 12);
    expect(res.routers[0]?.points[0]?.cost).toBeCloseTo(c / test.size, 15);
  });

  it('credits a mixture with the answer a scorer ranks first when scores are given, still paying every call', async () => {
    const ids = ['small-1', 'small-2'];
    const M = test.matrix.modelCount;
    // the scorer prefers small-2 on even rows and small-1 on odd rows (no text on row 0: the first model wins)
    const scores = new Float64Array(test.size * M).fill(Number.NaN);
    for (let i = 1; i < test.size; i++) {
      scores[i * M + 1] = i % 2 === 0 ? 0.2 : 0.8;
      scores[i * M + 2] = i % 2 === 0 ? 0.9 : 0.1;
    }
    const res = await evaluate(test, train, [{ name: 'mix', router: fixedRouter(ids, 'mixture'), mixtureScores: scores }], { lambdas: 2, bootstrap: 0 });
    let q = 0;
    let c = 0;
    for (let i = 0; i < test.size; i++) {
      q += test.score(i, i > 0 && i % 2 === 0 ? 2 : 1);
      c += test.cost(i, 1) + test.cost(i, 2);
    }
    expect(res.routers[0]?.points[0]?.quality).toBeCloseTo(q / test.size, 12);
    expect(res.routers[0]?.points[0]?.cost).toBeCloseTo(c / test.size, 15);
  });

  it('refuses cascades (no acceptance rule to replay) and single decisions naming several models', async () => {
    await expect(evaluate(test, train, [{ name: 'c', router: fixedRouter(['small-1', 'big-model'], 'cascade') }], { lambdas: 2, bootstrap: 0 })).rejects.toMatchObject({ code: 'invalid_argument' });
    await expect(evaluate(test, train, [{ name: 's', router: fixedRouter(['small-1', 'big-model'], 'single') }], { lambdas: 2, bootstrap: 0 })).rejects.toMatchObject({ code: 'invalid_argument' });
  });
});
