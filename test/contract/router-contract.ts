/**
 * The contract every router must pass (one suite, run for every registered router):
 * deterministic with a seed, λ-monotone in expected cost, identical decisions after save/load,
 * unknown models rejected, candidates honoured, clear errors before fit and for a bad λ.
 */
import { describe, expect, it } from 'vitest';
import type { MatrixView, RoutingMatrix } from '../../src/data/routing-matrix.js';
import { modelStats } from '../../src/data/stats.js';
import { routerFromArtifact } from '../../src/routers/registry.js';
import type { Decision, PromptInput, Router } from '../../src/spec/router.js';
import { syntheticMatrix } from '../helpers/synthetic.js';

const LAMBDAS = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1];

function prompts(view: MatrixView): PromptInput[] {
  return Array.from({ length: view.size }, (_, i) => ({ id: view.id(i), text: view.text(i) }));
}

async function decisionsByLambda(router: Router, ps: readonly PromptInput[]): Promise<Decision[][]> {
  const out: Decision[][] = [];
  for (const lambda of LAMBDAS) out.push(await router.route(ps, { lambda }));
  return out;
}

const chosen = (ds: Decision[][]): string[][] => ds.map((d) => d.map((x) => x.models.join('>')));

export interface ContractOptions {
  /** The data to fit and route on (default: a synthetic 4-model matrix). */
  readonly data?: () => RoutingMatrix;
  readonly seed?: number;
}

export function routerContract(name: string, make: () => Router, options: ContractOptions = {}): void {
  describe(`router contract: ${name}`, () => {
    const matrix = (options.data ?? (() => syntheticMatrix({ prompts: 240, models: 4 })))();
    const train = matrix.view('train');
    const test = matrix.view('test');
    const ps = prompts(test);
    const seed = options.seed ?? 11;

    const fitted = async (): Promise<Router> => {
      const r = make();
      await r.fit(train, { seed });
      return r;
    };

    it('returns one well-formed decision per prompt over its own models', async () => {
      const r = await fitted();
      expect(r.models).toEqual(matrix.modelIds);
      const ds = await r.route(ps, { lambda: 0.5 });
      expect(ds).toHaveLength(ps.length);
      for (const d of ds) {
        expect(d.models.length).toBeGreaterThan(0);
        for (const m of d.models) expect(r.models).toContain(m);
        expect(d.reason.length).toBeGreaterThan(0);
      }
    });

    it('is deterministic for a seed', async () => {
      const [a, b] = await Promise.all([fitted(), fitted()]);
      expect(chosen(await decisionsByLambda(a, ps))).toEqual(chosen(await decisionsByLambda(b, ps)));
    });

    it('honours λ monotonically in expected cost', async () => {
      const r = await fitted();
      const meanCost = new Map(modelStats(train).map((s) => [s.model, s.meanCost]));
      const expected = (d: Decision): number => {
        if (d.expectedCostUsd !== undefined) return d.expectedCostUsd; // the whole decision (a cascade's chain)
        const own = d.candidates?.find((c) => c.model === d.models[0])?.cost;
        return own ?? (meanCost.get(d.models[0] as string) as number);
      };
      const costs = (await decisionsByLambda(r, ps)).map((ds) => ds.reduce((s, d) => s + expected(d), 0) / ds.length);
      for (let k = 1; k < costs.length; k++) expect(costs[k] as number).toBeLessThanOrEqual((costs[k - 1] as number) * (1 + 1e-9));
    });

    it('survives save/load (through JSON) with identical decisions', async () => {
      const r = await fitted();
      const artifact = JSON.parse(JSON.stringify(r.toArtifact()));
      expect(artifact.format).toBe('switchyard.router');
      expect(artifact.kind).toBe(r.kind);
      const loaded = await routerFromArtifact(artifact);
      expect(loaded.models).toEqual(r.models);
      expect(chosen(await decisionsByLambda(loaded, ps))).toEqual(chosen(await decisionsByLambda(r, ps)));
    });

    it('rejects unknown models in candidates and a mismatched artifact', async () => {
      const r = await fitted();
      await expect(r.route(ps.slice(0, 2), { lambda: 0.5, candidates: ['no-such-model'] })).rejects.toMatchObject({ code: 'unknown_model' });
      await expect(r.route([{ text: 'hi', candidates: ['no-such-model'] }], { lambda: 0.5 })).rejects.toMatchObject({ code: 'unknown_model' });
      const artifact = r.toArtifact();
      await expect(Promise.resolve().then(() => routerFromArtifact({ ...artifact, version: 999 }))).rejects.toMatchObject({ code: 'artifact_invalid' });
      await expect(Promise.resolve().then(() => routerFromArtifact({ ...artifact, state: { bogus: true } }))).rejects.toMatchObject({ code: 'artifact_invalid' });
    });

    it('chooses only among the candidates it is given', async () => {
      const r = await fitted();
      const only = matrix.modelIds[matrix.modelCount - 1] as string;
      for (const lambda of [0, 1]) {
        for (const d of await r.route(ps.slice(0, 10), { lambda, candidates: [only] })) expect(d.models).toEqual([only]);
      }
      const per = await r.route([{ text: ps[0]?.text ?? '', candidates: [matrix.modelIds[0] as string] }], { lambda: 1 });
      expect(per[0]?.models).toEqual([matrix.modelIds[0]]);
    });

    it('routes a refitted router by its new fit, not a remembered one', async () => {
      const r = await fitted();
      const first = chosen(await decisionsByLambda(r, ps));
      const other = (options.data ?? (() => syntheticMatrix({ prompts: 240, models: 4, seed: 99 })))().view('train');
      await r.fit(other, { seed });
      const fresh = make();
      await fresh.fit(other, { seed });
      expect(chosen(await decisionsByLambda(r, ps))).toEqual(chosen(await decisionsByLambda(fresh, ps)));
      expect(first.length).toBe(LAMBDAS.length);
    });

    it('refuses to route before fit, and refuses λ outside [0, 1]', async () => {
      await expect(make().route(ps.slice(0, 1), { lambda: 0.5 })).rejects.toMatchObject({ code: 'router_not_fitted' });
      const r = await fitted();
      await expect(r.route(ps.slice(0, 1), { lambda: 1.5 })).rejects.toMatchObject({ code: 'invalid_argument' });
      await expect(r.route(ps.slice(0, 1), { lambda: Number.NaN })).rejects.toMatchObject({ code: 'invalid_argument' });
    });
  });
}
