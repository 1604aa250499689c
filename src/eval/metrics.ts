/**
 * Cost–quality metrics as pure functions over points (definitions: docs/metrics.md).
 * All costs are mean USD per prompt; qualities are mean scores in 0..1.
 */
export interface Point {
  readonly cost: number;
  readonly quality: number;
}

/**
 * Non-decreasing convex hull (NDCH): points sorted by cost; a point no better than a cheaper one is
 * dropped; the upper convex hull of the rest; extended flat to `maxCost` (and cut there).
 */
export function ndch(points: readonly Point[], maxCost: number): Point[] {
  const sorted = points
    .filter((p) => Number.isFinite(p.cost) && Number.isFinite(p.quality))
    .slice()
    .sort((a, b) => a.cost - b.cost || b.quality - a.quality);
  const rising: Point[] = [];
  for (const p of sorted) {
    const last = rising[rising.length - 1];
    if (!last || p.quality > last.quality) rising.push(p);
  }
  const hull: Point[] = [];
  for (const p of rising) {
    while (hull.length >= 2) {
      const a = hull[hull.length - 2] as Point;
      const b = hull[hull.length - 1] as Point;
      // b is dropped when it lies on or below the segment a→p
      const cross = (b.cost - a.cost) * (p.quality - a.quality) - (b.quality - a.quality) * (p.cost - a.cost);
      if (cross >= 0) hull.pop();
      else break;
    }
    hull.push(p);
  }
  if (hull.length === 0) return hull;
  // cut at maxCost
  const cut: Point[] = [];
  for (const p of hull) {
    if (p.cost <= maxCost) {
      cut.push(p);
      continue;
    }
    const prev = cut[cut.length - 1];
    if (prev && prev.cost < maxCost) cut.push({ cost: maxCost, quality: interpolate(prev, p, maxCost) });
    break;
  }
  if (cut.length === 0) return [hull[0] as Point];
  const last = cut[cut.length - 1] as Point;
  if (last.cost < maxCost) cut.push({ cost: maxCost, quality: last.quality });
  return cut;
}

function interpolate(a: Point, b: Point, cost: number): number {
  if (b.cost === a.cost) return Math.max(a.quality, b.quality);
  return a.quality + ((b.quality - a.quality) * (cost - a.cost)) / (b.cost - a.cost);
}

/** AIQ: area under the hull from its cheapest point to maxCost, divided by maxCost. */
export function aiq(hull: readonly Point[], maxCost: number): number {
  if (maxCost <= 0 || hull.length < 2) return 0;
  let area = 0;
  for (let k = 1; k < hull.length; k++) {
    const a = hull[k - 1] as Point;
    const b = hull[k] as Point;
    area += ((a.quality + b.quality) / 2) * (b.cost - a.cost);
  }
  return area / maxCost;
}

/** Quality the hull reaches at `cost`; null when the hull starts above that cost. */
export function qualityAtCost(hull: readonly Point[], cost: number): number | null {
  const first = hull[0];
  if (!first || cost < first.cost) return null;
  for (let k = 1; k < hull.length; k++) {
    const b = hull[k] as Point;
    if (cost <= b.cost) return interpolate(hull[k - 1] as Point, b, cost);
  }
  return (hull[hull.length - 1] as Point).quality;
}

/** Cheapest cost at which the hull reaches `quality`; null if it never does. */
export function costToReach(hull: readonly Point[], quality: number): number | null {
  const first = hull[0];
  if (!first) return null;
  if (first.quality >= quality) return first.cost;
  for (let k = 1; k < hull.length; k++) {
    const a = hull[k - 1] as Point;
    const b = hull[k] as Point;
    if (b.quality >= quality) {
      if (b.quality === a.quality) return b.cost;
      return a.cost + ((quality - a.quality) * (b.cost - a.cost)) / (b.quality - a.quality);
    }
  }
  return null;
}

/** A point of a two-model router: share of calls to the strong model and its mean quality. */
export interface SharePoint {
  readonly strongShare: number;
  readonly quality: number;
}

/**
 * The performance-gap-recovered curve (RouteLLM): PGR = (q − q_weak) / (q_strong − q_weak) against
 * the share of strong calls, sorted by share, closed with (0, 0) and (1, 1) (all-weak, all-strong).
 */
export function pgrCurve(points: readonly SharePoint[], weakQuality: number, strongQuality: number): Array<{ share: number; pgr: number }> {
  const gap = strongQuality - weakQuality;
  const curve = points
    .filter((p) => Number.isFinite(p.strongShare) && Number.isFinite(p.quality))
    .map((p) => ({ share: p.strongShare, pgr: gap === 0 ? 0 : (p.quality - weakQuality) / gap }));
  curve.push({ share: 0, pgr: 0 }, { share: 1, pgr: 1 });
  curve.sort((a, b) => a.share - b.share || a.pgr - b.pgr);
  return curve;
}

/** APGR: area under the PGR curve over strong-call share 0..1 (trapezoids). */
export function apgr(points: readonly SharePoint[], weakQuality: number, strongQuality: number): number {
  const c = pgrCurve(points, weakQuality, strongQuality);
  let area = 0;
  for (let k = 1; k < c.length; k++) {
    const a = c[k - 1] as { share: number; pgr: number };
    const b = c[k] as { share: number; pgr: number };
    area += ((a.pgr + b.pgr) / 2) * (b.share - a.share);
  }
  return area;
}

/** CPT(x): the smallest strong-call share at which the PGR curve reaches x (e.g. 0.5 for CPT(50%)). */
export function cpt(points: readonly SharePoint[], weakQuality: number, strongQuality: number, target: number): number | null {
  const c = pgrCurve(points, weakQuality, strongQuality);
  for (let k = 0; k < c.length; k++) {
    const b = c[k] as { share: number; pgr: number };
    if (b.pgr < target) continue;
    const a = c[k - 1];
    if (!a || a.pgr >= target || b.pgr === a.pgr) return b.share;
    return a.share + ((target - a.pgr) * (b.share - a.share)) / (b.pgr - a.pgr);
  }
  return null;
}

/** Linear-interpolated quantile of an ascending-sorted array (q in 0..1). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}
