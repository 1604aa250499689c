import { describe, expect, it } from 'vitest';
import { applyPlatt, expectedCalibrationError, fitPlatt } from './calibration.js';
import { decide } from './decision-rule.js';
import { fitLambdaScale, W_MAX, weightFor } from './tradeoff.js';

describe('decision rule', () => {
  const q = [0.9, 0.8, 0.5];
  const c = [10, 1, 0.1];
  const all = new Uint8Array([1, 1, 1]);
  it('w = 0 takes the best quality, a huge w the lowest cost, ties go to the cheaper', () => {
    expect(decide(q, c, 0, 3, all, 0, 10)).toBe(0);
    expect(decide(q, c, 0, 3, all, W_MAX, 10)).toBe(2);
    expect(decide([0.7, 0.7], [2, 1], 0, 2, new Uint8Array([1, 1]), 0, 1)).toBe(1);
    expect(decide(q, c, 0, 3, new Uint8Array([0, 1, 1]), 0, 10)).toBe(1);
  });
  it('the chosen predicted cost never rises with w', () => {
    let last = Infinity;
    for (const w of [0, 0.01, 0.1, 0.5, 1, 2, 5, 10, 100, W_MAX]) {
      const m = decide(q, c, 0, 3, all, w, 10);
      expect(c[m] as number).toBeLessThanOrEqual(last);
      last = c[m] as number;
    }
  });
});

describe('λ scale', () => {
  it('spreads λ evenly in log cost between the λ=0 and λ=1 costs, monotone in λ', () => {
    const curve = [0, 0.1, 1, 10, W_MAX].map((w, k) => ({ w, cost: [16, 8, 4, 2, 1][k] as number, quality: 1 - k / 10 }));
    const table = fitLambdaScale(curve);
    expect(table).toHaveLength(101);
    expect(table[0]).toBe(0);
    expect(table[100]).toBe(W_MAX);
    expect(table[50]).toBe(1); // target cost 4 = sqrt(16 * 1)
    for (let k = 1; k < table.length; k++) expect(table[k] as number).toBeGreaterThanOrEqual(table[k - 1] as number);
    expect(weightFor(table, 0.5)).toBe(1);
    expect(weightFor(table, 0.505)).toBeGreaterThanOrEqual(1);
  });
});

describe('Platt calibration', () => {
  it('fixes over-confident predictions and lowers the ECE', () => {
    const pred: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const truth = (i % 100) / 100;
      pred.push(truth > 0.5 ? 0.99 : 0.01);
      y.push(i % 7 < truth * 7 ? 1 : 0);
    }
    const c = fitPlatt(pred, y);
    const calibrated = pred.map((p) => applyPlatt(c, p));
    expect(expectedCalibrationError(calibrated, y)).toBeLessThan(expectedCalibrationError(pred, y) / 2);
  });
});
