import { describe, expect, it } from 'vitest';
import { createRng } from './random.js';
import { RowMatrix, simdAvailable } from './simd.js';

describe('RowMatrix (WebAssembly SIMD kernels)', () => {
  const rng = createRng(3);
  const rand = (len: number, sparse = 0): Float32Array => Float32Array.from({ length: len }, () => (rng.next() < sparse ? 0 : rng.next() * 2 - 1));

  it('is available on this Node', () => {
    expect(simdAvailable()).toBe(true);
  });

  for (const simd of [true, false]) {
    it(`computes every row · q as plain arithmetic does, for widths that are not a multiple of 4 (${simd ? 'wasm SIMD' : 'plain JS'})`, () => {
      for (const [n, width] of [[915, 64], [7, 5], [1, 3], [300, 130]] as const) {
        const rows = rand(n * width);
        const q = rand(width);
        const got = new RowMatrix(rows, n, width, { simd }).dots(q);
        expect(got.length).toBe(n);
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let t = 0; t < width; t++) s += (rows[j * width + t] as number) * (q[t] as number);
          expect(got[j]).toBeCloseTo(s, 4);
        }
      }
    });

    it(`combines rows by a sparse or dense x, skipping zeros (${simd ? 'wasm SIMD' : 'plain JS'})`, () => {
      for (const [n, width, sparse] of [[1024, 64, 0.9], [512, 64, 0], [10, 7, 0.5]] as const) {
        const rows = rand(n * width);
        const x = rand(n, sparse);
        const m = new RowMatrix(rows, n, width, { simd });
        m.combine(rand(n)); // a previous call must not leak into the next
        const got = Float32Array.from(m.combine(x));
        expect(got.length).toBe(width);
        for (let t = 0; t < width; t++) {
          let s = 0;
          for (let i = 0; i < n; i++) s += (x[i] as number) * (rows[i * width + t] as number);
          expect(got[t]).toBeCloseTo(s, 3);
        }
      }
    });
  }
});
