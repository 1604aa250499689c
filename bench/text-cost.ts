/**
 * What a prompt never seen before costs the router's text features: the hashing encoder's embedding
 * and the exact cl100k token count for the cost prediction, one prompt at a time, warm (best of 3
 * passes over a dataset's test prompts, after one pass of warm-up).
 * Run: npm run build && node dist/bench/text-cost.js [--data ../shared/data/routerbench]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { tokens } from '../src/data/import/common.js';
import { loadDataset } from '../src/data/load.js';
import { HashingEncoder } from '../src/encoders/hashing.js';

const { values } = parseArgs({ options: { data: { type: 'string' } } });
const matrix = loadDataset(resolve(values.data ?? '../shared/data/routerbench'));
const test = matrix.view('test');
const texts = Array.from({ length: test.size }, (_, i) => test.text(i));
const encoder = new HashingEncoder();
await encoder.fit(texts);

function perPrompt(f: (text: string) => unknown): number {
  for (const t of texts) f(t);
  let best = Infinity;
  for (let pass = 0; pass < 3; pass++) {
    const t0 = performance.now();
    for (const t of texts) f(t);
    best = Math.min(best, (performance.now() - t0) / texts.length);
  }
  return best * 1000;
}

const chars = texts.reduce((s, t) => s + t.length, 0) / texts.length;
console.log(`${matrix.meta.name}: ${texts.length} test prompts of ${chars.toFixed(0)} chars on average, µs a prompt`);
console.log(`  hashing embedding (dim ${encoder.dim})  ${perPrompt((t) => encoder.embedOne(t)).toFixed(1)}`);
console.log(`  cl100k token count            ${perPrompt((t) => tokens(t)).toFixed(1)}`);
