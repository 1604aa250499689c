/**
 * `concat`: several encoders side by side (e.g. `concat:parts=use-lite+hashing`): each part's unit
 * vector scaled by 1/√parts, so the whole is a unit vector and cosine similarity averages the parts'.
 * Semantic and lexical views err differently; routers can use both.
 */
import { SwitchyardError } from '../core/errors.js';
import type { Encoder, EncoderSpec } from '../spec/encoder.js';

export class ConcatEncoder implements Encoder {
  readonly id = 'concat';
  readonly dim: number;

  constructor(readonly parts: readonly Encoder[]) {
    if (parts.length < 2) throw new SwitchyardError('invalid_argument', 'concat encoder: give at least two parts, e.g. parts=use-lite+hashing');
    this.dim = parts.reduce((s, p) => s + p.dim, 0);
  }

  get fingerprint(): string {
    return `concat(${this.parts.map((p) => p.fingerprint).join('|')})`;
  }

  async fit(texts: readonly string[]): Promise<void> {
    for (const p of this.parts) await p.fit?.(texts);
  }

  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    const parts = await Promise.all(this.parts.map((p) => p.embed(texts)));
    const w = 1 / Math.sqrt(this.parts.length);
    return texts.map((_, i) => {
      const out = new Float32Array(this.dim);
      let off = 0;
      parts.forEach((vs, k) => {
        const v = vs[i] as Float32Array;
        for (let j = 0; j < v.length; j++) out[off + j] = (v[j] as number) * w;
        off += (this.parts[k] as Encoder).dim;
      });
      return out;
    });
  }

  toSpec(): EncoderSpec {
    return { id: this.id, dim: this.dim, config: {}, state: { parts: this.parts.map((p) => p.toSpec()) } };
  }
}
