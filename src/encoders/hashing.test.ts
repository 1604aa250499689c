import { describe, expect, it } from 'vitest';
import { forEachFeature, HashingConfigSchema } from './hashing.js';

/** The definition the scanner implements: words are the matches of /[\p{L}\p{N}_]+/gu on the lower-cased text. */
function referenceWords(text: string): string[] {
  return [...text.toLowerCase().matchAll(/[\p{L}\p{N}_]+/gu)].map((m) => m[0]);
}

describe('hashing encoder features', () => {
  it('splits words exactly as the regex definition does, astral letters, lone surrogates and case folding included', () => {
    const config = HashingConfigSchema.parse({ dim: 1 << 20, charNgrams: false, bigrams: false });
    const texts = ['Ünïcödé wörds — 𝐀𝐁𝐂 math bold, emoji 😀x_y, lone \ud800 surrogate', 'Straße ΣΊΣΥΦΟΣ İstanbul ǅ', '___a__ 12ab 3,4', '', '   ', 'a', '日本語のテキスト123', 'x\u0301y tab\tnew\nline'];
    for (const text of texts) {
      const got: number[] = [];
      forEachFeature(text, 1 << 20, config, (bucket) => got.push(bucket));
      const want: number[] = [];
      for (const w of referenceWords(text)) {
        forEachFeature(w, 1 << 20, config, (bucket) => want.push(bucket)); // a word alone yields its own feature
      }
      expect(got).toEqual(want);
      expect(got.length).toBe(referenceWords(text).length);
    }
  });
});
