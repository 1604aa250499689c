import { describe, expect, it } from 'vitest';
import { AttentionNet, initParams, type NetInput, type NetShape } from './attention-net.js';

/** The loss of one prompt, recomputed from a forward pass (the quantity backward differentiates). */
function loss(net: AttentionNet, params: Float32Array[], input: NetInput, y: Float64Array, c: Float64Array, beta: number, lt: number): number {
  net.forward(params, input);
  let l = 0;
  y.forEach((yj, j) => {
    if (Number.isNaN(yj)) return;
    const p = net.p[j] as number;
    l -= yj * Math.log(p) + (1 - yj) * Math.log(1 - p);
    l -= beta * (net.w[j] as number) * (yj - lt * (c[j] as number));
  });
  return l;
}

describe('cross-attention network', () => {
  const shapes: Array<[string, NetShape, NetInput]> = [
    ['tokens', { vocab: 11, feature: 0, dim: 4, models: 3, maxLen: 8 }, { ids: Int32Array.of(1, 5, 5, 9), x: undefined }],
    ['sentence', { vocab: 0, feature: 5, dim: 4, models: 3, maxLen: 8 }, { ids: new Int32Array(0), x: Float32Array.of(0.5, -1, 0.2, 0.9, -0.3) }],
    ['both', { vocab: 11, feature: 5, dim: 4, models: 3, maxLen: 8, sentenceWeight: 0.3 }, { ids: Int32Array.of(2, 7), x: Float32Array.of(0.5, -1, 0.2, 0.9, -0.3) }],
  ];
  for (const [name, shape, input] of shapes) {
    it(`backward matches finite differences (${name} queries)`, () => {
      const params = initParams(shape, [0.3, 0.6, 0.8], 4);
      params[2]?.set(Float32Array.of(0.3, -0.2, 0.1, 0.4));
      const grads = params.map((p) => new Float32Array(p.length));
      const net = new AttentionNet(shape);
      const y = Float64Array.of(1, 0, Number.NaN);
      const c = Float64Array.of(1, 0.2, 0.05);
      net.forward(params, input);
      net.backward(params, grads, input, y, c, 0, 0.7, 0.4);
      let checked = 0;
      params.forEach((p, k) => {
        for (let i = 0; i < p.length; i++) {
          const g = (grads[k] as Float32Array)[i] as number;
          const old = p[i] as number;
          const h = 1e-2;
          p[i] = old + h;
          const up = loss(net, params, input, y, c, 0.7, 0.4);
          p[i] = old - h;
          const down = loss(net, params, input, y, c, 0.7, 0.4);
          p[i] = old;
          const fd = (up - down) / (2 * h);
          expect(Math.abs(fd - g)).toBeLessThan(2e-3 + 2e-2 * Math.abs(fd));
          if (Math.abs(fd) > 1e-4) checked++;
        }
      });
      expect(checked).toBeGreaterThan(10);
    });
  }

  it('routing weights are a distribution over the models', () => {
    const shape: NetShape = { vocab: 11, feature: 0, dim: 4, models: 3, maxLen: 8 };
    const net = new AttentionNet(shape);
    net.forward(initParams(shape, [0.5, 0.5, 0.5], 1), { ids: Int32Array.of(3, 4), x: undefined });
    expect([...net.w].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(Math.min(...net.w)).toBeGreaterThan(0);
  });
});
