import { describe, expect, it } from 'vitest';
import { syntheticMatrix } from '../../../test/helpers/synthetic.js';
import { routerFromArtifact } from '../registry.js';
import { RulesRouter } from './rules.js';

describe('rules router', () => {
  const matrix = syntheticMatrix({ prompts: 80 });
  const train = matrix.view('train');

  it('sends a prompt to the first matching tier and walks its list with λ, dearest first', async () => {
    const r = new RulesRouter({
      tiers: [
        { name: 'code', when: { keywords: ['python', 'compile'] }, models: ['small-1', 'big-model'] },
        { name: 'short', when: { maxTokens: 4 }, models: ['small-3'] },
      ],
      default: ['small-2'],
    });
    await r.fit(train, { seed: 0 });
    const [code0, code1, short, other] = [
      ...(await r.route([{ text: 'Why does my Python loop not compile?' }], { lambda: 0 })),
      ...(await r.route([{ text: 'Why does my Python loop not compile?' }], { lambda: 1 })),
      ...(await r.route([{ text: 'hi there' }], { lambda: 0 })),
      ...(await r.route([{ text: 'Tell me a long story about the weather in spring time' }], { lambda: 0 })),
    ];
    expect(code0?.models).toEqual(['big-model']);
    expect(code1?.models).toEqual(['small-1']);
    expect(code0?.reason).toMatch(/tier "code"/);
    expect(short?.models).toEqual(['small-3']);
    expect(other?.models).toEqual(['small-2']);
  });

  it('rejects unknown models and bad regexes in its config at fit, and survives save/load', async () => {
    await expect(new RulesRouter({ tiers: [{ name: 'x', when: {}, models: ['nope'] }] }).fit(train, { seed: 0 })).rejects.toMatchObject({ code: 'unknown_model' });
    await expect(new RulesRouter({ tiers: [{ name: 'x', when: { regex: '(' }, models: ['small-1'] }] }).fit(train, { seed: 0 })).rejects.toMatchObject({ code: 'invalid_argument' });
    expect(() => new RulesRouter({ tiers: [{ name: 'x', models: [] }] } as never)).toThrow(/tiers\.0\.models/);
    const r = new RulesRouter({ tiers: [{ name: 'law', when: { regex: 'court|statute' }, models: ['small-3', 'big-model'] }] });
    await r.fit(train, { seed: 0 });
    const loaded = await routerFromArtifact(JSON.parse(JSON.stringify(r.toArtifact())));
    const p = [{ text: 'Which court hears the appeal?' }];
    expect((await loaded.route(p, { lambda: 0.2 }))[0]?.models).toEqual((await r.route(p, { lambda: 0.2 }))[0]?.models);
  });
});
