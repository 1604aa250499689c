/**
 * Bandit speed: LinUCB select + update with d = 128 and 20 arms (policy level, median over 10,000
 * steps), and 10,000 online steps through the router API (route one prompt, update from its
 * outcome; hashing encoder, embeddings cached), for every bandit.
 * Run: npm run build && node dist/bench/bandit-bench.js
 */
import { buildMatrix } from '../src/data/load.js';
import { createRng } from '../src/core/random.js';
import { LinUcb } from '../src/routers/bandit/policies.js';
import { createRouter } from '../src/routers/registry.js';
import { generateMatrix } from './generate.js';

const us = (ms: number): string => `${(ms * 1000).toFixed(1)} µs`;
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

// policy level
const d = 128;
const arms = 20;
const rng = createRng(1);
const ctx = (): Float64Array => {
  const x = Float64Array.from({ length: d }, () => (rng.next() - 0.5) * 0.2);
  x[d - 1] = 1;
  return x;
};
for (const warm of [0, 2000]) {
  const p = new LinUcb(arms, d, 0.3, 1);
  // offline bootstrap as the router does it: every arm observes the same training contexts
  const prior = Array.from({ length: warm }, ctx);
  for (let a = 0; a < arms; a++) p.observeBatch(a, prior, prior.map((x) => Math.min(1, Math.max(0, 0.3 + 0.02 * a + 3 * (x[a] as number)))));
  const mask = new Uint8Array(arms).fill(1);
  const penalty = Float64Array.from({ length: arms }, (_, a) => 0.01 * a);
  const xs = Array.from({ length: 10000 }, ctx);
  const times: number[] = [];
  const t0 = performance.now();
  for (const x of xs) {
    const s = performance.now();
    const { arm } = p.choose(x, '', penalty, mask, false);
    p.observe(arm, x, Math.min(1, Math.max(0, 0.3 + 0.02 * arm + 3 * (x[arm] as number))));
    times.push(performance.now() - s);
  }
  const total = performance.now() - t0;
  console.log(`LinUCB d=${d}, ${arms} arms, bootstrapped on ${warm} contexts: select+update median ${us(median(times))}; 10,000 steps ${(total / 1000).toFixed(2)} s`);
}

// router level
const { meta, rows } = generateMatrix(10000, 20, 3, 2000);
const matrix = buildMatrix(meta, rows);
const train = matrix.view('train');
const test = matrix.view('test');
const prompts = Array.from({ length: test.size }, (_, i) => ({ text: test.text(i) }));
for (const spec of ['ucb1', 'thompson', 'epsilon-greedy', 'linucb:pca=32', 'linucb:pca=64', 'linucb:pca=128']) {
  const router = createRouter(`${spec}${spec.includes(':') ? ';' : ':'}encoder=hashing`);
  await router.fit(train, { seed: 0 });
  await router.route(prompts, { lambda: 0.3 }); // warm the embedding cache
  const t0 = performance.now();
  for (let i = 0; i < prompts.length; i++) {
    const p = prompts[i] as { text: string };
    const [dec] = await router.route([p], { lambda: 0.3, detail: 'choice' });
    const m = matrix.modelIndex(dec?.models[0] as string) as number;
    await router.update?.([{ prompt: p, model: dec?.models[0] as string, score: test.score(i, m), costUsd: test.cost(i, m) }]);
  }
  console.log(`  ${spec.padEnd(16)} 10,000 online steps (route + update, 20 arms) in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
}
