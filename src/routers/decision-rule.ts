/**
 * The one decision rule every predictor-style router uses (see docs/routers.md):
 *   choose argmax_m  q̂_m − w · ĉ_m / ĉ_scale,    w = w(λ) from the router's λ scale (tradeoff.ts)
 * λ = 0 (w = 0) maximises predicted quality; λ = 1 (w = ∞) minimises predicted cost; the chosen
 * model's predicted cost never rises with λ. Ties go to the cheaper model.
 */
export function utility(quality: number, cost: number, w: number, costScale: number): number {
  return quality - (w * cost) / costScale;
}

/** Index of the chosen model among `mask`ed ones; q and c are per-model arrays starting at `offset`. */
export function decide(q: ArrayLike<number>, c: ArrayLike<number>, offset: number, M: number, mask: Uint8Array, w: number, costScale: number): number {
  let best = -1;
  let bu = -Infinity;
  let bc = Infinity;
  const eps = 1e-12 * (1 + w);
  for (let m = 0; m < M; m++) {
    if (mask[m] !== 1) continue;
    const cost = c[offset + m] as number;
    const u = utility(q[offset + m] as number, cost, w, costScale);
    if (u > bu + eps || (Math.abs(u - bu) <= eps && cost < bc)) {
      best = m;
      bu = u;
      bc = cost;
    }
  }
  return best;
}
