/** Input featurisation shared by the neural routers: PCA to `width` dims, whitened (unit variance per component). */
import { z } from 'zod';
import { base64ToF32, f32ToBase64 } from '../../core/encode-f32.js';
import { fitPca, project, type Pca } from '../../core/linalg.js';

export const InputStateSchema = z.object({ mean: z.string(), components: z.string(), k: z.number().int(), d: z.number().int(), scale: z.array(z.number()) }).nullable();

export class InputTransform {
  constructor(
    private readonly pca: Pca | null,
    private readonly scale: number[],
  ) {}

  static fit(X: readonly Float32Array[], width: number, seed: number): InputTransform {
    const d = (X[0] as Float32Array).length;
    if (width <= 0 || width >= d) return new InputTransform(null, []);
    const pca = fitPca(X, width, seed);
    return new InputTransform(pca, pca.explained.map((v) => 1 / Math.sqrt(Math.max(v, 1e-12))));
  }

  get width(): number {
    return this.pca ? this.pca.k : -1;
  }

  apply(x: Float32Array): Float32Array {
    if (!this.pca) return x;
    const out = project(this.pca, x);
    for (let r = 0; r < out.length; r++) out[r] = (out[r] as number) * (this.scale[r] as number);
    return out;
  }

  toState(): z.infer<typeof InputStateSchema> {
    if (!this.pca) return null;
    return { mean: f32ToBase64(this.pca.mean), components: f32ToBase64(this.pca.components), k: this.pca.k, d: this.pca.d, scale: this.scale.map((v) => Number(v.toPrecision(7))) };
  }

  static fromState(s: z.infer<typeof InputStateSchema>): InputTransform {
    if (!s) return new InputTransform(null, []);
    return new InputTransform({ mean: base64ToF32(s.mean), components: base64ToF32(s.components), k: s.k, d: s.d, explained: [] }, s.scale);
  }
}
