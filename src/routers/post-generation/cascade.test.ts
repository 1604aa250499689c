import { describe, expect, it } from 'vitest';
import { syntheticDir, syntheticMatrix } from '../../../test/helpers/synthetic.js';
import { loadDataset } from '../../data/load.js';
import { judgedColumns } from '../../eval/mixture-scores.js';
import { evaluate, replayPrompts } from '../../eval/replay.js';
import { CascadeRouter } from './cascade.js';

describe('cascade router', () => {
  const matrix = loadDataset(syntheticDir({ prompts: 400, models: 4, answers: true }));
  const train = matrix.view('train');
  const test = matrix.view('test');

  it('refuses to fit without answer texts, saying what it needs', async () => {
    await expect(new CascadeRouter().fit(syntheticMatrix({ prompts: 80 }).view('train'), { seed: 0 })).rejects.toThrow(/responses\.jsonl\.gz/);
    expect(() => new CascadeRouter({ maxLength: 4 })).toThrow(/maxLength/);
  });

  it('judges right answers above wrong ones, calls a cheap model first in the middle of the λ range, and keeps the best model at λ = 0', async () => {
    const r = new CascadeRouter();
    await r.fit(train, { seed: 0 });
    // the judge separates the recorded answers of the test prompts (it never saw them)
    const judged = await judgedColumns(r, train, test);
    const M = matrix.modelCount;
    let right = 0;
    let wrong = 0;
    let nr = 0;
    let nw = 0;
    for (let i = 0; i < test.size; i++) {
      for (let m = 0; m < M; m++) {
        const s = judged[i * M + m] as number;
        if (test.score(i, m) >= 0.5) (right += s), nr++;
        else (wrong += s), nw++;
      }
    }
    expect(right / nr).toBeGreaterThan(wrong / nw + 0.3);

    const [best] = await r.route([{ text: 'Question about an integral?' }], { lambda: 0 });
    expect(best?.models[best.models.length - 1]).toBe('big-model');
    const mid = await r.route(replayPrompts(test), { lambda: 0.5 });
    const cascades = mid.filter((d) => d.kind === 'cascade');
    expect(cascades.length).toBeGreaterThan(0);
    for (const d of cascades) {
      expect(d.accept).toHaveLength(d.models.length - 1);
      expect(d.models[0]).not.toBe('big-model'); // cheap first
    }
    const [cheapest] = await r.route([{ text: 'anything' }], { lambda: 1 });
    expect(cheapest?.kind).toBe('single');
  });

  it('beats the mix hull in replay, where answers tell right from wrong', async () => {
    const r = new CascadeRouter();
    await r.fit(train, { seed: 0 });
    const res = await evaluate(test, train, [{ name: 'cascade', router: r, judged: await judgedColumns(r, train, test) }], { lambdas: 11, bootstrap: 0 });
    const cascade = res.routers[0];
    expect(cascade?.aiq).toBeGreaterThan(res.reference.mixHull.aiq + 0.02);
    // a budget resolves to a λ whose train cost is within it
    const front = await r.route([{ text: 'x' }], { lambda: 0 });
    const budget = (front[0]?.expectedCostUsd ?? 0) / 3;
    const lambda = r.resolveLambda({ lambda: 0, budgetUsd: budget });
    const [d] = await r.route([{ text: 'x' }], { lambda });
    expect(d?.expectedCostUsd).toBeLessThanOrEqual(budget);
  });

  it('with a base router, picks each step per prompt (the topic\'s cheap specialist first) and saves the base inside its artifact', async () => {
    const { createRouter, routerFromArtifact } = await import('../registry.js');
    const r = createRouter('cascade:base=linear;encoder=hashing:dim=256');
    await r.fit(train, { seed: 0 });
    const ps = replayPrompts(test);
    const mid = await r.route(ps, { lambda: 0.2 });
    expect(new Set(mid.map((d) => d.models[0])).size).toBeGreaterThan(2); // the first step depends on the prompt
    expect(mid.some((d) => d.kind === 'cascade')).toBe(true);
    expect(mid.some((d) => /linear's choice at λ=/.test(d.reason))).toBe(true);
    const artifact = JSON.parse(JSON.stringify(r.toArtifact()));
    expect(artifact.state.base.kind).toBe('linear');
    const loaded = await routerFromArtifact(artifact);
    expect((await loaded.route(ps, { lambda: 0.2 })).map((d) => d.models)).toEqual(mid.map((d) => d.models));
    expect(() => createRouter('cascade:base=no-such-router')).toThrow(/unknown router "no-such-router"/);
  });

  it('with a prompt block in its judge (promptDim), rates the same after save/load', async () => {
    const { routerFromArtifact } = await import('../registry.js');
    const r = new CascadeRouter({ promptDim: 64 });
    await r.fit(train, { seed: 0 });
    const artifact = JSON.parse(JSON.stringify(r.toArtifact()));
    expect(artifact.state.scorer.promptEncoder.dim).toBe(64);
    const loaded = await routerFromArtifact(artifact);
    const items = [{ prompt: test.text(0), model: 'small-1', answer: 'The result is 4. Checked twice, so this answer is final.' }];
    const [again] = await (loaded.judgeAnswers as NonNullable<typeof loaded.judgeAnswers>)(items);
    const [first] = await r.judgeAnswers(items);
    expect(again).toBeCloseTo(first as number, 6); // the artifact keeps weights in f32
    expect(() => new CascadeRouter({ promptDim: -1 })).toThrow(/promptDim/);
  });
});
