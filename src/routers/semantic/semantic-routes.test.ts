import { describe, expect, it } from 'vitest';
import { syntheticMatrix } from '../../../test/helpers/synthetic.js';
import { HashingEncoder } from '../../encoders/hashing.js';
import { calibrateThreshold, SemanticRoutesRouter } from './semantic-routes.js';

describe('semantic-routes router', () => {
  const matrix = syntheticMatrix({ prompts: 200 });
  const config = {
    routes: [
      { name: 'maths', utterances: ['solve this integral equation', 'is this number prime', 'compute the derivative of the sum'] },
      { name: 'legal', utterances: ['read my tenant contract', 'the court statute on liability', 'how to appeal a court decision'], models: ['small-3'] },
    ],
  };

  it('matches prompts to the configured routes, learns their profiles and honours pinned models', async () => {
    const r = new SemanticRoutesRouter({ encoder: 'hashing:dim=512', routes: config });
    await r.fit(matrix.view('train'), { seed: 0 });
    const [maths, legal] = await r.route([{ text: 'What is the derivative of this prime matrix equation?' }, { text: 'My tenant lost the court appeal on liability' }], { lambda: 0 });
    expect(maths?.reason).toMatch(/route "maths"/);
    expect(legal?.reason).toMatch(/route "legal"/);
    expect(legal?.models).toEqual(['small-3']);
  });

  it('calibrates a threshold between own-route and other-route similarities', async () => {
    const enc = new HashingEncoder({ dim: 512 });
    const texts = config.routes.flatMap((r) => r.utterances);
    await enc.fit(texts);
    const v = await enc.embed(texts);
    const t = calibrateThreshold(v, [0, 0, 0, 1, 1, 1]);
    expect(t).toBeGreaterThan(-1);
    expect(t).toBeLessThan(1);
  });
});
