/**
 * Boilerplate stripping: paragraphs (blank-line separated) that recur across many training prompts
 * — shared system prompts, few-shot examples, fixed instructions — say little about the prompt at
 * hand but dominate its embedding. Fitted on train: a paragraph seen in at least `minShare` of the
 * prompts (and at least `minCount` times) is boilerplate and is dropped before encoding; a prompt
 * that is nothing but boilerplate is kept whole.
 */
import { hashString } from '../core/random.js';

export interface BoilerplateState {
  /** FNV hashes of boilerplate paragraphs. */
  readonly hashes: number[];
}

const split = (text: string): string[] => text.split(/\n\s*\n/);

export function fitBoilerplate(texts: readonly string[], minShare = 0.01, minCount = 5): BoilerplateState {
  const counts = new Map<number, number>();
  for (const t of texts) {
    for (const h of new Set(split(t).map((p) => hashString(p.trim())))) counts.set(h, (counts.get(h) ?? 0) + 1);
  }
  const need = Math.max(minCount, Math.ceil(minShare * texts.length));
  return { hashes: [...counts].filter(([, c]) => c >= need).map(([h]) => h).sort((a, b) => a - b) };
}

export function stripBoilerplate(text: string, state: BoilerplateState, set = new Set(state.hashes)): string {
  if (set.size === 0) return text;
  const kept = split(text).filter((p) => !set.has(hashString(p.trim())));
  return kept.length === 0 ? text : kept.join('\n\n');
}
