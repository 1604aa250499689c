/** Adam on flat Float32Array parameter blocks (hand-written gradients; deterministic). */
export class Adam {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private t = 0;
  constructor(
    private readonly params: Float32Array[],
    /** One learning rate, or one per parameter block (e.g. encoder side vs model embeddings). */
    private readonly lr: number | readonly number[] = 1e-3,
    private readonly weightDecay = 1e-4,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly eps = 1e-8,
  ) {
    this.m = params.map((p) => new Float32Array(p.length));
    this.v = params.map((p) => new Float32Array(p.length));
  }

  /** One step with gradients averaged over `batch` samples; gradients are zeroed afterwards. */
  step(grads: Float32Array[], batch: number): void {
    this.t++;
    const b1 = this.beta1;
    const b2 = this.beta2;
    const c1 = 1 - b1 ** this.t;
    const c2 = 1 - b2 ** this.t;
    const wd = this.weightDecay;
    const inv = 1 / batch;
    this.params.forEach((p, k) => {
      const g = grads[k] as Float32Array;
      const m = this.m[k] as Float32Array;
      const v = this.v[k] as Float32Array;
      const lr = typeof this.lr === 'number' ? this.lr : (this.lr[k] ?? 0);
      for (let i = 0; i < p.length; i++) {
        const gi = (g[i] as number) * inv + wd * (p[i] as number);
        const mi = b1 * (m[i] as number) + (1 - b1) * gi;
        const vi = b2 * (v[i] as number) + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = (p[i] as number) - (lr * (mi / c1)) / (Math.sqrt(vi / c2) + this.eps);
        g[i] = 0;
      }
    });
  }
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}
