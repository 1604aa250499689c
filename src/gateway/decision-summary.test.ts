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
});
