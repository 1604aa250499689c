/**
 * A paired A/B of two gateway builds (or one build twice, to see the noise): two gateway processes
 * serving the same router over the same replay-upstream, alternating batches of routed requests at a
 * concurrency, CPU per request from /proc (Linux) and latency percentiles. On a machine whose speed drifts, only alternating
 * batches compare fairly; run it twice with the builds swapped.
 * Run: npm run build && node dist/bench/gateway-ab.js --a OLD/dist/src/cli/main.js [--b dist/src/cli/main.js]
 *      [--batch 3000] [--rounds 8] [--concurrency 32] [--router linear:encoder=hashing] [--named]
 * (an old build: git worktree add /tmp/old REV && cd /tmp/old && ln -s "$OLDPWD/node_modules" && npx tsc -p tsconfig.build.json)
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadDataset } from '../src/data/load.js';
import { createRouter } from '../src/routers/registry.js';
import { drive, waitFor } from './gateway-trio.js';

const { values } = parseArgs({
  options: { a: { type: 'string' }, b: { type: 'string' }, batch: { type: 'string' }, rounds: { type: 'string' }, concurrency: { type: 'string' }, router: { type: 'string' }, data: { type: 'string' }, named: { type: 'boolean' } },
});
const CLI = resolve('dist/src/cli/main.js');
const [CLI_A, CLI_B] = [resolve(values.a ?? CLI), resolve(values.b ?? CLI)];
const DATA = resolve(values.data ?? '../shared/data/routellm_gsm8k');
const [BATCH, ROUNDS, C] = [Number(values.batch ?? 3000), Number(values.rounds ?? 8), Number(values.concurrency ?? 32)];
const [UP, PA, PB] = [18490, 18491, 18492];

const matrix = loadDataset(DATA);
const dir = mkdtempSync(join(tmpdir(), 'sy-ab-'));
const router = createRouter(values.router ?? 'linear:encoder=hashing');
await router.fit(matrix.view('train'), { seed: 0 });
writeFileSync(join(dir, 'router.json'), JSON.stringify(router.toArtifact()));
const models = matrix.models.map((m) => `  ${JSON.stringify(m.id)}: { baseURL: "http://127.0.0.1:${UP}/v1", inputPricePerMTok: ${m.inputPricePerMTok}, outputPricePerMTok: ${m.outputPricePerMTok} }`).join('\n');
const config = (port: number): string => {
  const f = join(dir, `sy-${port}.yaml`);
  writeFileSync(f, `server: { port: ${port} }\nstore: { path: ":memory:" }\nmodels:\n${models}\nroutes:\n  auto: { router: router.json, lambda: 1 }\n`);
  return f;
};
const start = (args: string[]) => spawn(process.execPath, args, { stdio: 'ignore' });
const procs = [start([CLI, 'replay-upstream', '--data', DATA, '--port', String(UP)]), start([CLI_A, 'serve', '--config', config(PA)]), start([CLI_B, 'serve', '--config', config(PB)])];
const [, A, B] = procs as [unknown, ReturnType<typeof start>, ReturnType<typeof start>];
try {
  await Promise.all([UP, PA, PB].map((p) => waitFor(`http://127.0.0.1:${p}/v1/models`)));
  const cpuMs = (pid: number): number => {
    const f = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] as string).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  };
  const test = matrix.view('test');
  const texts = Array.from({ length: test.size }, (_, i) => test.text(i));
  const model = values.named ? (matrix.models[0]?.id as string) : 'auto';
  const latencies = { A: [] as number[], B: [] as number[] };
  const batch = async (port: number, pid: number, into?: number[]): Promise<{ cpu: number; ms: number }> => {
    const c0 = cpuMs(pid);
    const ms = await drive(port, model, texts, BATCH, C, into);
    return { cpu: cpuMs(pid) - c0, ms };
  };
  await batch(PA, A.pid as number); // warm-up
  await batch(PB, B.pid as number);
  const acc = { A: { cpu: 0, ms: 0 }, B: { cpu: 0, ms: 0 } };
  for (let k = 0; k < ROUNDS; k++) {
    for (const w of k % 2 ? (['B', 'A'] as const) : (['A', 'B'] as const)) {
      const x = await batch(w === 'A' ? PA : PB, (w === 'A' ? A : B).pid as number, latencies[w]);
      acc[w].cpu += x.cpu;
      acc[w].ms += x.ms;
    }
  }
  const n = BATCH * ROUNDS;
  console.log(`paired A/B: ${ROUNDS} alternating batches of ${BATCH} ${model === 'auto' ? 'routed' : 'model-named'} requests at concurrency ${C}`);
  const at = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] as number;
  for (const [w, cli] of [['A', CLI_A], ['B', CLI_B]] as const) {
    console.log(`  ${w} ${cli}: ${((1000 * acc[w].cpu) / n).toFixed(1)} µs CPU a request, ${((1000 * n) / acc[w].ms).toFixed(0)} req/s, latency p50 ${at(latencies[w], 0.5).toFixed(3)} ms, p99 ${at(latencies[w], 0.99).toFixed(3)} ms`);
  }
} finally {
  for (const p of procs) p.kill('SIGINT');
}
