/**
 * λ for one request: the route's own (fixed, scheduled or budget-controlled), or what the client asks
 * for in one header — `x-switchyard-lambda` (0 = best quality … 1 = lowest cost), or a target the
 * route's router resolves to λ on the operating curve it fitted on train: `x-switchyard-budget-usd`
 * (mean cost per request) or `x-switchyard-target-quality` (mean quality, 0..1).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Router } from '../spec/router.js';

export type LambdaChoice = { readonly ok: true; readonly lambda: number } | { readonly ok: false; readonly message: string };

const HEADERS = ['x-switchyard-lambda', 'x-switchyard-budget-usd', 'x-switchyard-target-quality'] as const;

/** The number in a header, or why it is not one in [0, max]. */
function parse(name: string, text: string, max: number): { value: number } | { message: string } {
  const value = Number(text);
  if (text.trim() !== '' && value >= 0 && value <= max) return { value };
  return { message: `${name}: expected a number in [0, ${max === Infinity ? '∞' : max}], got "${text}"` };
}

/** `routeLambda` unless a header asks otherwise; `router` is the route's (undefined for a model named directly). */
export function requestLambda(headers: IncomingHttpHeaders, routeLambda: number, router: Router | undefined): LambdaChoice {
  const given = HEADERS.filter((h) => typeof headers[h] === 'string');
  if (given.length === 0) return { ok: true, lambda: routeLambda };
  if (given.length > 1) return { ok: false, message: `${given.join(', ')}: give at most one of them` };
  const name = given[0] as (typeof HEADERS)[number];
  const parsed = parse(name, headers[name] as string, name === 'x-switchyard-budget-usd' ? Infinity : 1);
  if ('message' in parsed) return { ok: false, message: parsed.message };
  if (name === 'x-switchyard-lambda' || !router) return { ok: true, lambda: parsed.value }; // a model named directly has no λ to resolve
  if (!router.resolveLambda) return { ok: false, message: `${name}: this route's router (${router.kind}) has no operating curve to resolve it on; set x-switchyard-lambda instead` };
  const prefs = name === 'x-switchyard-budget-usd' ? { lambda: routeLambda, budgetUsd: parsed.value } : { lambda: routeLambda, targetQuality: parsed.value };
  return { ok: true, lambda: router.resolveLambda(prefs) };
}
