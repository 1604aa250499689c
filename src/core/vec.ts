/** Small dense-vector helpers on typed arrays (hot paths: keep them allocation-free). */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  const n = a.length;
  for (let i = 0; i < n; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

export function normalizeInPlace<T extends Float32Array>(v: T): T {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += (v[i] as number) * (v[i] as number);
  const n = Math.sqrt(s);
  if (n > 0) for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) / n;
  return v;
}

/** Index of the largest value among those allowed by `mask` (first on ties); -1 if none. */
export function argmaxMasked(values: ArrayLike<number>, mask: Uint8Array): number {
  let best = -1;
  let bv = -Infinity;
  for (let j = 0; j < values.length; j++) {
    if (mask[j] !== 1) continue;
    const v = values[j] as number;
    if (v > bv) {
      bv = v;
      best = j;
    }
  }
  return best;
}
