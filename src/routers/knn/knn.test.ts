import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/random.js';
import { topK, topKSelect } from './knn.js';

describe('kNN neighbour selection', () => {
  it('quickselect picks the same k nearest as the heap, for every k', () => {
    const rng = createRng(3);
    for (const n of [1, 2, 7, 100, 915]) {
      const sims = Float32Array.from({ length: n }, () => rng.next() * 2 - 1);
      for (const k of [1, 2, 5, 40, 320, 2000]) {
        const kk = Math.min(k, n);
        const a = [...topK(sims, kk)].sort((x, y) => x - y);
        const b = [...topKSelect(sims, kk, new Float32Array(n), new Int32Array(kk))].sort((x, y) => x - y);
        expect(b).toEqual(a);
      }
    }
  });

  it('fills ties at the boundary up to exactly k', () => {
    const sims = Float32Array.of(0.5, 0.9, 0.5, 0.5, 0.1);
    const got = topKSelect(sims, 3, new Float32Array(5), new Int32Array(3));
    expect(got).toHaveLength(3);
    expect([...got]).toContain(1);
  });
});
