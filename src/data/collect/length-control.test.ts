import { describe, expect, it } from 'vitest';
import type { MatrixRow } from '../../spec/dataset.js';
import { lengthControl } from './length-control.js';

describe('length control of pairwise win rates', () => {
  it("takes a judge's taste for long answers out: a verbose model's lead over an equally good concise one goes", () => {
    const rows: MatrixRow[] = [];
    const answers = new Map<string, Map<string, string>>();
    for (let k = 0; k < 200; k++) {
      const id = `p${k}`;
      const long = k % 2 === 0;
      // verbose: wins whenever its answer is long, ties at equal length; concise: always the baseline's length, wins 70%
      const outcome = (score: number) => ({ score, costUsd: 1e-4, inputTokens: 10, outputTokens: 10 });
      rows.push({ id, prompt: `q${k}`, task: 'all', split: 'train', outcomes: { base: outcome(0.5), verbose: outcome(long ? 1 : 0.5), concise: outcome(k % 10 < 7 ? 1 : 0) } });
      answers.set(id, new Map([['base', 'b'.repeat(100)], ['verbose', 'v'.repeat(long ? 500 : 100)], ['concise', 'c'.repeat(100)]]));
    }
    const { rows: out, report } = lengthControl(rows, answers, 'base');
    const verbose = report.models.find((m) => m.model === 'verbose');
    const concise = report.models.find((m) => m.model === 'concise');
    expect(verbose?.winRate).toBeCloseTo(0.75, 10);
    expect(verbose?.lcWinRate).toBeCloseTo(0.5, 1);
    expect(verbose?.lengthEffect).toBeGreaterThan(1);
    expect(concise?.lcWinRate).toBeCloseTo(0.7, 2);
    expect(report.models[0]?.model).toBe('concise'); // ranked by length-controlled win rate
    // each judgment keeps its own signal, less the fitted length effect
    expect(out[0]?.outcomes['verbose']?.score).toBeCloseTo(0.5, 1);
    expect(out[1]?.outcomes['verbose']?.score).toBeCloseTo(0.5, 1);
    expect(out[0]?.outcomes['concise']?.score).toBeCloseTo(1, 5);
    expect(out[0]?.outcomes['base']?.score).toBe(0.5); // the baseline is not changed
    expect(rows[0]?.outcomes['verbose']?.score).toBe(1); // nor the input
  });
});
