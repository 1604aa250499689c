import { invalidArgument } from '../../core/errors.js';
import { modelStats, rankByCost } from '../../data/stats.js';
import { openDataset } from '../../data/open.js';
import { readEdgeConfig } from '../../edge/config.js';
import { EdgeNode, topModels } from '../../edge/node.js';
import { evaluateSwarm, type SwarmOptions } from '../../edge/swarm-eval.js';
import { replayPrompts } from '../../eval/replay.js';
import { createRouter } from '../../routers/registry.js';
import { hasResponses, responseScorerColumns } from '../../eval/mixture-scores.js';
import { numberFlag, parse, requireString, writeOutput } from '../args.js';

const USAGE = `usage: switchyard edge serve --config edge.yaml
       switchyard edge eval --data DIR [--models a,b,c] [--drop 0,0.2,0.5] [--router SPEC --k K --lambda L] [--seed N] [--json FILE]

serve: one node of a distributed mixture-of-agents — its local model (any OpenAI-compatible server),
seed peers, gossip. Any node answers POST /v1/chat/completions with model "swarm" (the merged answer
of every node that proposed within the window) or its own model's name. SIGHUP re-reads node.tls's
files (renewed certificates, a new revocation list). See docs/edge.md.

eval: replays a swarm on a dataset's test split from the recorded answers: each node one model
(default: the dataset's four cheapest on train), proposals lost with each --drop probability, merged
by a response scorer fitted on train answers, first-come, or the best (a bound). With --router (e.g.
knn:encoder=hashing), also the swarm routed: the router, fitted on train, picks the K models (default
2) with the best utility at λ (default 0.5) for each prompt, and only those propose.`;

export async function runEdge(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'serve') return serve(rest);
  if (sub === 'eval') return evalSwarm(rest);
  if (sub === '--help' || sub === '-h') {
    process.stdout.write(USAGE + '\n');
    return;
  }
  throw invalidArgument(`edge: expected "serve" or "eval", got ${sub === undefined ? 'nothing' : JSON.stringify(sub)}\n\n${USAGE}`);
}

async function serve(argv: string[]): Promise<void> {
  const { values } = parse(argv, { config: { type: 'string' } }, USAGE);
  process.env['SWITCHYARD_CACHE_DIR'] = '';
  const config = readEdgeConfig(requireString(values, 'config', USAGE));
  const node = await EdgeNode.create(config);
  // handlers before the readiness line: a signal right after it must still stop the node gracefully
  const stop = (): void => void node.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // SIGHUP: node.tls's files read again (renewed certificates, a new revocation list) for new connections
  process.on('SIGHUP', () => {
    try {
      process.stderr.write(node.reloadTls() ? 'switchyard edge: TLS certificates and revocation list re-read\n' : 'switchyard edge: SIGHUP: nothing to reload (no node.tls)\n');
    } catch (e) {
      process.stderr.write(`switchyard edge: TLS reload failed, the running certificates stay: ${(e as Error).message}\n`);
    }
  });
  const url = await node.listen();
  process.stderr.write(`switchyard edge node "${config.node.id}" (${config.model.id}) listening on ${url}; seed peers: ${config.peers.join(', ') || 'none'}\n`);
}

async function evalSwarm(argv: string[]): Promise<void> {
  const { values } = parse(argv, { data: { type: 'string' }, models: { type: 'string' }, drop: { type: 'string' }, seed: { type: 'string' }, json: { type: 'string' }, router: { type: 'string' }, k: { type: 'string' }, lambda: { type: 'string' } }, USAGE);
  const data = requireString(values, 'data', USAGE);
  const seed = numberFlag(values, 'seed', 0, Number.isInteger, 'an integer');
  const drops = typeof values['drop'] === 'string' ? values['drop'].split(',').map(Number) : [0, 0.2, 0.5];
  if (drops.some((d) => !(d >= 0 && d < 1))) throw invalidArgument(`--drop: expected probabilities in [0, 1), got ${String(values['drop'])}`);
  if (typeof values['router'] !== 'string' && (values['k'] !== undefined || values['lambda'] !== undefined)) throw invalidArgument('--k and --lambda go with --router (which models each node asks)');
  const matrix = openDataset(data);
  const train = matrix.view('train');
  const test = matrix.view('test');
  if (!hasResponses(test)) throw invalidArgument(`--data: ${data} has no responses.jsonl.gz: a swarm's merge cannot be replayed without answer texts`);
  const models = typeof values['models'] === 'string' ? values['models'].split(',').filter((m) => m !== '') : rankByCost(modelStats(train)).slice(0, 4);
  const log = (line: string): void => void process.stderr.write(line + '\n');
  const scores = await responseScorerColumns(train, test, seed, log);
  let routed: Pick<SwarmOptions, 'wanted' | 'routedLabel'> = {};
  if (typeof values['router'] === 'string') {
    const k = numberFlag(values, 'k', 2, (v) => Number.isInteger(v) && v >= 1, 'an integer ≥ 1');
    const lambda = numberFlag(values, 'lambda', 0.5, (v) => v >= 0 && v <= 1, 'a number in [0, 1]');
    const router = createRouter(values['router']);
    await router.fit(train, { seed, log });
    const prompts = replayPrompts(test).map((p) => ({ ...p, candidates: (p.candidates ?? models).filter((m) => models.includes(m)) }));
    const decisions = await router.route(prompts, { lambda });
    const wanted = decisions.map((d) => topModels(d, k, models).map((m) => models.indexOf(m)));
    routed = { wanted: (i) => wanted[i] ?? [], routedLabel: `${values['router']} picks ${k} of ${models.length} at λ ${lambda}` };
  }
  const rows = evaluateSwarm(test, models, scores, { drops, seed, ...routed });
  const width = Math.max(...rows.map((r) => r.label.length));
  process.stdout.write(`${matrix.meta.name}: swarm of ${models.join(', ')} on ${test.size} test prompts\n\n${'answer'.padEnd(width)}  quality  proposals\n${'-'.repeat(width)}  -------  ---------\n`);
  for (const r of rows) process.stdout.write(`${r.label.padEnd(width)}  ${r.quality.toFixed(3).padStart(7)}  ${r.proposals.toFixed(2).padStart(9)}\n`);
  if (typeof values['json'] === 'string') writeOutput('json', values['json'], JSON.stringify({ dataset: matrix.meta.name, models, seed, rows }, null, 1) + '\n');
}
