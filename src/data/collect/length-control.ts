/**
 * Length control for pairwise win rates (`data collect --versus B --length-control`), after
 * AlpacaEval 2.0's length-controlled win rate (Dubois et al. 2024): a judge that prefers longer
 * answers makes verbose models look better — and verbose answers cost more output tokens. Per model m,
 * a logistic model of its win rate against the baseline,
 *   P(m wins on x) = σ(θ_m + φ_m · tanh(Δlen_x / σ_Δ)),   Δlen_x = len(m's answer) − len(baseline's),
 * is fitted on the collected judgments (Newton's method; a small ridge on φ); σ(θ_m) is the model's
 * win rate at equal length (its LC win rate), and each judgment keeps its own signal with the fitted
 * length effect taken out: s' = clip(s − (σ(θ + φ t) − σ(θ)), 0, 1). AlpacaEval's instruction
 * difficulty term is left out (it shifts every model on a prompt alike, which routing does not need).
 */
import type { MatrixRow } from '../../spec/dataset.js';

export interface LengthControlReport {
  /** The spread (standard deviation) of the length differences, in characters. */
  readonly sigma: number;
  readonly models: ReadonlyArray<{ readonly model: string; readonly judged: number; readonly winRate: number; readonly lcWinRate: number; readonly lengthEffect: number }>;
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));
const RIDGE = 1e-3;

/** θ, φ maximising Σ s log p + (1 − s) log(1 − p) − RIDGE/2 · φ², p = σ(θ + φ t). */
function fit(ts: readonly number[], ss: readonly number[]): { theta: number; phi: number } {
  let [theta, phi] = [0, 0];
  for (let iter = 0; iter < 50; iter++) {
    let [g0, g1, h00, h01, h11] = [0, -RIDGE * phi, 0, 0, RIDGE];
    ts.forEach((t, i) => {
      const p = sigmoid(theta + phi * t);
      const r = (ss[i] as number) - p;
      const w = p * (1 - p);
      g0 += r;
      g1 += r * t;
      h00 += w;
      h01 += w * t;
      h11 += w * t * t;
    });
    h00 += 1e-9; // a model that always wins or always loses: θ grows slowly, stays finite
    const det = h00 * h11 - h01 * h01;
    if (!(det > 0)) break;
    const d0 = (h11 * g0 - h01 * g1) / det;
    const d1 = (h00 * g1 - h01 * g0) / det;
    theta += Math.max(-5, Math.min(5, d0));
    phi += Math.max(-5, Math.min(5, d1));
    if (Math.abs(d0) + Math.abs(d1) < 1e-9) break;
  }
  return { theta, phi };
}

/**
 * `rows` with every model's scores (but the baseline's) length-controlled against `baseline`'s
 * answers, from `answers` (id → model → text); rows without both answers keep their scores.
 */
export function lengthControl(rows: readonly MatrixRow[], answers: ReadonlyMap<string, ReadonlyMap<string, string>>, baseline: string): { rows: MatrixRow[]; report: LengthControlReport } {
  const deltas: Array<{ row: number; model: string; delta: number; score: number }> = [];
  rows.forEach((r, k) => {
    const a = answers.get(r.id);
    const base = a?.get(baseline);
    if (base === undefined) return;
    for (const [model, o] of Object.entries(r.outcomes)) {
      const text = a?.get(model);
      if (model !== baseline && text !== undefined && o) deltas.push({ row: k, model, delta: text.length - base.length, score: o.score });
    }
  });
  const mean = deltas.reduce((s, d) => s + d.delta, 0) / Math.max(1, deltas.length);
  const sigma = Math.sqrt(deltas.reduce((s, d) => s + (d.delta - mean) ** 2, 0) / Math.max(1, deltas.length - 1)) || 1;
  const out = rows.map((r) => ({ ...r, outcomes: { ...r.outcomes } }));
  const models = [...new Set(deltas.map((d) => d.model))].map((model) => {
    const mine = deltas.filter((d) => d.model === model);
    const ts = mine.map((d) => Math.tanh(d.delta / sigma));
    const ss = mine.map((d) => d.score);
    const { theta, phi } = fit(ts, ss);
    mine.forEach((d, i) => {
      const outcome = (out[d.row] as MatrixRow).outcomes[model];
      if (!outcome) return;
      const adjusted = d.score - (sigmoid(theta + phi * (ts[i] as number)) - sigmoid(theta));
      (out[d.row] as MatrixRow).outcomes[model] = { ...outcome, score: Math.min(1, Math.max(0, adjusted)) };
    });
    return { model, judged: mine.length, winRate: ss.reduce((a, b) => a + b, 0) / mine.length, lcWinRate: sigmoid(theta), lengthEffect: phi };
  });
  return { rows: out, report: { sigma, models: models.sort((a, b) => b.lcWinRate - a.lcWinRate) } };
}
