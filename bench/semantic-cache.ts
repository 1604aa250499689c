/**
 * How safe is a semantic (similar-prompt) answer cache on real traffic? For every test prompt of a
 * dataset, the most similar train prompt (cosine of the encoder's embeddings of the last user turn,
 * i.e. the whole prompt here); at each threshold: the share of test prompts that would be answered
 * from the cache (hits), the share of hits that are the same question (equal after collapsing case
 * and whitespace), and how differently the dataset's models fared on the two prompts (mean over
 * models of |score(test) − score(cached)|; 0 when the prompts are interchangeable, compared with the
 * same figure for random pairs). A hit that is not the same question serves an answer to another
 * question.
 * A second check, as a guard: at most --max-changed words (default 2) that one prompt has and the
 * other has not. Retyped copies of train prompts (case, spacing, a dropped question mark, a typo, a
 * greeting) measure what a cache would find.
 * Run: npm run build && node dist/bench/semantic-cache.js --data ../shared/data/routerbench [--encoder use-lite] [--max-changed 2]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createRng } from '../src/core/random.js';
import { loadDataset } from '../src/data/load.js';
import { createEncoder } from '../src/encoders/registry.js';

const { values } = parseArgs({ options: { data: { type: 'string' }, encoder: { type: 'string' }, 'max-changed': { type: 'string' } } });
const DATA = resolve(values.data ?? '../shared/data/routerbench');
const SPEC = values.encoder ?? 'use-lite';
const THRESHOLDS = [0.8, 0.9, 0.95, 0.98, 0.99, 0.995];
const MAX_CHANGED = Number(values['max-changed'] ?? 2);

/** Words (lower case) that one text has and the other has not, counted with multiplicity. */
function changedWords(a: string, b: string): number {
  const count = new Map<string, number>();
  for (const w of a.toLowerCase().match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? []) count.set(w, (count.get(w) ?? 0) + 1);
  for (const w of b.toLowerCase().match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? []) count.set(w, (count.get(w) ?? 0) - 1);
  let n = 0;
  for (const v of count.values()) n += Math.abs(v);
  return n;
}

/** A user's retyping of a prompt: case, spacing, a dropped question mark, a typo, a greeting. */
function perturb(text: string, k: number): string {
  const words = text.split(' ');
  const w = Math.floor(words.length / 2);
  const typo = (s: string): string => (s.length > 3 ? s.slice(0, 1) + (s[2] as string) + (s[1] as string) + s.slice(3) : s);
  switch (k % 5) {
    case 0:
      return text.toLowerCase();
    case 1:
      return `  ${text.replace(/ /g, '  ')}\n`;
    case 2:
      return text.replace(/[?.!]\s*$/, '');
    case 3:
      return [...words.slice(0, w), typo(words[w] ?? ''), ...words.slice(w + 1)].join(' ');
    default:
      return `Hi! ${text}`;
  }
}

const matrix = loadDataset(DATA);
const [train, test] = [matrix.view('train'), matrix.view('test')];
const texts = (v: typeof train): string[] => Array.from({ length: v.size }, (_, i) => v.text(i));
const encoder = createEncoder(SPEC, { cacheDir: process.env['SWITCHYARD_CACHE_DIR'] ?? resolve(process.env['HOME'] ?? '.', '.cache/switchyard') });
const unit = (x: Float32Array): Float32Array => {
  let n = 0;
  for (const v of x) n += v * v;
  const s = n > 0 ? 1 / Math.sqrt(n) : 0;
  return x.map((v) => v * s);
};
const A = (await encoder.embed(texts(train))).map(unit);
const B = (await encoder.embed(texts(test))).map(unit);
const norm = (t: string): string => t.toLowerCase().replace(/\s+/g, ' ').trim();
const M = matrix.models.length;
const scoreGap = (i: number, j: number): number => {
  let s = 0;
  let c = 0;
  for (let m = 0; m < M; m++) {
    const [a, b] = [test.score(i, m), train.score(j, m)];
    if (!Number.isNaN(a) && !Number.isNaN(b)) (s += Math.abs(a - b)), c++;
  }
  return c > 0 ? s / c : Number.NaN;
};

const nearestOf = (b: Float32Array) => {
  let best = -1;
  let at = 0;
  A.forEach((a, j) => {
    let d = 0;
    for (let k = 0; k < a.length; k++) d += (a[k] as number) * (b[k] as number);
    if (d > best) (best = d), (at = j);
  });
  return { sim: best, at };
};
const nearest = B.map(nearestOf);
// recall: retyped copies of 300 train prompts should find their original
const sample = Array.from({ length: Math.min(300, train.size) }, (_, k) => Math.floor((k * train.size) / Math.min(300, train.size)));
const retyped = sample.map((j, k) => perturb(train.text(j), k));
const R = (await encoder.embed(retyped)).map(unit).map(nearestOf);
const rng = createRng(0);
let baseline = 0;
for (let k = 0; k < 2000; k++) baseline += scoreGap(rng.int(test.size), rng.int(train.size)) || 0;
baseline /= 2000;

console.log(`semantic cache on ${matrix.meta.name}: ${test.size} test prompts against ${train.size} train prompts, encoder ${SPEC}; random pairs differ by ${baseline.toFixed(3)} in mean |Δscore|`);
const pct = (n: number, d: number): string => (d > 0 ? `${((100 * n) / d).toFixed(1)}%` : '—').padStart(6);
console.log(`threshold | similarity alone: test hits, same question of hits, mean |Δscore| of hits, retyped found | with at most ${MAX_CHANGED} changed words: test hits, same question, retyped found`);
for (const t of THRESHOLDS) {
  const hits = nearest.map((n, i) => ({ ...n, i })).filter((n) => n.sim >= t);
  const same = hits.filter((h) => norm(test.text(h.i)) === norm(train.text(h.at))).length;
  const gap = hits.reduce((s, h) => s + (scoreGap(h.i, h.at) || 0), 0) / Math.max(1, hits.length);
  const found = R.filter((r, k) => r.sim >= t && r.at === sample[k]).length;
  const guarded = hits.filter((h) => changedWords(test.text(h.i), train.text(h.at)) <= MAX_CHANGED);
  const gSame = guarded.filter((h) => norm(test.text(h.i)) === norm(train.text(h.at))).length;
  const gFound = R.filter((r, k) => r.sim >= t && r.at === sample[k] && changedWords(retyped[k] as string, train.text(r.at)) <= MAX_CHANGED).length;
  console.log(`${t.toFixed(3).padStart(9)} | ${pct(hits.length, test.size)} ${pct(same, hits.length)} ${hits.length > 0 ? gap.toFixed(3) : '    —'} ${pct(found, R.length)} | ${pct(guarded.length, test.size)} ${pct(gSame, guarded.length)} ${pct(gFound, R.length)}`);
}
