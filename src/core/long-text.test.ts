import { describe, expect, it } from 'vitest';
import { tokens } from '../data/import/common.js';
import { createEncoder } from '../encoders/registry.js';
import { hashedTokenIds } from '../encoders/tokens.js';
import { CostModel } from '../routers/cost-model.js';
import { countLong, ROUTING_TEXT_MAX_CHARS, routingText } from './long-text.js';

describe('very long prompts', () => {
  const paragraph = 'The committee reviewed 42 proposals, approved 17 of them and asked for revisions on the rest; ';
  const long = `INSTRUCTIONS: answer briefly. ${paragraph.repeat(3000)} QUESTION: which proposals were approved?`;

  it('are read by their head and tail; shorter ones whole', () => {
    expect(routingText('short prompt')).toBe('short prompt');
    const sample = routingText(long);
    expect(long.length).toBeGreaterThan(ROUTING_TEXT_MAX_CHARS);
    expect(sample.length).toBe(ROUTING_TEXT_MAX_CHARS + 1);
    expect(sample.startsWith('INSTRUCTIONS: answer briefly.')).toBe(true);
    expect(sample.endsWith('QUESTION: which proposals were approved?')).toBe(true);
  });

  it('have their cl100k tokens estimated from that sample within 1% of the exact count', () => {
    const exact = tokens(long);
    const estimated = CostModel.countTokens(long);
    expect(Math.abs(estimated - exact) / exact).toBeLessThan(0.01);
    expect(countLong('a few words', tokens)).toBe(tokens('a few words'));
  });

  it('embed and give token features as their sample does (the hashing encoder, the cross-attention ids)', async () => {
    const encoder = createEncoder('hashing:dim=256');
    await encoder.fit([paragraph, 'another training prompt']);
    const [whole, sample] = await encoder.embed([long, routingText(long)]);
    expect(Array.from(whole as Float32Array)).toEqual(Array.from(sample as Float32Array));
    expect(Array.from(hashedTokenIds(long, 1000).ids)).toEqual(Array.from(hashedTokenIds(routingText(long), 1000).ids));
  });
});
