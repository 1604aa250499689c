import { describe, expect, it } from 'vitest';
import { syntheticMatrix } from '../../test/helpers/synthetic.js';
import { evaluateSwarm } from './swarm-eval.js';

describe('swarm replay', () => {
  const test = syntheticMatrix({ prompts: 400, models: 4 }).view('test');
  const M = test.matrix.modelCount;
  const ids = ['small-1', 'small-2', 'small-3'];

  it('credits the scorer\'s pick, first-come and the best answer, with proposals lost at the given rate', () => {
    // a scorer that knows the recorded scores, plus a little noise-free tie-breaking by model index
    const scores = new Float64Array(test.size * M);
    for (let i = 0; i < test.size; i++) for (let m = 0; m < M; m++) scores[i * M + m] = test.score(i, m) + m * 1e-3;
    const rows = evaluateSwarm(test, ids, scores, { drops: [0, 0.5], seed: 1 });
    const row = (label: string) => rows.find((r) => r.label.includes(label)) as (typeof rows)[number];
    const best = row('0% of proposals lost: best answer');
    expect(row('0% of proposals lost: scorer picks').quality).toBeCloseTo(best.quality, 12); // a perfect scorer reaches the bound
    expect(row('0% of proposals lost: first-come').quality).toBeLessThan(best.quality);
    expect(best.proposals).toBe(3);
    const lossy = row('50% of proposals lost: scorer picks');
    expect(lossy.proposals).toBeGreaterThan(1.7);
    expect(lossy.proposals).toBeLessThan(2.3);
    expect(lossy.quality).toBeLessThan(best.quality);
    for (const id of ids) expect(row(`${id} alone`).proposals).toBe(1);
  });

  it('routed: only the wanted models propose, and the origin answers alone when none of them arrives', () => {
    const scores = new Float64Array(test.size * M);
    // the router wants small-2 (index 1 among ids) only; every other proposal is lost
    const rows = evaluateSwarm(test, ids, scores, { drops: [0, 0.999999], seed: 2, wanted: () => [1], routedLabel: 'test router' });
    const routed = rows.find((r) => r.label === 'routed swarm (test router), 0% of proposals lost: scorer picks');
    expect(routed?.proposals).toBe(1);
    expect(routed?.quality).toBeCloseTo(rows.find((r) => r.label === 'small-2 alone')?.quality as number, 12);
    // proposals (almost) always lost: the origin's own model answers when it is not small-2
    const lossy = rows.find((r) => r.label === 'routed swarm (test router), 100% of proposals lost: scorer picks');
    expect(lossy?.proposals).toBe(1);
    expect(lossy?.quality).not.toBeCloseTo(routed?.quality as number, 6);
  });

  it('names a model the dataset does not have', () => {
    expect(() => evaluateSwarm(test, ['small-1', 'nope'], new Float64Array(test.size * M), { drops: [0], seed: 0 })).toThrow(/"nope" is not a model/);
    expect(() => evaluateSwarm(test, ['small-1'], new Float64Array(test.size * M), { drops: [0], seed: 0 })).toThrow(/at least two/);
  });
});
