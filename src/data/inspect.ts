/** `switchyard data inspect`: what a dataset holds, in one screen. */
import { fmtCost, fmtNum, textTable } from '../eval/format.js';
import type { RoutingMatrix } from './routing-matrix.js';
import { modelStats } from './stats.js';

export function inspectDataset(matrix: RoutingMatrix, samples = 3): string {
  const train = matrix.view('train');
  const test = matrix.view('test');
  const trainStats = modelStats(train);
  const testStats = modelStats(test);
  const tasks = new Map<string, number>();
  for (const t of matrix.cols.tasks) tasks.set(t, (tasks.get(t) ?? 0) + 1);
  const rows = matrix.models.map((card, m) => {
    const a = trainStats[m];
    const b = testStats[m];
    return [card.id, `${card.inputPricePerMTok}/${card.outputPricePerMTok}`, String(a?.n ?? 0), fmtNum(a?.meanScore), fmtCost(a?.meanCost), String(b?.n ?? 0), fmtNum(b?.meanScore), fmtCost(b?.meanCost)];
  });
  rows.sort((x, y) => Number(y[6]) - Number(x[6]));
  const lines = [
    `dataset   ${matrix.meta.name}${matrix.dir ? ` (${matrix.dir})` : ''}`,
    `prompts   ${matrix.size} (train ${train.size}, test ${test.size})`,
    `models    ${matrix.modelCount}`,
    `score     ${matrix.meta.scoreKind ?? 'unspecified'}`,
    `cost      ${matrix.meta.costModel ?? 'unspecified'}`,
    `tasks     ${tasks.size}: ${[...tasks].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([t, n]) => `${t} (${n})`).join(', ')}${tasks.size > 12 ? ', …' : ''}`,
    '',
    textTable(['model', '$/1M in/out', 'train n', 'train score', 'train cost', 'test n', 'test score', 'test cost'], rows),
    '',
    'sample prompts:',
    ...Array.from({ length: Math.min(samples, matrix.size) }, (_, i) => {
      const text = (matrix.cols.prompts[i] as string).replace(/\s+/g, ' ');
      return `  [${matrix.cols.ids[i]}] (${matrix.cols.tasks[i]}, ${matrix.cols.splits[i]}) ${text.slice(0, 100)}${text.length > 100 ? '…' : ''}`;
    }),
  ];
  return lines.join('\n');
}
