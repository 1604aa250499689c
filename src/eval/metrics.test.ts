import { describe, expect, it } from 'vitest';
import { aiq, apgr, costToReach, cpt, ndch, qualityAtCost, quantileSorted } from './metrics.js';

describe('ndch (non-decreasing convex hull)', () => {
  it('drops points no better than a cheaper one, keeps a concave chain, extends flat to maxCost', () => {
    const hull = ndch(
      [
        { cost: 3, quality: 0.6 }, // below (2, 0.7): dropped
        { cost: 1, quality: 0.5 },
        { cost: 4, quality: 0.9 },
        { cost: 2, quality: 0.7 },
      ],
      5,
    );
    expect(hull).toEqual([
      { cost: 1, quality: 0.5 },
      { cost: 2, quality: 0.7 },
      { cost: 4, quality: 0.9 },
      { cost: 5, quality: 0.9 },
    ]);
  });

  it('drops a point under the chord of its neighbours', () => {
    const hull = ndch([{ cost: 0, quality: 0 }, { cost: 1, quality: 0.2 }, { cost: 2, quality: 1 }], 2);
    expect(hull).toEqual([{ cost: 0, quality: 0 }, { cost: 2, quality: 1 }]);
  });

  it('cuts a hull that runs past maxCost, interpolating at maxCost', () => {
    const hull = ndch([{ cost: 1, quality: 0.5 }, { cost: 3, quality: 0.9 }], 2);
    expect(hull).toHaveLength(2);
    expect(hull[1]?.cost).toBe(2);
    expect(hull[1]?.quality).toBeCloseTo(0.7, 12);
  });
});

describe('aiq', () => {
  it('is the area under the hull from its cheapest point to maxCost over maxCost', () => {
    // trapezoids: [1,2] 0.6 + [2,4] 1.6 + [4,5] 0.9 = 3.1; / 5
    const hull = ndch([{ cost: 1, quality: 0.5 }, { cost: 2, quality: 0.7 }, { cost: 4, quality: 0.9 }], 5);
    expect(aiq(hull, 5)).toBeCloseTo(0.62, 12);
  });
  it('of the (0,0)→(2,1) chord is 0.5', () => {
    expect(aiq(ndch([{ cost: 0, quality: 0 }, { cost: 1, quality: 0.2 }, { cost: 2, quality: 1 }], 2), 2)).toBeCloseTo(0.5, 12);
  });
  it('is 0 for a single point at maxCost (no area to its right)', () => {
    expect(aiq(ndch([{ cost: 5, quality: 0.9 }], 5), 5)).toBe(0);
  });
});

describe('quality at a cost, cost to reach a quality', () => {
  const hull = ndch([{ cost: 1, quality: 0.5 }, { cost: 2, quality: 0.7 }, { cost: 4, quality: 0.9 }], 5);
  it('interpolates along the hull', () => {
    expect(qualityAtCost(hull, 3)).toBeCloseTo(0.8, 12);
    expect(qualityAtCost(hull, 5)).toBeCloseTo(0.9, 12);
    expect(qualityAtCost(hull, 0.5)).toBeNull();
    expect(costToReach(hull, 0.8)).toBeCloseTo(3, 12);
    expect(costToReach(hull, 0.4)).toBe(1);
    expect(costToReach(hull, 0.95)).toBeNull();
  });
});

describe('APGR and CPT (two-model sets)', () => {
  // weak 0.5, strong 0.9; one router point at 50% strong calls with quality 0.8 -> PGR 0.75
  const points = [{ strongShare: 0.5, quality: 0.8 }];
  it('APGR integrates PGR over the strong-call share, closed by (0,0) and (1,1)', () => {
    // 0.5 * (0 + 0.75) / 2 + 0.5 * (0.75 + 1) / 2 = 0.1875 + 0.4375
    expect(apgr(points, 0.5, 0.9)).toBeCloseTo(0.625, 12);
  });
  it('CPT(50%) and CPT(80%) interpolate the first crossing', () => {
    expect(cpt(points, 0.5, 0.9, 0.5)).toBeCloseTo(1 / 3, 12);
    expect(cpt(points, 0.5, 0.9, 0.8)).toBeCloseTo(0.6, 12);
  });
  it('a random router (PGR = share) has APGR 0.5 and CPT(50%) 0.5', () => {
    const random = [0.25, 0.5, 0.75].map((s) => ({ strongShare: s, quality: 0.5 + 0.4 * s }));
    expect(apgr(random, 0.5, 0.9)).toBeCloseTo(0.5, 12);
    expect(cpt(random, 0.5, 0.9, 0.5)).toBeCloseTo(0.5, 12);
  });
});

describe('quantileSorted', () => {
  it('interpolates linearly', () => {
    expect(quantileSorted([0, 10], 0.25)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4, 5], 0.5)).toBe(3);
  });
});
