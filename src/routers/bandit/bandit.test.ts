import { describe, expect, it } from 'vitest';
import { syntheticMatrix } from '../../../test/helpers/synthetic.js';
import { base64ToF64 } from '../../core/encode-f32.js';
import { createRng } from '../../core/random.js';
import { evaluateOnline } from '../../eval/online.js';
import { routerFromArtifact } from '../registry.js';
import { BanditRouter, ratioReward } from './bandit.js';
import { LinUcb } from './policies.js';

describe('LinUCB', () => {
  it('keeps A⁻¹ equal to the inverse of reg·I + Σ xxᵀ under Sherman–Morrison updates, and θ = A⁻¹b', () => {
    const d = 5;
    const p = new LinUcb(1, d, 0.5, 2);
    const rng = createRng(3);
    const A = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? 2 : 0)));
    const b = new Array<number>(d).fill(0);
    for (let t = 0; t < 40; t++) {
      const x = Float64Array.from({ length: d }, () => rng.next() - 0.5);
      const r = rng.next();
      p.observe(0, x, r);
      for (let i = 0; i < d; i++) {
        b[i] = (b[i] as number) + r * (x[i] as number);
        for (let j = 0; j < d; j++) (A[i] as number[])[j] = ((A[i] as number[])[j] as number) + (x[i] as number) * (x[j] as number);
      }
    }
    const s = p.toState() as { arms: Array<{ ainv: string; theta: string }> };
    const ainv = base64ToF64(s.arms[0]?.ainv as string);
    // A · A⁻¹ = I
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < d; j++) {
        let v = 0;
        for (let k = 0; k < d; k++) v += ((A[i] as number[])[k] as number) * (ainv[k * d + j] as number);
        expect(v).toBeCloseTo(i === j ? 1 : 0, 9);
      }
    }
    const theta = base64ToF64(s.arms[0]?.theta as string);
    for (let i = 0; i < d; i++) {
      let v = 0;
      for (let k = 0; k < d; k++) v += (ainv[i * d + k] as number) * (b[k] as number);
      expect(theta[i]).toBeCloseTo(v, 9);
    }
  });

  it('prunes bonuses without changing the choice', () => {
    const p = new LinUcb(6, 4, 0.8, 1);
    const rng = createRng(5);
    for (let t = 0; t < 300; t++) {
      const x = Float64Array.from({ length: 4 }, () => rng.next());
      p.observe(t % 6, x, rng.next() * (1 + (t % 6)) / 6);
    }
    const mask = new Uint8Array(6).fill(1);
    for (let t = 0; t < 50; t++) {
      const x = Float64Array.from({ length: 4 }, () => rng.next());
      const penalty = Float64Array.from({ length: 6 }, () => rng.next() * 0.3);
      expect(p.choose(x, '', penalty, mask, false).arm).toBe(p.choose(x, '', penalty, mask, true).arm);
    }
  });
});

describe('bandit routers', () => {
  const matrix = syntheticMatrix({ prompts: 400 });
  const train = matrix.view('train');

  it('learn from feedback: a cold UCB1 moves to the arm that keeps scoring', async () => {
    const r = new BanditRouter({ algorithm: 'ucb1', bootstrap: false, explore: 0.2 });
    await r.fit(train, { seed: 0 });
    const p = { text: 'a question' };
    for (let t = 0; t < 60; t++) {
      const [d] = await r.route([p], { lambda: 0 });
      const model = d?.models[0] as string;
      await r.update([{ prompt: p, model, score: model === 'small-2' ? 1 : 0 }]);
    }
    const [d] = await r.route([p], { lambda: 0 });
    expect(d?.models).toEqual(['small-2']);
    expect(r.updates).toBe(60);
    await expect(r.update([{ prompt: p, model: 'nope', score: 1 }])).rejects.toMatchObject({ code: 'unknown_model' });
    await expect(r.update([{ prompt: p, model: 'small-2', score: 3 }])).rejects.toMatchObject({ code: 'invalid_argument' });
  });

  it('persists its learned state: a loaded router continues where it stopped', async () => {
    const r = new BanditRouter({ algorithm: 'thompson', bootstrap: true });
    await r.fit(train, { seed: 1 });
    const p = { text: 'Question 1 about integral prime' };
    for (let t = 0; t < 20; t++) await r.update([{ prompt: p, model: 'small-3', score: 1 }]);
    const loaded = (await routerFromArtifact(JSON.parse(JSON.stringify(r.toArtifact())))) as BanditRouter;
    expect(loaded.updates).toBe(20);
    for (const lambda of [0, 0.5, 1]) expect((await loaded.route([p], { lambda }))[0]?.models).toEqual((await r.route([p], { lambda }))[0]?.models);
  });

  it('adds an arm at run time, explores it, and can take an arm out of service', async () => {
    const r = new BanditRouter({ algorithm: 'linucb', encoder: 'hashing:dim=128', pca: 8 });
    await r.fit(train, { seed: 0 });
    r.addModel({ id: 'new-model', inputPricePerMTok: 0.01, outputPricePerMTok: 0.01 }, 30);
    const [d] = await r.route([{ text: 'Question 5 about python function' }], { lambda: 0.3 });
    expect(d?.models).toEqual(['new-model']);
    r.setModelActive('new-model', false);
    expect((await r.route([{ text: 'Question 5 about python function' }], { lambda: 0.3 }))[0]?.models).not.toEqual(['new-model']);
  });

  it('MetaLLM ratio reward stays in [0, 1]', () => {
    expect(ratioReward(1, 0, 1)).toBe(1);
    expect(ratioReward(1, 1, 1)).toBeCloseTo(0.0099, 4);
    expect(ratioReward(0, 0.5, 1)).toBe(0);
  });
});

describe('online replay', () => {
  it('reports reward, regret and a seed interval; a bootstrapped LinUCB beats the best fixed model on topic data', async () => {
    const m = syntheticMatrix({ prompts: 600, seed: 3 });
    const r = await evaluateOnline(m.view('test'), m.view('train'), ['linucb:encoder=hashing:dim=256;pca=16', 'ucb1'], { lambdas: [0.3], seeds: 3, checkpoints: 10, adaptation: true });
    expect(r.bestFixed[0]?.model).toBeDefined();
    const lin = r.routers.find((x) => x.name.startsWith('linucb'));
    expect(lin?.curve.length).toBeGreaterThanOrEqual(10);
    expect(lin?.vsBestFixed.low).toBeGreaterThan(0);
    expect(lin?.regretOracle).toBeGreaterThan(0);
    expect(r.adaptation[0]?.finalShare).toBeGreaterThanOrEqual(0);
  });
});
