/**
 * Token-level features for routers that attend over a prompt's tokens (the cross-attention router):
 * lower-cased words and punctuation, each hashed into a fixed vocabulary (id 0 is padding), so a
 * router can learn token embeddings with no tokenizer download. Long prompts keep their head and tail.
 */
import { routingText } from '../core/long-text.js';
import { hashString } from '../core/random.js';

const TOKEN = /[\p{L}\p{N}_]+|[^\s\p{L}\p{N}_]/gu;

export interface TokenFeatures {
  /** Token ids in [1, vocabSize); 0 never appears (reserved for padding). */
  readonly ids: Int32Array;
}

export function hashedTokenIds(text: string, vocabSize: number, maxLen = 256): TokenFeatures {
  const all: number[] = [];
  for (const m of routingText(text).toLowerCase().matchAll(TOKEN)) all.push(1 + (hashString(m[0]) % (vocabSize - 1)));
  if (all.length <= maxLen) return { ids: Int32Array.from(all) };
  const head = Math.floor(maxLen / 2);
  return { ids: Int32Array.from([...all.slice(0, head), ...all.slice(all.length - (maxLen - head))]) };
}
