/**
 * A dataset at other prices (`train|eval --prices`): recorded costs scaled to the new prices by each
 * outcome's token mix, cards repriced, a router fitted on it choosing by the new prices, and the CLI
 * flag reading a price table or a gateway config.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { syntheticDir, syntheticMatrix } from '../../test/helpers/synthetic.js';
import { createRouter } from '../routers/registry.js';
import { applyPricesFlag, repriceMatrix } from './reprice.js';

describe('repriceMatrix', () => {
  const matrix = syntheticMatrix({ prompts: 200, models: 3 });
  const big = matrix.modelIndex('big-model') as number;
  const M = matrix.modelCount;

  it('scales each recorded cost by its own token mix, and leaves the other models as they were', () => {
    const { matrix: cheap, repriced, unknown } = repriceMatrix(matrix, { 'big-model': { inputPricePerMTok: 1, outputPricePerMTok: 2 }, 'small-1': { inputPricePerMTok: 0.2, outputPricePerMTok: 0.4 }, 'no-such-model': { inputPricePerMTok: 1, outputPricePerMTok: 1 } });
    expect(repriced).toEqual(['big-model']); // small-1's prices are the same
    expect(unknown).toEqual(['no-such-model']);
    expect(cheap.models.find((c) => c.id === 'big-model')).toMatchObject({ inputPricePerMTok: 1, outputPricePerMTok: 2 });
    for (let i = 0; i < matrix.size; i++) {
      const k = i * M + big;
      const tin = matrix.cols.inputTokens[k] as number;
      const tout = matrix.cols.outputTokens[k] as number;
      expect(cheap.cols.costs[k]).toBeCloseTo((tin * 1 + tout * 2) / 1e6, 15); // the synthetic costs are tokens × prices
      for (let m = 0; m < M; m++) if (m !== big) expect(cheap.cols.costs[i * M + m]).toBe(matrix.cols.costs[i * M + m]);
    }
    expect(matrix.models.find((c) => c.id === 'big-model')?.inputPricePerMTok).toBe(10); // the original is not changed
  });

  it('fits a router that trades quality against the new prices', async () => {
    const choices = async (m: typeof matrix): Promise<number> => {
      const router = createRouter('linear:encoder=hashing:dim=256');
      await router.fit(m.view('train'), { seed: 0 });
      const test = m.view('test');
      const decisions = await router.route(Array.from({ length: test.size }, (_, i) => ({ text: test.text(i) })), { lambda: 0.5, detail: 'choice' });
      return decisions.filter((d) => d.models[0] === 'big-model').length;
    };
    // big-model at a hundredth of its price: it answers more of the prompts it is good at
    const { matrix: cheap } = repriceMatrix(matrix, { 'big-model': { inputPricePerMTok: 0.1, outputPricePerMTok: 0.3 } });
    expect(await choices(cheap)).toBeGreaterThan(await choices(matrix));
  });

  it('reads the prices from a JSON table or a gateway config; a model the table names and the dataset lacks is an error naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-reprice-'));
    const table = join(dir, 'prices.json');
    writeFileSync(table, JSON.stringify({ 'big-model': { inputPricePerMTok: 1, outputPricePerMTok: 2 } }));
    const lines: string[] = [];
    expect(applyPricesFlag(matrix, table, () => ({}), (l) => lines.push(l)).models[big]?.inputPricePerMTok).toBe(1);
    expect(lines).toEqual([`--prices ${table}: repriced big-model (1 / 2)`]);
    const config = join(dir, 'switchyard.yaml');
    const fromConfig = applyPricesFlag(matrix, config, () => ({ 'big-model': { inputPricePerMTok: 3, outputPricePerMTok: 4 }, 'gpt-other': { inputPricePerMTok: 1, outputPricePerMTok: 1 } }), () => undefined);
    expect(fromConfig.models[big]).toMatchObject({ inputPricePerMTok: 3, outputPricePerMTok: 4 }); // the config's other models are no error
    writeFileSync(table, JSON.stringify({ 'big-modle': { inputPricePerMTok: 1, outputPricePerMTok: 2 } }));
    expect(() => applyPricesFlag(matrix, table, () => ({}), () => undefined)).toThrow(/big-modle is not in the dataset/);
  });

  it('switchyard eval --prices reports the costs at the new prices', () => {
    const data = syntheticDir({ prompts: 120, models: 3 });
    const dir = mkdtempSync(join(tmpdir(), 'sy-reprice-cli-'));
    const config = join(dir, 'switchyard.yaml');
    writeFileSync(config, `models:\n  big-model: { baseURL: "http://127.0.0.1:1/v1", inputPricePerMTok: 1, outputPricePerMTok: 3 }\n`);
    const r = spawnSync(process.execPath, ['dist/src/cli/main.js', 'eval', '--data', data, '--out', join(dir, 'out'), '--routers', 'linear:encoder=hashing', '--bootstrap', '0', '--lambdas', '5', '--prices', config], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(`--prices ${config}: repriced big-model (1 / 3)`);
    const results = JSON.parse(readFileSync(join(dir, 'out', 'results.json'), 'utf8')) as { prices: Record<string, unknown>; reference: { singles: Array<{ model: string; cost: number }> } };
    expect(results.prices['big-model']).toEqual({ inputPricePerMTok: 1, outputPricePerMTok: 3, source: 'repriced (--prices)' });
    expect(results.prices['small-1']).toEqual({ inputPricePerMTok: 0.2, outputPricePerMTok: 0.4 });
    // big-model's recorded tokens (10–29 in, 20–69 out) at $1 / $3: under $2.5e-4 a prompt (at its dataset prices, over $2e-3)
    expect(results.reference.singles.find((s) => s.model === 'big-model')?.cost).toBeLessThan(2.5e-4);
  });
});
