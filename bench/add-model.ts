/**
 * Adding a model to a trained cross-attention router (docs/cross-attention.md): for each held-back
 * model, fit the router on train without it, add it from its recorded scores on 50 train prompts
 * (warm start from the best-correlated models, and cold for comparison), and compare the share of
 * test prompts it receives and the test AIQ with the router trained on every model.
 * Run: npm run build && node dist/bench/add-model.js --data ../shared/data/routerbench [--hold a,b] [--labelled 50]
 */
import { parseArgs } from 'node:util';
import { createRng, shuffleInPlace } from '../src/core/random.js';
import { loadDataset } from '../src/data/load.js';
import { withoutModels } from '../src/data/model-subset.js';
import { evaluate, replayPrompts } from '../src/eval/replay.js';
import { CrossAttentionRouter } from '../src/routers/cross-attention/cross-attention.js';
import type { Router } from '../src/spec/router.js';

const { values } = parseArgs({ options: { data: { type: 'string' }, hold: { type: 'string' }, labelled: { type: 'string' }, spec: { type: 'string' }, epochs: { type: 'string' } } });
const matrix = loadDataset(values.data ?? '../shared/data/routerbench');
const train = matrix.view('train');
const test = matrix.view('test');
const prompts = replayPrompts(test);
const LABELLED = Number(values.labelled ?? 50);
const hold = (values.hold ?? 'gpt-4-1106-preview,mistralai/mistral-7b-chat,claude-instant-v1').split(',');
const LAMBDAS = [0, 0.25, 0.5, 0.75];

async function shares(router: Router, id: string): Promise<string> {
  const out: string[] = [];
  for (const lambda of LAMBDAS) {
    const ds = await router.route(prompts, { lambda, detail: 'choice' });
    out.push(`${((100 * ds.filter((d) => d.models[0] === id).length) / ds.length).toFixed(1).padStart(5)}%`);
  }
  return out.join(' ');
}

async function aiq(router: Router): Promise<string> {
  const res = await evaluate(test, train, [{ name: 'r', router }], { bootstrap: 0 });
  return (res.routers[0]?.aiq ?? Number.NaN).toFixed(3);
}

const full = new CrossAttentionRouter();
await full.fit(train, { seed: 0 });
console.log(`${matrix.meta.name}: share of test prompts routed to the model at λ = ${LAMBDAS.join(' / ')}, and test AIQ; ${LABELLED} labelled train prompts`);
console.log(`full router (every model): AIQ ${await aiq(full)}`);
for (const id of hold) {
  const m = matrix.modelIndex(id);
  if (m === undefined) throw new Error(`unknown model ${id}`);
  const picked = shuffleInPlace(Array.from({ length: train.size }, (_, i) => i), createRng(5)).filter((i) => !Number.isNaN(train.score(i, m))).slice(0, LABELLED);
  const labelled = picked.map((i) => ({ prompt: { text: train.text(i) }, score: train.score(i, m), outputTokens: train.outputTokens(i, m) }));
  const rows: string[] = [`  full          ${await shares(full, id)}`];
  for (const warmStart of [true, false]) {
    const r = new CrossAttentionRouter();
    await r.fit(withoutModels(train, [id]), { seed: 0 });
    const t = performance.now();
    const rep = await r.addModel(matrix.models[m]!, labelled, { warmStart, ...(values.epochs ? { epochs: Number(values.epochs) } : {}) });
    const ms = performance.now() - t;
    rows.push(`  ${warmStart ? 'added (warm)' : 'added (cold)'}  ${await shares(r, id)}   AIQ ${await aiq(r)}; add took ${ms.toFixed(0)} ms${warmStart ? `; neighbours ${rep.neighbours.map((n) => `${n.model} (${n.correlation.toFixed(2)})`).join(', ')}` : ''}`);
  }
  console.log(`${id}:\n${rows.join('\n')}`);
}
