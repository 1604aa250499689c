/**
 * Default prices from @pydantic/genai-prices' bundled table (its auto-update stays off: nothing is
 * fetched). A price in the config always wins; a model neither priced in the config nor known to the
 * table is a config error naming the model.
 */
import { calcPrice } from '@pydantic/genai-prices';
import { SwitchyardError } from '../core/errors.js';

export interface Prices {
  readonly inputPricePerMTok: number;
  readonly outputPricePerMTok: number;
  readonly source: string;
}

export function lookupPrices(model: string, providerId?: string): Prices | undefined {
  const r = calcPrice({ input_tokens: 1_000_000, output_tokens: 1_000_000 }, model, providerId ? { providerId } : {});
  if (!r) return undefined;
  return { inputPricePerMTok: r.input_price, outputPricePerMTok: r.output_price, source: `@pydantic/genai-prices (${r.provider.id}/${r.model.id})` };
}

export function resolvePrices(
  id: string,
  m: { inputPricePerMTok?: number | undefined; outputPricePerMTok?: number | undefined; upstreamModel?: string | undefined; priceProvider?: string | undefined },
): Prices {
  if (m.inputPricePerMTok !== undefined && m.outputPricePerMTok !== undefined) return { inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok, source: 'config' };
  const found = lookupPrices(m.upstreamModel ?? id, m.priceProvider);
  if (!found) {
    throw new SwitchyardError('invalid_argument', `models.${id}: no inputPricePerMTok/outputPricePerMTok in the config and @pydantic/genai-prices does not know "${m.upstreamModel ?? id}"${m.priceProvider ? ` at provider "${m.priceProvider}"` : ''} (set the prices, or priceProvider)`);
  }
  return { inputPricePerMTok: m.inputPricePerMTok ?? found.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok ?? found.outputPricePerMTok, source: found.source };
}
