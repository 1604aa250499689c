/**
 * What the edge swarm's protocol costs in latency, apart from the models: N nodes in one process on
 * localhost, each with one model of a dataset served by an in-process replay-upstream (answers come
 * back at once), seeds in a line (node i knows node i+1), requests one at a time to node 0. Compared:
 * node 0's own model alone, and the swarm (gossip out, proposals back, merged by a response scorer or
 * first-come) — with every node proposing, and routed (a ridge router asks 2 models).
 *
 * Run: npm run build && node dist/bench/edge-bench.js [--data DIR] [--nodes 4] [--requests 300]
 */
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadDataset } from '../src/data/load.js';
import { modelStats, rankByCost } from '../src/data/stats.js';
import { parseEdgeConfig } from '../src/edge/config.js';
import { EdgeNode } from '../src/edge/node.js';
import { readAnswers } from '../src/eval/mixture-scores.js';
import { ReplayData } from '../src/gateway/replay-upstream/replay-data.js';
import { ReplayUpstream } from '../src/gateway/replay-upstream/server.js';
import { ResponseScorer } from '../src/routers/post-generation/response-scorer.js';
import { createRouter } from '../src/routers/registry.js';

const { values } = parseArgs({ options: { data: { type: 'string' }, nodes: { type: 'string' }, requests: { type: 'string' } } });
const matrix = loadDataset(values.data ?? '../shared/data/routerbench');
const N = Number(values.nodes ?? 4);
const R = Number(values.requests ?? 300);
const train = matrix.view('train');
const test = matrix.view('test');
const models = rankByCost(modelStats(train)).slice(0, N);
const upstream = new ReplayUpstream(await ReplayData.load(matrix));
const upURL = await upstream.listen();
const scorer = await ResponseScorer.fit((await readAnswers(train)).fit, { seed: 0 });
const router = createRouter('linear:encoder=hashing');
await router.fit(train, { seed: 0 });
const silent = pino({ level: 'silent' });

async function swarm(extra: Record<string, unknown>, deps: Record<string, unknown>): Promise<EdgeNode[]> {
  const nodes: EdgeNode[] = [];
  for (let i = N - 1; i >= 0; i--) {
    const peers = nodes.length > 0 ? [(nodes[0] as EdgeNode).url] : [];
    const config = parseEdgeConfig({ node: { id: `n${i}`, port: 0 }, model: { id: models[i], baseURL: upURL }, peers, gossip: { fanout: 2, ttl: N, windowMs: 5000, maxProposals: N }, ...extra });
    const node = await EdgeNode.create(config, { logger: silent, ...deps });
    await node.listen();
    nodes.unshift(node);
  }
  return nodes;
}

function quantile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
}

async function time(label: string, url: string, model: string): Promise<void> {
  const ask = async (i: number): Promise<number> => {
    const t = performance.now();
    const r = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: test.text(i % test.size) }] }) });
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error(`${label}: status ${r.status}`);
    return performance.now() - t;
  };
  for (let i = 0; i < 30; i++) await ask(i); // warm-up
  const ms: number[] = [];
  for (let i = 0; i < R; i++) ms.push(await ask(i));
  console.log(`  ${label.padEnd(52)} p50 ${quantile(ms, 0.5).toFixed(2)} ms  p99 ${quantile(ms, 0.99).toFixed(2)} ms`);
}

console.log(`edge swarm on localhost: ${N} nodes (${models.join(', ')}), seeds in a line, ${R} ${matrix.meta.name} test prompts one at a time to node 0; replay-upstream answers at once`);
for (const [label, extra, deps] of [
  ['scorer', { aggregate: { kind: 'scorer', scorer: 'in-memory' } }, { scorer }],
  ['first', { aggregate: { kind: 'first' } }, {}],
  ['scorer, routed (k = 2)', { aggregate: { kind: 'scorer', scorer: 'in-memory' }, routing: { router: 'in-memory', lambda: 0.5, k: 2, models } }, { scorer, router }],
] as const) {
  const nodes = await swarm(extra, deps);
  const url = (nodes[0] as EdgeNode).url;
  if (label === 'scorer') await time(`node 0's own model alone (${models[0]})`, url, models[0] as string);
  await time(`swarm of ${N}, merged by ${label}`, url, 'swarm');
  for (const n of nodes) await n.close();
}
await upstream.close();
