/** The summary table `switchyard eval` prints. */
import { fmtCI, fmtCost, fmtNum, fmtPct, textTable } from './format.js';
import type { OnlineResult } from './online.js';
import type { EvalResult } from './types.js';

export function metricsRows(r: EvalResult): { header: string[]; rows: string[][] } {
  const two = r.reference.twoModel !== undefined;
  const header = ['router', 'AIQ', 'ΔAIQ vs mix hull [95% CI]', 'q @ best-single cost', 'cost to match best', ...(two ? ['APGR', 'CPT(50%)', 'CPT(80%)'] : [])];
  const rows = r.routers.map((x) => [
    x.name,
    fmtNum(x.aiq),
    fmtCI(x.aiqDeltaCI),
    fmtNum(x.qualityAtBestSingleCost),
    fmtPct(x.costToMatchBestSingle),
    ...(two ? [fmtNum(x.apgr), fmtPct(x.cpt50), fmtPct(x.cpt80)] : []),
  ]);
  return { header, rows };
}

export function summaryTable(r: EvalResult): string {
  const ref = r.reference;
  const refRows = [
    ['oracle (bound)', fmtNum(ref.oracle.quality), fmtCost(ref.oracle.cost), ''],
    [`best single: ${ref.bestSingle.model}`, fmtNum(ref.bestSingle.quality), fmtCost(ref.bestSingle.cost), ''],
    [`cheapest: ${ref.cheapest.model}`, fmtNum(ref.cheapest.quality), fmtCost(ref.cheapest.cost), ''],
    ['mix hull', '', '', fmtNum(ref.mixHull.aiq)],
  ];
  const m = metricsRows(r);
  return [
    `${r.dataset}: ${r.prompts} test prompts, ${r.models.length} models, ${r.lambdas.length} λ points, maxCost ${fmtCost(r.maxCost)}`,
    '',
    textTable(['reference', 'quality', 'cost/prompt', 'AIQ'], refRows),
    '',
    textTable(m.header, m.rows),
  ].join('\n');
}

export function onlineRows(o: OnlineResult): { header: string[]; rows: string[][] } {
  const header = ['online router', 'λ', 'mean reward', 'Δ vs best fixed [95% CI over seeds]', 'quality', 'cost/prompt', 'regret vs fixed', 'regret vs oracle'];
  const rows = o.routers.map((x) => [
    x.name,
    String(x.lambda),
    fmtNum(x.meanReward, 4),
    `${x.vsBestFixed.delta >= 0 ? '+' : ''}${x.vsBestFixed.delta.toFixed(4)} [${x.vsBestFixed.low.toFixed(4)}, ${x.vsBestFixed.high.toFixed(4)}]`,
    fmtNum(x.meanQuality),
    fmtCost(x.meanCost),
    fmtNum(x.regretFixed, 1),
    fmtNum(x.regretOracle, 1),
  ]);
  return { header, rows };
}

export function onlineTable(o: OnlineResult): string {
  const fixed = o.bestFixed.map((b) => `λ=${b.lambda}: ${b.model} (mean reward ${b.meanReward.toFixed(4)})`).join('; ');
  const t = onlineRows(o);
  const adapt = o.adaptation.map((a) => `${a.router} λ=${a.lambda}: ${a.model} added at prompt ${a.addedAt}, final share ${fmtPct(a.finalShare)}, half of it reached after ${a.promptsToShare ?? 'never'} prompts`);
  return [`online (reward = score − λ·cost/${fmtCost(o.costScale)}); best fixed model in hindsight: ${fixed}`, '', textTable(t.header, t.rows), ...(adapt.length ? ['', 'adaptation:', ...adapt.map((a) => `  ${a}`)] : [])].join('\n');
}
