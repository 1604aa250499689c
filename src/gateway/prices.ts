/**
 * Default prices from @pydantic/genai-prices' bundled table (its auto-update stays off: nothing is
 * fetched). A price in the config always wins; a model neither priced in the config nor known to the
 * table is a config error naming the model.
 */
import { calcPrice } from '@pydantic/genai-prices';
import { SwitchyardError } from '../core/errors.js';

/**
 * Prices above a prompt size (long-context pricing: Claude Sonnet 4 and 4.5 over 200k input tokens,
 * Gemini 2.5 Pro over 200k, GPT-5.x over 272k): a request whose prompt has more than `aboveInputTokens`
 * tokens is billed at these prices for all its tokens, input and output, as the providers bill it.
 */
export interface PriceTier {
  readonly aboveInputTokens: number;
  readonly inputPricePerMTok: number;
  readonly outputPricePerMTok: number;
  readonly cachedInputPricePerMTok: number;
  readonly cacheWritePricePerMTok: number;
}

export interface Prices {
  /** The prices of a request of ordinary size (below every tier). */
  readonly inputPricePerMTok: number;
  readonly outputPricePerMTok: number;
  /** Prompt-cache reads and writes (USD per million input tokens); the input price where the model has no cache price. */
  readonly cachedInputPricePerMTok: number;
  readonly cacheWritePricePerMTok: number;
  /** Long-context prices, by ascending prompt size; none for a model priced flat. */
  readonly priceTiers?: readonly PriceTier[] | undefined;
  /** Audio tokens in and out (gpt-audio: $32 / $64 where its text is $2.50 / $10), when the model prices them apart. */
  readonly audioInputPricePerMTok?: number | undefined;
  readonly audioOutputPricePerMTok?: number | undefined;
  /** The model's context window in tokens, when the table knows it. */
  readonly contextWindow?: number | undefined;
  readonly source: string;
}

/** A price in the table: flat, or a base price with tiers by prompt size (the table's `TieredPrices`). */
type TablePrice = number | { readonly base: number; readonly tiers: ReadonlyArray<{ readonly start: number; readonly price: number }> } | undefined;

/** A table price for a prompt of `tokens` tokens: the tier whose start it exceeds (as the table's own calculation selects), else the base. */
function priceAt(p: TablePrice, tokens: number): number | undefined {
  if (p === undefined || typeof p === 'number') return p;
  let price = p.base;
  for (const t of p.tiers) if (tokens > t.start) price = t.price;
  return price;
}

const tierStarts = (p: TablePrice): number[] => (typeof p === 'object' ? p.tiers.map((t) => t.start) : []);

/** The audio prices that are known, as fields (none: audio tokens cost what text tokens do). */
function audioPrices(input: number | undefined, output: number | undefined): Pick<Prices, 'audioInputPricePerMTok' | 'audioOutputPricePerMTok'> {
  return { ...(input !== undefined ? { audioInputPricePerMTok: input } : {}), ...(output !== undefined ? { audioOutputPricePerMTok: output } : {}) };
}

export function lookupPrices(model: string, providerId?: string): Prices | undefined {
  // the prices in force now (a model's prices may change by date); a tiny request only finds them
  const r = calcPrice({ input_tokens: 1, output_tokens: 1 }, model, providerId ? { providerId } : {});
  if (!r) return undefined;
  const mp = r.model_price as unknown as Record<string, TablePrice>;
  const at = (tokens: number): Omit<PriceTier, 'aboveInputTokens'> => {
    const input = priceAt(mp['input_mtok'], tokens) ?? 0;
    // a model without cache prices: its cached input costs the input price
    return { inputPricePerMTok: input, outputPricePerMTok: priceAt(mp['output_mtok'], tokens) ?? 0, cachedInputPricePerMTok: priceAt(mp['cache_read_mtok'], tokens) ?? input, cacheWritePricePerMTok: priceAt(mp['cache_write_mtok'], tokens) ?? input };
  };
  const starts = [...new Set(['input_mtok', 'output_mtok', 'cache_read_mtok', 'cache_write_mtok'].flatMap((k) => tierStarts(mp[k])))].sort((a, b) => a - b);
  const priceTiers = starts.map((start) => ({ aboveInputTokens: start, ...at(start + 1) }));
  const audio = audioPrices(priceAt(mp['input_audio_mtok'], 0), priceAt(mp['output_audio_mtok'], 0));
  return { ...at(0), ...(priceTiers.length > 0 ? { priceTiers } : {}), ...audio, contextWindow: r.model.context_window, source: `@pydantic/genai-prices (${r.provider.id}/${r.model.id})` };
}

/** `tier` at a configured price: each price times the configured one over the table's base (a negotiated discount applies to long prompts too). */
function scaleTier(tier: PriceTier, known: Prices, configured: { inputPricePerMTok: number; outputPricePerMTok: number }): PriceTier {
  const inScale = known.inputPricePerMTok > 0 ? configured.inputPricePerMTok / known.inputPricePerMTok : 1;
  const outScale = known.outputPricePerMTok > 0 ? configured.outputPricePerMTok / known.outputPricePerMTok : 1;
  return { aboveInputTokens: tier.aboveInputTokens, inputPricePerMTok: tier.inputPricePerMTok * inScale, outputPricePerMTok: tier.outputPricePerMTok * outScale, cachedInputPricePerMTok: tier.cachedInputPricePerMTok * inScale, cacheWritePricePerMTok: tier.cacheWritePricePerMTok * inScale };
}

/** What every model's `serviceTiers` starts from: flex processing at half price (OpenAI's and Google's). */
export const DEFAULT_SERVICE_TIERS: Readonly<Record<string, number>> = { flex: 0.5 };

export function resolvePrices(
  id: string,
  m: { inputPricePerMTok?: number | undefined; outputPricePerMTok?: number | undefined; cachedInputPricePerMTok?: number | undefined; cacheWritePricePerMTok?: number | undefined; priceTiers?: readonly PriceTier[] | undefined; audioInputPricePerMTok?: number | undefined; audioOutputPricePerMTok?: number | undefined; upstreamModel?: string | undefined; priceProvider?: string | undefined },
): Prices {
  if (m.inputPricePerMTok !== undefined && m.outputPricePerMTok !== undefined) {
    // priced in the config: cache prices and tiers from the config, else the table's when it knows the model (at the config's price ratio), else the input price and none
    const known = lookupPrices(m.upstreamModel ?? id, m.priceProvider);
    const scale = known && known.inputPricePerMTok > 0 ? m.inputPricePerMTok / known.inputPricePerMTok : 1;
    const configured = { inputPricePerMTok: m.inputPricePerMTok, outputPricePerMTok: m.outputPricePerMTok };
    const tiers = m.priceTiers ?? (known?.priceTiers ?? []).map((t) => scaleTier(t, known as Prices, configured));
    const outScale = known && known.outputPricePerMTok > 0 ? m.outputPricePerMTok / known.outputPricePerMTok : 1;
    const audioIn = m.audioInputPricePerMTok ?? (known?.audioInputPricePerMTok !== undefined ? known.audioInputPricePerMTok * scale : undefined);
    const audioOut = m.audioOutputPricePerMTok ?? (known?.audioOutputPricePerMTok !== undefined ? known.audioOutputPricePerMTok * outScale : undefined);
    return {
      ...configured,
      cachedInputPricePerMTok: m.cachedInputPricePerMTok ?? (known ? known.cachedInputPricePerMTok * scale : m.inputPricePerMTok),
      cacheWritePricePerMTok: m.cacheWritePricePerMTok ?? (known ? known.cacheWritePricePerMTok * scale : m.inputPricePerMTok),
      ...(tiers.length > 0 ? { priceTiers: tiers } : {}),
      ...audioPrices(audioIn, audioOut),
      contextWindow: known?.contextWindow,
      source: 'config',
    };
  }
  const found = lookupPrices(m.upstreamModel ?? id, m.priceProvider);
  if (!found) {
    throw new SwitchyardError('invalid_argument', `models.${id}: no inputPricePerMTok/outputPricePerMTok in the config and @pydantic/genai-prices does not know "${m.upstreamModel ?? id}"${m.priceProvider ? ` at provider "${m.priceProvider}"` : ''} (set the prices, or priceProvider)`);
  }
  const tiers = m.priceTiers ?? found.priceTiers ?? [];
  return {
    inputPricePerMTok: m.inputPricePerMTok ?? found.inputPricePerMTok,
    outputPricePerMTok: m.outputPricePerMTok ?? found.outputPricePerMTok,
    cachedInputPricePerMTok: m.cachedInputPricePerMTok ?? found.cachedInputPricePerMTok,
    cacheWritePricePerMTok: m.cacheWritePricePerMTok ?? found.cacheWritePricePerMTok,
    ...(tiers.length > 0 ? { priceTiers: tiers } : {}),
    ...audioPrices(m.audioInputPricePerMTok ?? found.audioInputPricePerMTok, m.audioOutputPricePerMTok ?? found.audioOutputPricePerMTok),
    contextWindow: found.contextWindow,
    source: found.source,
  };
}
