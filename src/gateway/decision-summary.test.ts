import { describe, expect, it } from 'vitest';
import { summariseDecisions } from './decision-summary.js';
import type { DecisionRecord } from './store/store.js';

const decision = (id: string, route: string, answered: string | null, costUsd: number, status = 200): DecisionRecord => ({
  requestId: id, time: 1000, route, keyId: null, lambda: 0.5, chosen: answered ?? 'big', answered, reason: 'r', costUsd, latencyMs: 1, status, prompt: null,
  // the router predicted: big 0.9 at $10e-3, small 0.7 at $1e-3
  candidates: [{ model: 'big', quality: 0.9, cost: 10e-3 }, { model: 'small', quality: 0.7, cost: 1e-3 }],
});

describe('decision summary', () => {
  it('reports spend, shares, feedback and the predicted saving against the best model, per route', () => {
    const decisions = [decision('a', 'auto', 'small', 0.0012), decision('b', 'auto', 'small', 0.0009), decision('c', 'auto', 'big', 0.011), decision('d', 'auto', null, 0, 502), decision('e', 'other', 'big', 0.01)];
    const [auto, other] = summariseDecisions(decisions, [{ requestId: 'a', score: 0.2, time: 1 }, { requestId: 'a', score: 1, time: 2 }, { requestId: 'c', score: 0.5, time: 3 }]);
    expect(auto).toMatchObject({ route: 'auto', requests: 4, answered: 3, feedback: { count: 2, meanScore: 0.75 } });
    expect(auto?.spentUsd).toBeCloseTo(0.0131, 12);
    expect(auto?.shares).toEqual({ small: 2 / 3, big: 1 / 3 });
    // always big: 3 × $10e-3 predicted; routed: 2 × $1e-3 + $10e-3 → saving 1 − 12/30 = 0.6
    expect(auto?.versusBest).toMatchObject({ model: 'big', requests: 3 });
    expect(auto?.versusBest?.saving).toBeCloseTo(0.6, 12);
    expect(auto?.versusBest?.predictedQualityRouted).toBeCloseTo((0.7 + 0.7 + 0.9) / 3, 12);
    expect(other?.versusBest?.saving).toBeCloseTo(0, 12);
  });

  it('has no comparison for decisions without predictions (models named directly)', () => {
    const named = { ...decision('x', 'gpt', 'gpt', 0.01), candidates: [] };
    expect(summariseDecisions([named], [])[0]?.versusBest).toBeNull();
  });

  it("compares the router's predicted quality of each chosen model with the feedback it got (calibration)", () => {
    const decisions = ['s1', 's2', 's3', 's4'].map((id) => decision(id, 'auto', 'small', 0.001)).concat([decision('b1', 'auto', 'big', 0.01), decision('n1', 'auto', 'small', 0.001)]);
    const feedback = [0.2, 0.4, 0.3, 0.5].map((score, k) => ({ requestId: `s${k + 1}`, score, time: k })).concat([{ requestId: 'b1', score: 1, time: 9 }]);
    const [auto] = summariseDecisions(decisions, feedback);
    // small was predicted 0.7 and scored 0.35 on average: the router overrates it
    expect(auto?.calibration.map((c) => [c.model, c.rated, c.predicted])).toEqual([['small', 4, 0.7], ['big', 1, 0.9]]);
    const small = auto?.calibration[0]?.observed;
    expect(small?.mean).toBeCloseTo(0.35, 12);
    expect(small?.high).toBeLessThan(0.7);
    expect(summariseDecisions([decision('z', 'auto', 'small', 0.001)], [])[0]?.calibration).toEqual([]);
  });
});
