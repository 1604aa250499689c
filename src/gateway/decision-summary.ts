/**
 * What routing did for the bill, per route, from the decision log: requests, spend, each model's
 * share, feedback received, and an estimate of the saving against always calling the route's best
 * model — from the router's own predictions recorded with each decision (its predicted cost and
 * quality of every candidate), so the comparison is like with like: predicted cost of the models
 * chosen against predicted cost of the best one, on the same requests.
 */
import type { DecisionRecord, FeedbackRecord } from './store/store.js';

export interface RouteSummary {
  readonly route: string;
  readonly requests: number;
  readonly answered: number;
  /** Recorded spend (USD). */
  readonly spentUsd: number;
  /** Share of answered requests per model. */
  readonly shares: Readonly<Record<string, number>>;
  readonly feedback: { readonly count: number; readonly meanScore: number | null };
  /** Against always calling the model with the highest mean predicted quality on these requests; null without predictions. */
  readonly versusBest: {
    readonly model: string;
    /** Requests whose decision recorded predictions for both the chosen and the best model. */
    readonly requests: number;
    readonly predictedCostBestUsd: number;
    readonly predictedCostRoutedUsd: number;
    /** 1 − routed / best (the predicted saving). */
    readonly saving: number;
    readonly predictedQualityBest: number;
    readonly predictedQualityRouted: number;
  } | null;
  /**
   * The route's shadow router (`routes.X.shadow`) against the live one, on the requests it decided:
   * how often they agree, and the live router's predictions (cost, quality) for each one's choices —
   * like for like; null without a shadow.
   */
  readonly shadow: {
    readonly requests: number;
    readonly agreement: number;
    /** Requests where the live router predicted both choices (the sums below are over these). */
    readonly compared: number;
    readonly predictedCostLiveUsd: number;
    readonly predictedCostShadowUsd: number;
    readonly predictedQualityLive: number;
    readonly predictedQualityShadow: number;
    /** The shadow's choices, by share. */
    readonly shares: Readonly<Record<string, number>>;
  } | null;
  /**
   * Per answering model, on the requests that got feedback: the router's predicted quality of the
   * model it chose against the scores received — a router whose predictions drift from what users
   * report needs retraining. Empty without rated requests that recorded a prediction.
   */
  readonly calibration: ReadonlyArray<{ readonly model: string; readonly rated: number; readonly predicted: number; readonly observed: Interval }>;
  /**
   * The route's canary router (`routes.X.canary`) against the live one by outcomes — the requests
   * each really routed: their cost and the feedback scores they got; null without canary decisions.
   */
  readonly canary: {
    readonly live: ArmSummary;
    readonly canary: ArmSummary;
    /** Canary minus live: mean feedback score and mean cost of an answered request, each with a 95% interval (normal approximation); null with fewer than 2 in an arm. */
    readonly scoreDiff: Interval | null;
    readonly costDiffUsd: Interval | null;
  } | null;
}

/** What the requests one router decided came to. */
export interface ArmSummary {
  readonly requests: number;
  readonly answered: number;
  readonly meanCostUsd: number | null;
  readonly rated: number;
  readonly meanScore: number | null;
  readonly shares: Readonly<Record<string, number>>;
}

export interface Interval {
  readonly mean: number;
  readonly low: number;
  readonly high: number;
}

export function summariseDecisions(decisions: readonly DecisionRecord[], feedback: readonly FeedbackRecord[]): RouteSummary[] {
  const scores = new Map<string, number>(); // request id → latest score
  for (const f of feedback) scores.set(f.requestId, f.score);
  const byRoute = new Map<string, DecisionRecord[]>();
  for (const d of decisions) {
    const list = byRoute.get(d.route);
    if (list) list.push(d);
    else byRoute.set(d.route, [d]);
  }
  return [...byRoute].sort(([a], [b]) => a.localeCompare(b)).map(([route, list]) => summariseRoute(route, list, scores));
}

function summariseRoute(route: string, list: readonly DecisionRecord[], scores: ReadonlyMap<string, number>): RouteSummary {
  const answered = list.filter((d) => d.status === 200 && d.answered !== null);
  const counts: Record<string, number> = {};
  for (const d of answered) counts[d.answered as string] = (counts[d.answered as string] ?? 0) + 1;
  const shares = Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([m, n]) => [m, n / answered.length]));
  const rated = list.flatMap((d) => (scores.has(d.requestId) ? [scores.get(d.requestId) as number] : []));
  return {
    route,
    requests: list.length,
    answered: answered.length,
    spentUsd: list.reduce((s, d) => s + d.costUsd, 0),
    shares,
    feedback: { count: rated.length, meanScore: rated.length > 0 ? rated.reduce((a, b) => a + b, 0) / rated.length : null },
    versusBest: versusBest(answered),
    shadow: versusShadow(list),
    calibration: calibration(answered, scores),
    canary: versusCanary(list, scores),
  };
}

function calibration(answered: readonly DecisionRecord[], scores: ReadonlyMap<string, number>): RouteSummary['calibration'] {
  const byModel = new Map<string, { predicted: number[]; observed: number[] }>();
  for (const d of answered) {
    const score = scores.get(d.requestId);
    const predicted = d.candidates.find((c) => c.model === d.answered)?.quality;
    if (score === undefined || predicted === undefined) continue;
    const m = byModel.get(d.answered as string) ?? { predicted: [], observed: [] };
    m.predicted.push(predicted);
    m.observed.push(score);
    byModel.set(d.answered as string, m);
  }
  return [...byModel]
    .map(([model, m]) => {
      const o = moments(m.observed);
      const half = 1.96 * Math.sqrt(o.variance / o.n);
      return { model, rated: o.n, predicted: moments(m.predicted).mean, observed: { mean: o.mean, low: o.mean - half, high: o.mean + half } };
    })
    .sort((a, b) => b.rated - a.rated || a.model.localeCompare(b.model));
}

/** Mean and variance of a sample. */
function moments(xs: readonly number[]): { n: number; mean: number; variance: number } {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / Math.max(1, n);
  const variance = n > 1 ? xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1) : 0;
  return { n, mean, variance };
}

/** b − a with a 95% interval (Welch's standard error, normal quantile); null when an arm has fewer than 2. */
function difference(a: readonly number[], b: readonly number[]): Interval | null {
  const [x, y] = [moments(a), moments(b)];
  if (x.n < 2 || y.n < 2) return null;
  const se = Math.sqrt(x.variance / x.n + y.variance / y.n);
  const mean = y.mean - x.mean;
  return { mean, low: mean - 1.96 * se, high: mean + 1.96 * se };
}

function versusCanary(list: readonly DecisionRecord[], scores: ReadonlyMap<string, number>): RouteSummary['canary'] {
  if (!list.some((d) => d.canary)) return null;
  const arm = (ds: readonly DecisionRecord[]): { summary: ArmSummary; costs: number[]; rated: number[] } => {
    const answered = ds.filter((d) => d.status === 200 && d.answered !== null);
    const costs = answered.map((d) => d.costUsd);
    const rated = ds.flatMap((d) => (scores.has(d.requestId) ? [scores.get(d.requestId) as number] : []));
    const counts: Record<string, number> = {};
    for (const d of answered) counts[d.answered as string] = (counts[d.answered as string] ?? 0) + 1;
    const mean = (xs: readonly number[]): number | null => (xs.length > 0 ? moments(xs).mean : null);
    return {
      summary: { requests: ds.length, answered: answered.length, meanCostUsd: mean(costs), rated: rated.length, meanScore: mean(rated), shares: Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([m, n]) => [m, n / answered.length])) },
      costs,
      rated,
    };
  };
  const live = arm(list.filter((d) => !d.canary));
  const canary = arm(list.filter((d) => d.canary));
  return { live: live.summary, canary: canary.summary, scoreDiff: difference(live.rated, canary.rated), costDiffUsd: difference(live.costs, canary.costs) };
}

/**
 * The decisions' own predictions (the live router's candidates) for two models each — `pick` names
 * them — summed over the decisions that predicted both: like-for-like costs and qualities.
 */
function comparePredictions(decisions: readonly DecisionRecord[], pick: (d: DecisionRecord) => readonly [string | null, string | null]): { n: number; costA: number; costB: number; qualityA: number; qualityB: number } {
  const acc = { n: 0, costA: 0, costB: 0, qualityA: 0, qualityB: 0 };
  for (const d of decisions) {
    const [ma, mb] = pick(d);
    const a = d.candidates.find((c) => c.model === ma);
    const b = d.candidates.find((c) => c.model === mb);
    if (a?.cost === undefined || b?.cost === undefined || a.quality === undefined || b.quality === undefined) continue;
    acc.n++;
    acc.costA += a.cost;
    acc.costB += b.cost;
    acc.qualityA += a.quality;
    acc.qualityB += b.quality;
  }
  return acc;
}

function versusShadow(list: readonly DecisionRecord[]): RouteSummary['shadow'] {
  const shadowed = list.filter((d) => d.shadow !== undefined);
  if (shadowed.length === 0) return null;
  const shadowOf = (d: DecisionRecord): string => (d.shadow as NonNullable<DecisionRecord['shadow']>).model;
  const counts: Record<string, number> = {};
  for (const d of shadowed) counts[shadowOf(d)] = (counts[shadowOf(d)] ?? 0) + 1;
  const p = comparePredictions(shadowed, (d) => [d.chosen, shadowOf(d)]);
  const n = Math.max(1, p.n);
  return {
    requests: shadowed.length,
    agreement: shadowed.filter((d) => shadowOf(d) === d.chosen).length / shadowed.length,
    compared: p.n,
    predictedCostLiveUsd: p.costA,
    predictedCostShadowUsd: p.costB,
    predictedQualityLive: p.qualityA / n,
    predictedQualityShadow: p.qualityB / n,
    shares: Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]).map(([m, c]) => [m, c / shadowed.length])),
  };
}

function versusBest(answered: readonly DecisionRecord[]): RouteSummary['versusBest'] {
  // the best model: highest mean predicted quality over the requests that predicted it
  const quality = new Map<string, { sum: number; n: number }>();
  for (const d of answered) {
    for (const c of d.candidates) {
      if (c.quality === undefined) continue;
      const q = quality.get(c.model) ?? { sum: 0, n: 0 };
      quality.set(c.model, { sum: q.sum + c.quality, n: q.n + 1 });
    }
  }
  const best = [...quality].sort((a, b) => b[1].sum / b[1].n - a[1].sum / a[1].n)[0]?.[0];
  if (best === undefined) return null;
  const p = comparePredictions(answered, (d) => [best, d.answered]);
  if (p.n === 0 || !(p.costA > 0)) return null;
  return {
    model: best,
    requests: p.n,
    predictedCostBestUsd: p.costA,
    predictedCostRoutedUsd: p.costB,
    saving: 1 - p.costB / p.costA,
    predictedQualityBest: p.qualityA / p.n,
    predictedQualityRouted: p.qualityB / p.n,
  };
}

/** What a summary is grouped by: routes (`RouteSummary`), or spend by key, answering model or a tag (`user` is the tag of the requests' `user`). */
export type SummaryBy = 'route' | 'key' | 'model' | { readonly tag: string };

/**
 * A `since` of the decision log's queries (CLI `--since`, the admin API's `since=`): unix ms, or the
 * message for `field` when it is not a date; undefined when not given.
 */
export function parseSince(text: string | undefined, field: string): { ok: true; since: number | undefined } | { ok: false; message: string } {
  if (text === undefined) return { ok: true, since: undefined };
  const since = Date.parse(text);
  return Number.isNaN(since) ? { ok: false, message: `${field}: expected a date (e.g. 2026-11-22T00:00:00Z), got "${text}"` } : { ok: true, since };
}

/** `route`, `key`, `model`, `user` or `tag:NAME`; undefined for anything else. */
export function parseSummaryBy(by: string): SummaryBy | undefined {
  if (by === 'route' || by === 'key' || by === 'model') return by;
  if (by === 'user') return { tag: 'user' };
  return /^tag:[A-Za-z0-9_.:-]{1,64}$/.test(by) ? { tag: by.slice(4) } : undefined;
}

/** Spend grouped by API key, by the model that answered, or by a tag (tags.ts), with each group's spend per route. */
export interface SpendRow {
  /** The key's name (`(no key)` when none are configured), the model (`(none)`: nothing answered), or the tag's value (`(untagged)`). */
  readonly group: string;
  readonly requests: number;
  readonly answered: number;
  readonly spentUsd: number;
  /** This group's share of all the spend listed. */
  readonly shareOfSpend: number;
  /** USD per route, dearest first. */
  readonly byRoute: Readonly<Record<string, number>>;
}

/** Who spent what (`key`, or a tag such as `user`), or where the money went (`model`), dearest first. */
export function spendBy(decisions: readonly DecisionRecord[], by: 'key' | 'model' | { readonly tag: string }): SpendRow[] {
  const groups = new Map<string, { requests: number; answered: number; spent: number; routes: Map<string, number> }>();
  let total = 0;
  for (const d of decisions) {
    const name = by === 'key' ? (d.keyId ?? '(no key)') : by === 'model' ? (d.answered ?? '(none)') : (d.tags?.[by.tag] ?? '(untagged)');
    const g = groups.get(name) ?? { requests: 0, answered: 0, spent: 0, routes: new Map<string, number>() };
    g.requests++;
    if (d.status === 200 && d.answered !== null) g.answered++;
    g.spent += d.costUsd;
    g.routes.set(d.route, (g.routes.get(d.route) ?? 0) + d.costUsd);
    groups.set(name, g);
    total += d.costUsd;
  }
  return [...groups]
    .map(([group, g]) => ({
      group,
      requests: g.requests,
      answered: g.answered,
      spentUsd: g.spent,
      shareOfSpend: total > 0 ? g.spent / total : 0,
      byRoute: Object.fromEntries([...g.routes].sort((a, b) => b[1] - a[1])),
    }))
    .sort((a, b) => b.spentUsd - a.spentUsd || a.group.localeCompare(b.group));
}
