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
  /** Prompt-cache reads and writes (USD per million input tokens); the input price where the model has no cache price. */
  readonly cachedInputPricePerMTok: number;
  readonly cacheWritePricePerMTok: number;
  /** The model's context window in tokens, when the table knows it. */
  readonly contextWindow?: number | undefined;
  readonly source: string;
}

export function lookupPrices(model: string, providerId?: string): Prices | undefined {
  const r = calcPrice({ input_tokens: 1_000_000, output_tokens: 1_000_000 }, model, providerId ? { providerId } : {});
  if (!r) return undefined;
  // a flat cache price where the table has one (tiered and conditional prices: the input price)
  const flat = (k: string): number => (typeof r.model_price[k] === 'number' ? (r.model_price[k] as number) : r.input_price);
  return { inputPricePerMTok: r.input_price, outputPricePerMTok: r.output_price, cachedInputPricePerMTok: flat('cache_read_mtok'), cacheWritePricePerMTok: flat('cache_write_mtok'), contextWindow: r.model.context_window, source: `@pydantic/genai-prices (${r.provider.id}/${r.model.id})` };
}

export function resolvePrices(
  id: string,
  m: { inputPricePerMTok?: number | undefined; outputPricePerMTok?: number | undefined; cachedInputPricePerMTok?: number | undefined; cacheWritePricePerMTok?: number | undefined; upstreamModel?: string | undefined; priceProvider?: string | undefined },
): Prices {
  if (m.inputPricePerMTok !== undefined && m.outputPricePerMTok !== undefined) {
    // priced in the config: cache prices from the config, else the table's when it knows the model (at the config's price ratio), else the input price
    const known = lookupPrices(m.upstreamModel ?? id, m.priceProvider);
    const scale = known && known.inputPricePerMTok > 0 ? m.inputPricePerMTok / known.inputPricePerMTok : 1;
    return {
      inputPricePerMTok: m.inputPricePerMTok,
      outputPricePerMTok: m.outputPricePerMTok,
      cachedInputPricePerMTok: m.cachedInputPricePerMTok ?? (known ? known.cachedInputPricePerMTok * scale : m.inputPricePerMTok),
      cacheWritePricePerMTok: m.cacheWritePricePerMTok ?? (known ? known.cacheWritePricePerMTok * scale : m.inputPricePerMTok),
      contextWindow: known?.contextWindow,
      source: 'config',
    };
  }
  const found = lookupPrices(m.upstreamModel ?? id, m.priceProvider);
  if (!found) {
    throw new SwitchyardError('invalid_argument', `models.${id}: no inputPricePerMTok/outputPricePerMTok in the config and @pydantic/genai-prices does not know "${m.upstreamModel ?? id}"${m.priceProvider ? ` at provider "${m.priceProvider}"` : ''} (set the prices, or priceProvider)`);
  }
  return {
    inputPricePerMTok: m.inputPricePerMTok ?? found.inputPricePerMTok,
    outputPricePerMTok: m.outputPricePerMTok ?? found.outputPricePerMTok,
    cachedInputPricePerMTok: m.cachedInputPricePerMTok ?? found.cachedInputPricePerMTok,
    cacheWritePricePerMTok: m.cacheWritePricePerMTok ?? found.cacheWritePricePerMTok,
    contextWindow: found.contextWindow,
    source: found.source,
  };
}
