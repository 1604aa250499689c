import { describe, expect, it } from 'vitest';
import { syntheticMatrix } from '../../test/helpers/synthetic.js';
import type { Decision, PromptInput, Router, RoutePrefs } from '../spec/router.js';
import { evaluate } from './replay.js';

/** A fixed-choice router for crediting tests. */
function fixedRouter(models: string[], kind: Decision['kind'], accept?: number[]): Router {
  return {
    kind: 'test',
    models,
    fit: async () => undefined,
    toArtifact: () => {
      throw new Error('not needed');
    },
    route: async (ps: readonly PromptInput[], _p: RoutePrefs) => ps.map(() => ({ models, kind, reason: 'test', ...(accept ? { accept } : {}) })),
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

  it('credits a cascade with the calls it made until an answer was judged good enough, and that answer', async () => {
    const M = test.matrix.modelCount;
    // small-1's answer is judged 0.9 on even rows (kept), 0.3 on odd rows (escalated to big-model); row 0 has no text (escalated)
    const judged = new Float64Array(test.size * M).fill(Number.NaN);
    for (let i = 1; i < test.size; i++) judged[i * M + 1] = i % 2 === 0 ? 0.9 : 0.3;
    const router = fixedRouter(['small-1', 'big-model'], 'cascade', [0.5]);
    const res = await evaluate(test, train, [{ name: 'c', router, judged }], { lambdas: 2, bootstrap: 0 });
    let q = 0;
    let c = 0;
    for (let i = 0; i < test.size; i++) {
      const kept = i > 0 && i % 2 === 0;
      q += kept ? test.score(i, 1) : test.score(i, 0);
      c += test.cost(i, 1) + (kept ? 0 : test.cost(i, 0));
    }
    expect(res.routers[0]?.points[0]?.quality).toBeCloseTo(q / test.size, 12);
    expect(res.routers[0]?.points[0]?.cost).toBeCloseTo(c / test.size, 15);
  });

  it('refuses cascades without their judge\'s ratings or thresholds, and single decisions naming several models', async () => {
    await expect(evaluate(test, train, [{ name: 'c', router: fixedRouter(['small-1', 'big-model'], 'cascade', [0.5]) }], { lambdas: 2, bootstrap: 0 })).rejects.toThrow(/judge's ratings/);
    const judged = new Float64Array(test.size * test.matrix.modelCount);
    await expect(evaluate(test, train, [{ name: 'c', router: fixedRouter(['small-1', 'big-model'], 'cascade'), judged }], { lambdas: 2, bootstrap: 0 })).rejects.toThrow(/needs 1 threshold/);
    await expect(evaluate(test, train, [{ name: 's', router: fixedRouter(['small-1', 'big-model'], 'single') }], { lambdas: 2, bootstrap: 0 })).rejects.toMatchObject({ code: 'invalid_argument' });
  });
});
