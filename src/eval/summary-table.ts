/** The summary table `switchyard eval` prints. */
import { fmtCI, fmtCost, fmtNum, fmtPct, textTable } from './format.js';
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
