import { describe, expect, it } from 'vitest';
import type { Router, RoutePrefs } from '../spec/router.js';
import { requestLambda } from './request-lambda.js';

/** A router whose operating curve says: a budget of at least $1 affords λ = 0, less λ = 1; quality 0.8 needs λ ≤ 0.4. */
const curved = { kind: 'knn', resolveLambda: (p: RoutePrefs) => (p.budgetUsd !== undefined ? (p.budgetUsd >= 1 ? 0 : 1) : p.targetQuality !== undefined ? (p.targetQuality >= 0.8 ? 0 : 0.4) : p.lambda) } as unknown as Router;
const flat = { kind: 'ucb1' } as unknown as Router;

describe('λ per request', () => {
  it("is the route's unless a header asks otherwise", () => {
    expect(requestLambda({}, 0.3, curved)).toEqual({ ok: true, lambda: 0.3 });
    expect(requestLambda({ 'x-switchyard-lambda': '0.9' }, 0.3, curved)).toEqual({ ok: true, lambda: 0.9 });
    expect(requestLambda({ 'x-switchyard-budget-usd': '2' }, 0.3, curved)).toEqual({ ok: true, lambda: 0 });
    expect(requestLambda({ 'x-switchyard-budget-usd': '0.5' }, 0.3, curved)).toEqual({ ok: true, lambda: 1 });
    expect(requestLambda({ 'x-switchyard-target-quality': '0.9' }, 0.3, curved)).toEqual({ ok: true, lambda: 0 });
  });

  it('names the header that is wrong', () => {
    expect(requestLambda({ 'x-switchyard-lambda': '7' }, 0.3, curved)).toMatchObject({ ok: false, message: expect.stringMatching(/^x-switchyard-lambda: expected a number in \[0, 1\], got "7"/) });
    expect(requestLambda({ 'x-switchyard-lambda': ' ' }, 0.3, curved).ok).toBe(false);
    expect(requestLambda({ 'x-switchyard-budget-usd': '-1' }, 0.3, curved)).toMatchObject({ ok: false, message: expect.stringMatching(/^x-switchyard-budget-usd/) });
    expect(requestLambda({ 'x-switchyard-target-quality': '1.5' }, 0.3, curved).ok).toBe(false);
    expect(requestLambda({ 'x-switchyard-lambda': '0', 'x-switchyard-budget-usd': '1' }, 0.3, curved)).toMatchObject({ ok: false, message: expect.stringMatching(/at most one/) });
  });

  it('refuses a target for a router without an operating curve, rather than ignoring it', () => {
    expect(requestLambda({ 'x-switchyard-budget-usd': '1' }, 0.3, flat)).toMatchObject({ ok: false, message: expect.stringMatching(/\(ucb1\) has no operating curve/) });
    expect(requestLambda({ 'x-switchyard-lambda': '1' }, 0.3, flat)).toEqual({ ok: true, lambda: 1 });
  });
});
