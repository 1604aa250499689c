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
  readonly total_tokens?: number;
  /** `audio_tokens`: generated audio (billed at the audio output price where the model has one). */
  readonly completion_tokens_details?: { readonly reasoning_tokens?: number; readonly audio_tokens?: number } | null;
  /** `audio_tokens`: audio input (billed at the audio input price where the model has one). */
  readonly prompt_tokens_details?: { readonly cached_tokens?: number; readonly audio_tokens?: number } | null;
  readonly cache_creation_input_tokens?: number;
  /** Anthropic's split of the cache writes by lifetime: one-hour writes cost more than five-minute ones. */
  readonly cache_creation?: { readonly ephemeral_5m_input_tokens?: number; readonly ephemeral_1h_input_tokens?: number } | null;
}

/** A one-hour prompt-cache write costs twice the input price (Anthropic's rule for every Claude; a five-minute one: `cacheWritePricePerMTok`, 1.25×). */
export const ONE_HOUR_CACHE_WRITE_FACTOR = 2;

/**
 * The tokens an answer generated, thinking included. OpenAI's `completion_tokens` counts reasoning;
 * some OpenAI-compatible APIs leave thinking out of it and count it only in `total_tokens` (Google
 * Gemini's OpenAI endpoint: prompt 20, completion 424, total 1,016 — 572 thinking tokens, billed as
 * output), so the larger of the two readings is what was generated.
 */
export function outputTokensOf(usage: UsageLike | undefined): number {
  const completion = usage?.completion_tokens ?? 0;
  const total = usage?.total_tokens;
  return total !== undefined && total > (usage?.prompt_tokens ?? 0) + completion ? total - (usage?.prompt_tokens ?? 0) : completion;
}

/**
 * The usage as OpenAI means it: `completion_tokens` with the thinking that an API counted only in
 * `total_tokens` (and that thinking added to `completion_tokens_details.reasoning_tokens`); the same
 * object when it already agrees, so an answer that needs no change is passed on as it came.
 */
export function normalisedUsage<U extends UsageLike>(usage: U): U {
  const output = outputTokensOf(usage);
  const completion = usage.completion_tokens ?? 0;
  if (output === completion) return usage;
  return { ...usage, completion_tokens: output, completion_tokens_details: { ...usage.completion_tokens_details, reasoning_tokens: (usage.completion_tokens_details?.reasoning_tokens ?? 0) + output - completion } };
}

/** The prices a request with a prompt of `promptTokens` tokens pays: the highest long-context tier it is above, else the model's own. */
export function pricesFor(model: ModelConfig, promptTokens: number): Pick<ModelConfig, 'inputPricePerMTok' | 'outputPricePerMTok' | 'cachedInputPricePerMTok' | 'cacheWritePricePerMTok'> {
  let prices: Pick<ModelConfig, 'inputPricePerMTok' | 'outputPricePerMTok' | 'cachedInputPricePerMTok' | 'cacheWritePricePerMTok'> = model;
  for (const tier of model.priceTiers ?? []) if (promptTokens > tier.aboveInputTokens) prices = tier;
  return prices;
}

/** The names providers give their standard processing (OpenAI `default`, Anthropic `standard`), billed at the model's prices. */
const STANDARD_TIERS = new Set(['default', 'standard', 'auto', 'on_demand']);

/**
 * The multiple of the model's prices that an answer served at `serviceTier` (as the answer reports
 * it) costs: 1 for the standard tier or none reported, `models.X.serviceTiers[tier]` for another, and
 * `undefined` for a tier the config does not price (billed at 1 by `costOf`; the caller warns).
 */
export function serviceTierFactor(model: ModelConfig, serviceTier: string | null | undefined): number | undefined {
  if (serviceTier === undefined || serviceTier === null || serviceTier === '') return 1;
  const tier = serviceTier.toLowerCase();
  return model.serviceTiers?.[tier] ?? (STANDARD_TIERS.has(tier) ? 1 : undefined);
}

/**
 * A request's cost: usage tokens × the model's prices at the prompt's size (cached input at its cache
 * prices where the model has them, audio at its audio prices), times its service tier's multiple when
 * the answer reports one.
 */
export function costOf(usage: UsageLike | undefined, model: ModelConfig, serviceTier?: string | null): number {
  const prompt = usage?.prompt_tokens ?? 0;
  const cached = Math.min(prompt, usage?.prompt_tokens_details?.cached_tokens ?? 0);
  const written = Math.min(prompt - cached, usage?.cache_creation_input_tokens ?? 0);
  const writtenHour = Math.min(written, usage?.cache_creation?.ephemeral_1h_input_tokens ?? 0);
  // audio among the uncached input and among the output, at the model's audio prices (text prices where it has none)
  const audioIn = Math.min(prompt - cached - written, usage?.prompt_tokens_details?.audio_tokens ?? 0);
  const output = outputTokensOf(usage);
  const audioOut = Math.min(output, usage?.completion_tokens_details?.audio_tokens ?? 0);
  const p = pricesFor(model, prompt);
  const input = p.inputPricePerMTok;
  const inputCost = (prompt - cached - written - audioIn) * input + audioIn * (model.audioInputPricePerMTok ?? input) + cached * (p.cachedInputPricePerMTok ?? input) + (written - writtenHour) * (p.cacheWritePricePerMTok ?? input) + writtenHour * input * ONE_HOUR_CACHE_WRITE_FACTOR;
  const outputCost = (output - audioOut) * p.outputPricePerMTok + audioOut * (model.audioOutputPricePerMTok ?? p.outputPricePerMTok);
  return ((inputCost + outputCost) / 1e6) * (serviceTierFactor(model, serviceTier) ?? 1);
}
