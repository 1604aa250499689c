import type { ModelConfig } from './config.js';

/**
 * An answer's usage in the OpenAI wire format. `prompt_tokens` counts every input token, those read
 * from the provider's prompt cache (`prompt_tokens_details.cached_tokens`, billed at the cache-read
 * price) and those written to it (`cache_creation_input_tokens`, as Anthropic reports them, billed at
 * the cache-write price) included.
 */
export interface UsageLike {
  readonly prompt_tokens?: number;
  readonly completion_tokens?: number;
  readonly prompt_tokens_details?: { readonly cached_tokens?: number } | null;
  readonly cache_creation_input_tokens?: number;
}

/** A request's cost: usage tokens × the model's prices (cached input at its cache prices where the model has them). */
export function costOf(usage: UsageLike | undefined, model: ModelConfig): number {
  const prompt = usage?.prompt_tokens ?? 0;
  const cached = Math.min(prompt, usage?.prompt_tokens_details?.cached_tokens ?? 0);
  const written = Math.min(prompt - cached, usage?.cache_creation_input_tokens ?? 0);
  const input = model.inputPricePerMTok;
  return ((prompt - cached - written) * input + cached * (model.cachedInputPricePerMTok ?? input) + written * (model.cacheWritePricePerMTok ?? input) + (usage?.completion_tokens ?? 0) * model.outputPricePerMTok) / 1e6;
}
