import type { ModelConfig } from './config.js';

/** A request's cost: usage tokens x the model's prices. */
export function costOf(usage: { prompt_tokens?: number; completion_tokens?: number } | undefined, model: ModelConfig): number {
  return ((usage?.prompt_tokens ?? 0) * model.inputPricePerMTok + (usage?.completion_tokens ?? 0) * model.outputPricePerMTok) / 1e6;
}
