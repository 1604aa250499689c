import { describe, expect, it } from 'vitest';
import { syntheticMatrix } from '../../../test/helpers/synthetic.js';
import { withoutModels } from '../../data/model-subset.js';
import { routerFromArtifact } from '../registry.js';
import { CrossAttentionRouter } from './cross-attention.js';

const matrix = syntheticMatrix({ prompts: 400, seed: 11 });
const train = matrix.view('train');
const test = matrix.view('test');
const prompts = Array.from({ length: test.size }, (_, i) => ({ text: test.text(i) }));
const isCode = (text: string): boolean => /python|function|compile|bug|array|loop/.test(text);

describe('cross-attention router', () => {
  it('refuses bad options with the field named', () => {
    expect(() => new CrossAttentionRouter({ dim: 0 })).toThrow(/dim must be an integer ≥ 2/);
    expect(() => new CrossAttentionRouter({ sentenceWeight: 2 })).toThrow(/sentenceWeight/);
    expect(() => new CrossAttentionRouter({ query: 'words' as 'tokens' })).toThrow(/query must be/);
  });

  it('soft routing calls the top k by utility, the hard choice first, and pays for each', async () => {
    const hard = new CrossAttentionRouter({ encoder: 'hashing:dim=256', epochs: 4 });
    const soft = new CrossAttentionRouter({ encoder: 'hashing:dim=256', epochs: 4, soft: 3 });
    await hard.fit(train, { seed: 1 });
    await soft.fit(train, { seed: 1 });
    const h = await hard.route(prompts.slice(0, 20), { lambda: 0.3 });
    const s = await soft.route(prompts.slice(0, 20), { lambda: 0.3 });
    s.forEach((d, i) => {
      expect(d.kind).toBe('mixture');
      expect(d.models).toHaveLength(3);
      expect(new Set(d.models).size).toBe(3);
      expect(d.models[0]).toBe(h[i]?.models[0]);
    });
  });

  it('adds a held-back model from 50 labelled prompts and routes its specialty to it', async () => {
    const base = new CrossAttentionRouter({ encoder: 'hashing:dim=256', epochs: 8, query: 'tokens' });
    await base.fit(withoutModels(train, ['small-2']), { seed: 2 });
    expect(base.models).not.toContain('small-2');
    const m = train.models.findIndex((c) => c.id === 'small-2');
    const labelled = Array.from({ length: 50 }, (_, i) => ({ prompt: { text: train.text(i) }, score: train.score(i, m), outputTokens: train.outputTokens(i, m) }));
    const report = await base.addModel(train.models[m]!, labelled, { seed: 3 });
    expect(report.prompts).toBe(50);
    expect(base.models.at(-1)).toBe('small-2');
    const decisions = await base.route(prompts, { lambda: 0.5 });
    const code = decisions.filter((_, i) => isCode(prompts[i]!.text));
    const other = decisions.filter((_, i) => !isCode(prompts[i]!.text));
    const share = (ds: typeof decisions): number => ds.filter((d) => d.models[0] === 'small-2').length / ds.length;
    // small-2 is the cheap specialist for code prompts (0.9 vs 0.3 for the other small models)
    expect(share(code)).toBeGreaterThan(0.6);
    expect(share(other)).toBeLessThan(0.2);
    // the grown router saves and loads like any other
    const loaded = await routerFromArtifact(JSON.parse(JSON.stringify(base.toArtifact())));
    const pick = (ds: readonly { models: readonly string[] }[]): string[] => ds.map((d) => d.models.join());
    expect(pick(await loaded.route(prompts, { lambda: 0.5 }))).toEqual(pick(await base.route(prompts, { lambda: 0.5 })));
    await expect(base.addModel(train.models[m]!, labelled)).rejects.toMatchObject({ code: 'invalid_argument' });
    // an artifact whose parameter blocks do not fit the network is refused
    const broken = JSON.parse(JSON.stringify(base.toArtifact()));
    broken.state.model.folds[0].pop();
    await expect(routerFromArtifact(broken)).rejects.toMatchObject({ code: 'artifact_invalid' });
  });
});

describe('cross-attention query=auto', () => {
  it('uses the sentence encoder for a small training set and records the mode it chose', async () => {
    const r = new CrossAttentionRouter({ encoder: 'hashing:dim=256', epochs: 2 });
    const lines: string[] = [];
    await r.fit(train, { seed: 0, log: (l) => lines.push(l) });
    expect(lines.join('\n')).toMatch(/query=auto → sentence/);
    expect(r.toArtifact().config['query']).toBe('sentence');
  });
});
