import { describe, expect, it } from 'vitest';
import { hashedTokenIds } from './tokens.js';

describe('hashed token ids', () => {
  it('maps words and punctuation to stable ids in [1, vocab), keeping head and tail of long texts', () => {
    const a = hashedTokenIds('Sort the list, then print it!', 1000);
    expect(a.ids).toHaveLength(8);
    expect(Math.min(...a.ids)).toBeGreaterThanOrEqual(1);
    expect(Math.max(...a.ids)).toBeLessThan(1000);
    expect(hashedTokenIds('sort THE list', 1000).ids[1]).toBe(a.ids[1]);
    const long = hashedTokenIds(Array.from({ length: 500 }, (_, i) => `w${i}`).join(' '), 5000, 10);
    expect(long.ids).toHaveLength(10);
    expect(long.ids[9]).toBe(hashedTokenIds('w499', 5000).ids[0]);
  });
});
