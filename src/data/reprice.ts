/**
 * A dataset at other prices (`switchyard train|eval --prices`): the models' cards take the new prices,
 * and every recorded cost is scaled to them — each outcome by its own token mix (its input and output
 * tokens at the new prices over the same tokens at the old ones), so what the provider counted stays
 * counted; an outcome without token counts by the ratio of the summed input and output prices. Routers fitted on
 * it trade quality against today's prices, and the evaluation reports what their choices cost at them.
 */
import { invalidArgument } from '../core/errors.js';
import type { ModelCard } from '../spec/dataset.js';
import { PriceTableSchema, readPriceTable, type PriceTable } from './import/common.js';
import { RoutingMatrix } from './routing-matrix.js';

/** Whether a `--prices` file is a gateway config (YAML), whose models may include ones a dataset lacks, rather than a JSON price table. */
const isConfigFile = (file: string): boolean => /\.ya?ml$/i.test(file);

/** The prices a file gives: a JSON price table (`{"<model>": {inputPricePerMTok, outputPricePerMTok}}`), or a gateway config's models (YAML). */
export function readPrices(file: string, modelsOfConfig: (file: string) => Readonly<Record<string, { inputPricePerMTok: number; outputPricePerMTok: number }>>): PriceTable {
  if (isConfigFile(file)) return PriceTableSchema.parse(Object.fromEntries(Object.entries(modelsOfConfig(file)).map(([id, m]) => [id, { inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok }])));
  return readPriceTable(file);
}

/** The matrix at `prices` (models it does not name keep theirs); `unknown` names the priced models the dataset lacks. */
export function repriceMatrix(matrix: RoutingMatrix, prices: PriceTable): { matrix: RoutingMatrix; repriced: string[]; unknown: string[] } {
  const M = matrix.modelCount;
  const costs = Float64Array.from(matrix.cols.costs);
  const repriced: string[] = [];
  const models: ModelCard[] = matrix.models.map((card, m) => {
    const to = prices[card.id];
    if (!to || (to.inputPricePerMTok === card.inputPricePerMTok && to.outputPricePerMTok === card.outputPricePerMTok)) return card;
    repriced.push(card.id);
    const flat = card.inputPricePerMTok + card.outputPricePerMTok > 0 ? (to.inputPricePerMTok + to.outputPricePerMTok) / (card.inputPricePerMTok + card.outputPricePerMTok) : 1;
    for (let i = 0; i < matrix.size; i++) {
      const k = i * M + m;
      const cost = costs[k] as number;
      if (Number.isNaN(cost)) continue;
      const tin = matrix.cols.inputTokens[k] as number;
      const tout = matrix.cols.outputTokens[k] as number;
      const before = tin * card.inputPricePerMTok + tout * card.outputPricePerMTok;
      const after = tin * to.inputPricePerMTok + tout * to.outputPricePerMTok;
      // by the outcome's own token mix where it has one; a recorded cost of a model that was free (before = 0) becomes the tokens' price
      costs[k] = Number.isNaN(before) || Number.isNaN(after) ? cost * flat : before > 0 ? (cost * after) / before : after / 1e6;
    }
    return { ...card, inputPricePerMTok: to.inputPricePerMTok, outputPricePerMTok: to.outputPricePerMTok, priceSource: 'repriced (--prices)' };
  });
  const unknown = Object.keys(prices).filter((id) => matrix.modelIndex(id) === undefined);
  const meta = { ...matrix.meta, models };
  return { matrix: new RoutingMatrix(meta, { ...matrix.cols, costs }, matrix.dir), repriced, unknown };
}

/** Applies `--prices FILE` to a dataset, logging what changed; an unknown model is an error naming it (a typo would silently change nothing). */
export function applyPricesFlag(matrix: RoutingMatrix, file: string, modelsOfConfig: Parameters<typeof readPrices>[1], log: (line: string) => void): RoutingMatrix {
  const prices = readPrices(file, modelsOfConfig);
  const r = repriceMatrix(matrix, prices);
  // a gateway config names models the dataset may not have (other routes'); a price table names only these
  if (r.unknown.length > 0 && !isConfigFile(file)) throw invalidArgument(`--prices ${file}: ${r.unknown.join(', ')} ${r.unknown.length === 1 ? 'is' : 'are'} not in the dataset (models: ${matrix.models.map((c) => c.id).join(', ')})`);
  log(`--prices ${file}: ${r.repriced.length === 0 ? 'no model repriced' : `repriced ${r.repriced.map((id) => `${id} (${prices[id]?.inputPricePerMTok} / ${prices[id]?.outputPricePerMTok})`).join(', ')}`}`);
  return r.matrix;
}

