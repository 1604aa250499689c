/**
 * report.html: one self-contained file (inline SVG from vega-lite, no scripts, no network):
 * the frontier plot, call shares, the metrics table and a per-task table.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';
import { fmtCost, fmtNum } from './format.js';
import type { OnlineResult } from './online.js';
import { metricsRows, onlineRows } from './summary-table.js';
import type { EvalResult, RouterPoint, RouterResult } from './types.js';

type Spec = vl.TopLevelSpec;

export async function renderSvg(spec: Spec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function frontierSpec(r: EvalResult): Spec {
  const rows: Array<Record<string, unknown>> = [];
  for (const x of r.routers) {
    x.hull.forEach((p, k) => rows.push({ layer: 'hull', series: x.name, cost: p.cost, quality: p.quality, order: k }));
    for (const p of x.points) rows.push({ layer: 'point', series: x.name, cost: p.cost, quality: p.quality, lambda: p.lambda });
  }
  r.reference.mixHull.hull.forEach((p, k) => rows.push({ layer: 'mix', series: 'mix hull', cost: p.cost, quality: p.quality, order: k }));
  for (const s of r.reference.singles) rows.push({ layer: 'single', series: s.model, cost: s.cost, quality: s.quality });
  rows.push({ layer: 'oracle', series: 'oracle', cost: r.reference.oracle.cost, quality: r.reference.oracle.quality });
  for (const o of r.online?.routers ?? []) rows.push({ layer: 'online', series: `${o.name} (online, λ=${o.lambda})`, cost: o.meanCost, quality: o.meanQuality });
  const x = { field: 'cost', type: 'quantitative', scale: { type: 'log' }, title: 'mean cost per prompt (USD, log)', axis: { format: '.1e' } } as const;
  const y = { field: 'quality', type: 'quantitative', scale: { zero: false }, title: 'mean quality' } as const;
  const color = { field: 'series', type: 'nominal', title: 'router', legend: { labelLimit: 320 } } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: 720,
    height: 440,
    title: `${r.dataset}: cost–quality frontier (test split, ${r.prompts} prompts)`,
    data: { values: rows },
    layer: [
      { transform: [{ filter: "datum.layer === 'mix'" }], mark: { type: 'line', strokeDash: [6, 4], color: '#888' }, encoding: { x, y, order: { field: 'order' } } },
      { transform: [{ filter: "datum.layer === 'hull'" }], mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y, color, order: { field: 'order' } } },
      { transform: [{ filter: "datum.layer === 'point'" }], mark: { type: 'point', filled: true, size: 25, opacity: 0.7 }, encoding: { x, y, color } },
      { transform: [{ filter: "datum.layer === 'single'" }], mark: { type: 'point', shape: 'square', color: '#444', size: 50 }, encoding: { x, y } },
      { transform: [{ filter: "datum.layer === 'single'" }], mark: { type: 'text', align: 'left', dx: 6, dy: -4, fontSize: 9, color: '#444' }, encoding: { x, y, text: { field: 'series' } } },
      { transform: [{ filter: "datum.layer === 'oracle'" }], mark: { type: 'point', shape: 'diamond', color: '#d62728', size: 140, filled: true }, encoding: { x, y } },
      { transform: [{ filter: "datum.layer === 'online'" }], mark: { type: 'point', shape: 'triangle-up', size: 90, filled: true }, encoding: { x, y, color } },
      { transform: [{ filter: "datum.layer === 'oracle'" }], mark: { type: 'text', align: 'left', dx: 8, color: '#d62728' }, encoding: { x, y, text: { value: 'oracle (bound)' } } },
    ],
  } as Spec;
}

/** The point of a router nearest to a given λ. */
export function pointAt(x: RouterResult, lambda: number): RouterPoint {
  return x.points.reduce((best, p) => (Math.abs(p.lambda - lambda) < Math.abs(best.lambda - lambda) ? p : best), x.points[0] as RouterPoint);
}

const SHARE_LAMBDAS = [0, 0.5, 1];

function sharesSpec(r: EvalResult): Spec {
  const rows: Array<Record<string, unknown>> = [];
  for (const x of r.routers) {
    for (const l of SHARE_LAMBDAS) {
      const p = pointAt(x, l);
      for (const [model, share] of Object.entries(p.shares)) rows.push({ router: `${x.name} @ λ=${p.lambda}`, model, share });
    }
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    width: 560,
    title: 'call share per model',
    data: { values: rows },
    mark: 'bar',
    encoding: {
      y: { field: 'router', type: 'nominal', sort: null, title: null, axis: { labelLimit: 320 } },
      x: { field: 'share', type: 'quantitative', stack: 'normalize', axis: { format: '%' }, title: 'share of calls' },
      color: { field: 'model', type: 'nominal', scale: { scheme: 'tableau20' }, legend: { labelLimit: 320 } },
    },
  } as Spec;
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

function htmlTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const th = header.map((h) => `<th>${esc(h)}</th>`).join('');
  const trs = rows.map((r) => `<tr>${r.map((c, i) => (i === 0 ? `<td class="l">${esc(c)}</td>` : `<td>${esc(c)}</td>`)).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${trs}\n</tbody></table>`;
}

function taskTable(r: EvalResult, lambda: number): string {
  const best = r.reference.bestSingle.model;
  const header = ['task', 'prompts', 'oracle', `best single (${best})`, ...r.routers.map((x) => `${x.name} @ λ=${pointAt(x, lambda).lambda}`)];
  const cell = (cq: { cost: number; quality: number } | undefined): string => (cq ? `${fmtNum(cq.quality)} · ${fmtCost(cq.cost)}` : '—');
  const rows = r.tasks.map((t) => [t.task, String(t.n), cell(t.oracle), cell(t.singles[best]), ...r.routers.map((x) => cell(pointAt(x, lambda).byTask[t.task]))]);
  return htmlTable(header, rows);
}

function onlineCurvesSpec(o: OnlineResult): Spec {
  const rows: Array<Record<string, unknown>> = o.routers.flatMap((x) => x.curve.map((p) => ({ kind: 'curve', router: x.name, lambda: `λ=${x.lambda}`, t: p.t, meanReward: p.meanReward })));
  for (const b of o.bestFixed) rows.push({ kind: 'fixed', lambda: `λ=${b.lambda}`, meanReward: b.meanReward });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'online: running mean reward (dashed: best fixed model in hindsight)',
    data: { values: rows },
    facet: { column: { field: 'lambda', title: null } },
    spec: {
      width: 340,
      height: 260,
      layer: [
        {
          transform: [{ filter: "datum.kind === 'curve'" }],
          mark: { type: 'line' },
          encoding: {
            x: { field: 't', type: 'quantitative', title: 'prompts seen' },
            y: { field: 'meanReward', type: 'quantitative', scale: { zero: false }, title: 'mean reward so far' },
            color: { field: 'router', type: 'nominal', legend: { labelLimit: 320 } },
          },
        },
        {
          transform: [{ filter: "datum.kind === 'fixed'" }],
          mark: { type: 'rule', strokeDash: [6, 4], color: '#444' },
          encoding: { y: { field: 'meanReward', type: 'quantitative' } },
        },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  } as unknown as Spec;
}

function onlineSection(o: OnlineResult, curves: string): string {
  const t = onlineRows(o);
  const fixed = htmlTable(['λ', 'best fixed model (hindsight)', 'mean reward', 'oracle mean reward'], o.bestFixed.map((b, k) => [String(b.lambda), b.model, fmtNum(b.meanReward, 4), fmtNum(o.oracle[k]?.meanReward, 4)]));
  const adapt = htmlTable(
    ['router', 'λ', 'model added', 'at prompt', 'final share', 'prompts to half its share'],
    o.adaptation.map((a) => [a.router, String(a.lambda), a.model, String(a.addedAt), `${(a.finalShare * 100).toFixed(1)}%`, a.promptsToShare === null ? 'never' : String(a.promptsToShare)]),
  );
  return `<h2>Online learning (bandits)</h2>
<p class="note">The test split streamed in ${o.routers[0]?.seeds ?? 0} seeded orders; each pick's recorded outcome is the only feedback. Reward = score − λ·cost/${fmtCost(o.costScale)}. Triangles on the frontier plot are the bandits' mean (cost, quality).</p>
${htmlTable(t.header, t.rows)}
${fixed}
${curves}
<h3>Adaptation: a held-back model joins midway</h3>
${adapt}`;
}

export async function renderReport(r: EvalResult): Promise<string> {
  const [frontier, shares, curves] = await Promise.all([renderSvg(frontierSpec(r)), renderSvg(sharesSpec(r)), r.online ? renderSvg(onlineCurvesSpec(r.online)) : Promise.resolve('')]);
  const ref = r.reference;
  const m = metricsRows(r);
  const refRows = [
    ['oracle (best per prompt; a bound, not a router)', fmtNum(ref.oracle.quality), fmtCost(ref.oracle.cost)],
    ...ref.singles
      .slice()
      .sort((a, b) => b.quality - a.quality)
      .map((s) => [`${s.model}${s.model === ref.bestSingle.model ? ' (best single, chosen on train)' : ''}${s.model === ref.cheapest.model ? ' (cheapest)' : ''}`, fmtNum(s.quality), fmtCost(s.cost)]),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Switchyard eval — ${esc(r.dataset)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;font-size:12.5px;margin:8px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}
th{background:#f5f5f5}td.l{text-align:left}.note{color:#666;font-size:12.5px}svg{max-width:100%;height:auto}
</style></head><body>
<h1>Switchyard evaluation: ${esc(r.dataset)}</h1>
<p class="note">Routers fitted on <b>train</b>, replayed on <b>${r.prompts}</b> <b>test</b> prompts · ${r.models.length} models · ${r.lambdas.length} λ points · maxCost ${fmtCost(r.maxCost)} (mean cost of the dearest single model) · mix-hull AIQ ${fmtNum(ref.mixHull.aiq)}. Metric definitions: docs/metrics.md.</p>
<h2>Cost–quality frontier</h2>
${frontier}
<p class="note">Lines: each router's non-decreasing convex hull; dots: its λ points; squares: single models; dashed: the mix hull (randomising between fixed models); diamond: the oracle.</p>
<h2>Metrics</h2>
${htmlTable(m.header, m.rows)}
<h2>Reference points</h2>
${htmlTable(['model', 'quality', 'cost/prompt'], refRows)}
<h2>Call shares</h2>
${shares}
<h2>Per task (quality · cost per prompt)</h2>
${taskTable(r, 0.5)}
${r.online ? onlineSection(r.online, curves) : ''}
</body></html>
`;
}
