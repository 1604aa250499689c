/**
 * A chaos run (manual, not in CI): two `switchyard serve` replicas on one redis-server, a
 * replay-upstream injecting faults (503, reset, cut stream, 429), and mixed openai-SDK load — chat
 * (JSON, streamed, cancelled), feedback, the Responses API, a model named directly with fallbacks, the
 * admin API — while Redis is stopped and restarted, one replica reloads (SIGHUP) and the other is
 * SIGKILLed and started again. Prints the outcomes by kind and status, each replica's in-flight,
 * waiting and pending-write counts at the end (all should be 0), the shared maxInFlight slots still
 * held in Redis (0 once the killed replica's leases end), and any error-level log line.
 * Run: npm run build && node dist/bench/chaos.js [--data ../shared/data/routellm_gsm8k] [--seconds 50] [--persist | --sentinel [--wait] | --cluster]
 * (--sentinel: Redis behind a sentinel, with a replica; the master is SIGKILLed and comes back as a replica;
 * --wait: with store.waitReplicas { replicas: 1, timeoutMs: 100 })
 * (needs redis-server and a router: switchyard train --data DIR --router linear:encoder=hashing --out out/gsm8k-linear.json)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import OpenAI from 'openai';
import { cancelledStream, readToEnd } from './chaos-streams.js';
import { freePort } from '../test/helpers/processes.js';

const { values } = parseArgs({ options: { data: { type: 'string' }, seconds: { type: 'string' }, router: { type: 'string' }, persist: { type: 'boolean' }, sentinel: { type: 'boolean' }, wait: { type: 'boolean' }, cluster: { type: 'boolean' } } });
const DATA = resolve(values.data ?? '../shared/data/routellm_gsm8k');
const SECONDS = Number(values.seconds ?? 50);
const ROUTER = resolve(values.router ?? 'out/gsm8k-linear.json');
if (!existsSync(ROUTER)) {
  console.error(`no router at ${ROUTER}: train one first (npm run switchyard -- train --data ../shared/data/routellm_gsm8k --router linear:encoder=hashing --out out/gsm8k-linear.json)`);
  process.exit(1);
}
const CLI = resolve('dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'sy-chaos-'));
const [RP, UP, G1, G2] = [await freePort(), await freePort(), await freePort(), await freePort()];
// --sentinel: Redis is a master (RP), a replica (RP2) and a sentinel (SP); the master is SIGKILLed instead of stopped, and comes back as a replica
const [RP2, SP] = [await freePort(), await freePort()];
// --cluster: Redis is a cluster of three masters (RP, RP2, SP; no replicas); the master on RP is stopped (its slots go down) and started again empty
const clusterNode = (port: number): string[] => ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir, '--save', '', '--appendonly', values.persist ? 'yes' : 'no', '--appendfilename', `aof-${port}`];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sha = (k: string): string => createHash('sha256').update(k).digest('hex');

const procs = new Map<string, { p: ChildProcess; log: string[] }>();
const start = (name: string, cmd: string, args: string[], env: Record<string, string> = {}): void => {
  const p = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  p.stdout?.on('data', (d: Buffer) => log.push(d.toString()));
  p.stderr?.on('data', (d: Buffer) => log.push(d.toString()));
  procs.set(name, { p, log });
};
const kill = (name: string, signal: NodeJS.Signals): void => void procs.get(name)?.p.kill(signal);
// --persist: Redis keeps its data across its restart (append-only file), so no record should go missing
const startRedis = (): void => start('redis', 'redis-server', values.cluster ? clusterNode(RP) : ['--port', String(RP), '--save', '', '--appendonly', values.persist ? 'yes' : 'no', '--dir', dir]);
const startHa = (): void => {
  start('redis-replica', 'redis-server', ['--port', String(RP2), '--save', '', '--dir', join(dir, 'replica'), '--replicaof', '127.0.0.1', String(RP)]);
  writeFileSync(join(dir, 'sentinel.conf'), `port ${SP}\nbind 127.0.0.1\ndir ${dir}\nsentinel monitor main 127.0.0.1 ${RP} 1\nsentinel down-after-milliseconds main 1000\nsentinel failover-timeout main 5000\nsentinel known-replica main 127.0.0.1 ${RP2}\n`);
  start('sentinel', 'redis-server', [join(dir, 'sentinel.conf'), '--sentinel']);
};
mkdirSync(join(dir, 'replica'));

const matrix = readFileSync(join(DATA, 'matrix.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { split: string; prompt: string; outcomes: Record<string, unknown> });
const prompts = matrix.filter((r) => r.split === 'test').map((r) => r.prompt);
const [best, cheap] = Object.keys(matrix[0]?.outcomes ?? {}) as [string, string];
writeFileSync(
  join(dir, 'sy.yaml'),
  `server: { port: "\${PORT}", drainMs: 2000 }
timeouts: { connectMs: 1000, firstByteMs: 3000, totalMs: 10000 }
store: { backend: redis, url: "redis://127.0.0.1:${RP}", syncMs: 200, outbox: "${dir}/outbox-\${PORT}.jsonl"${values.sentinel ? `, sentinel: { name: main, hosts: ["127.0.0.1:${SP}"] }` : ''}${values.wait ? ', waitReplicas: { replicas: 1, timeoutMs: 100 }' : ''}${values.cluster ? `, cluster: { nodes: ["127.0.0.1:${RP}", "127.0.0.1:${RP2}", "127.0.0.1:${SP}"] }` : ''} }
models:
  ${JSON.stringify(best)}: { baseURL: "http://127.0.0.1:${UP}/v1", inputPricePerMTok: 10, outputPricePerMTok: 30, requestsPerMinute: 3000, fallbacks: [${JSON.stringify(cheap)}] }
  ${JSON.stringify(cheap)}: { baseURL: "http://127.0.0.1:${UP}/v1", inputPricePerMTok: 0.6, outputPricePerMTok: 0.6, maxInFlight: 8, queueMs: 200 }
routes:
  auto: { router: ${JSON.stringify(ROUTER)}, lambda: 0.5 }
auth:
  keys: [{ name: app, sha256: "${sha('sk-app')}", dailyBudgetUsd: 1000 }]
  adminKeys: [{ name: ops, sha256: "${sha('sk-admin')}" }]
`,
);
const gateway = (name: string, port: number): void => start(name, process.execPath, [CLI, 'serve', '--config', join(dir, 'sy.yaml')], { PORT: String(port) });

startRedis();
if (values.sentinel) {
  await sleep(300);
  startHa();
}
if (values.cluster) {
  start('redis-2', 'redis-server', clusterNode(RP2));
  start('redis-3', 'redis-server', clusterNode(SP));
  await sleep(500);
  const made = spawnSync('redis-cli', ['--cluster', 'create', `127.0.0.1:${RP}`, `127.0.0.1:${RP2}`, `127.0.0.1:${SP}`, '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`redis-cli --cluster create: ${made.stdout}${made.stderr}`);
  await sleep(1500);
}
start('upstream', process.execPath, [CLI, 'replay-upstream', '--data', DATA, '--port', String(UP), '--latency-ms', '3', '--fault-rate', '0.1', '--faults', '503,reset,cut,429']);
await sleep(1500);
gateway('g1', G1);
gateway('g2', G2);
await sleep(5000);

const lost = new Set<string>();
const outcomes = new Map<string, number>();
const count = (k: string): void => void outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
const ids: string[] = [];
const up = new Map([[G1, true], [G2, true]]);
let stop = false;
const KINDS = ['json', 'stream', 'cancelled stream', 'feedback', 'responses', 'named with fallbacks', 'admin'] as const;

async function once(kind: (typeof KINDS)[number], port: number, prompt: string, k: number): Promise<void> {
  const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'sk-app', maxRetries: 0, timeout: 15_000 });
  const messages = [{ role: 'user' as const, content: prompt }];
  if (kind === 'json') {
    const { response } = await client.chat.completions.create({ model: 'auto', messages }).withResponse();
    ids.push(response.headers.get('x-request-id') ?? '');
  } else if (kind === 'stream') await readToEnd(client, messages);
  else if (kind === 'cancelled stream') await cancelledStream(client, messages, k);
  else if (kind === 'feedback') {
    const id = ids[k % Math.max(1, ids.length)];
    if (id) await client.post('/feedback', { body: { request_id: id, score: (k % 10) / 10 } }).catch((e: { status?: number }) => { if (e.status === 404) lost.add(id); throw e; });
  } else if (kind === 'responses') await client.responses.create({ model: 'auto', input: prompt });
  else if (kind === 'named with fallbacks') await client.chat.completions.create({ model: best, messages });
  else {
    const headers = { authorization: 'Bearer sk-admin', 'content-type': 'application/json' };
    const name = `chaos-${k}`;
    const made = await fetch(`http://127.0.0.1:${port}/v1/admin/keys`, { method: 'POST', headers, body: JSON.stringify({ name }) });
    if (made.status !== 201) throw Object.assign(new Error('admin'), { status: made.status, error: ((await made.json()) as { error?: unknown }).error });
    await fetch(`http://127.0.0.1:${port}/v1/admin/keys/${name}`, { method: 'DELETE', headers });
  }
}

const load = Promise.all(
  Array.from({ length: 12 }, async (_, w) => {
    for (let k = w; !stop; k += 12) {
      const port = k % 2 === 0 ? G1 : G2;
      if (!up.get(port)) {
        await sleep(20);
        continue;
      }
      const kind = KINDS[k % KINDS.length] as (typeof KINDS)[number];
      try {
        await once(kind, port, prompts[k % prompts.length] as string, k);
        count(`${kind}: ok`);
      } catch (e) {
        const err = e as { status?: number; error?: { code?: string }; code?: string; cause?: { code?: string }; name?: string };
        count(`${kind}: ${err.status ?? 'no answer'} ${err.error?.code ?? err.code ?? err.cause?.code ?? err.name ?? ''}`);
      }
    }
  }),
);
const t0 = Date.now();
const at = (s: number): Promise<void> => sleep(Math.max(0, t0 + (s / 50) * SECONDS * 1000 - Date.now()));
await at(10);
if (values.cluster) {
  process.stderr.write('one of the three cluster masters stopped (a third of the slots down)\n');
  kill('redis', 'SIGTERM');
  await at(20);
  process.stderr.write(`that master started again (${values.persist ? 'with its data' : 'empty'}; it keeps its slots)\n`);
  startRedis();
} else if (values.sentinel) {
  process.stderr.write('redis master SIGKILLed (the sentinel promotes its replica)\n');
  kill('redis', 'SIGKILL');
  await at(20);
  process.stderr.write('the old master started again (the sentinel makes it a replica of the new one)\n');
  startRedis();
} else {
  process.stderr.write('redis stopped\n');
  kill('redis', 'SIGTERM');
  await at(20);
  process.stderr.write(`redis started again (${values.persist ? 'with its data' : 'empty: no persistence'})\n`);
  startRedis();
}
await at(28);
process.stderr.write('g1 reloads (SIGHUP)\n');
kill('g1', 'SIGHUP');
await at(34);
process.stderr.write('g2 SIGKILLed\n');
up.set(G2, false);
kill('g2', 'SIGKILL');
await at(37);
gateway('g2', G2);
await sleep(4000);
process.stderr.write('g2 started again\n');
up.set(G2, true);
await at(50);
stop = true;
await load;
await sleep(1500);

for (const port of [G1, G2]) {
  try {
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const counts = metrics.split('\n').filter((l) => /^switchyard_(model_in_flight|model_waiting|store_pending_writes|store_unreplicated_writes_total)/.test(l));
    console.log(`replica :${port} at the end: ${counts.join(', ')}`);
  } catch (e) {
    console.log(`replica :${port} does not answer: ${(e as Error).message}`);
  }
}
// the cheap model's maxInFlight is shared through slots in Redis: none should be held once calls end (a killed replica's end with their lease)
const nodes = values.cluster ? [RP, RP2, SP].map((port) => new Redis({ port })) : [values.sentinel ? new Redis({ sentinels: [{ host: '127.0.0.1', port: SP }], name: 'main' }) : new Redis(`redis://127.0.0.1:${RP}`)];
const slotsHeld = async (): Promise<number> => {
  let n = 0;
  for (const node of nodes) for (const key of await node.keys('switchyard:slots:*')) n += await node.zcount(key, Date.now(), '+inf');
  return n;
};
console.log(`shared maxInFlight slots held in Redis at the end: ${await slotsHeld()}`);
await sleep(31_000); // one lease: the slots of the replica killed mid-call are free by now
console.log(`… and one lease (30 s) later: ${await slotsHeld()}`);
// feedback answered 404: is the decision in Redis now (its record was still queued at its replica then), or lost?
if (lost.size > 0) {
  const c = values.cluster ? new Cluster([{ host: '127.0.0.1', port: RP }]) : (nodes[0] as Redis);
  const there = await Promise.all([...lost].map((id) => c.exists(`switchyard:decision:${id}`)));
  const made = [...lost].map((id) => (parseInt(id.slice(4, 16), 16) - t0) / 1000).sort((a, b) => a - b);
  console.log(`feedback answered 404 on ${lost.size} requests (made ${made[0]?.toFixed(1)}–${made[made.length - 1]?.toFixed(1)} s into the run); their decisions in Redis now: ${there.filter((x) => x === 1).length}`);
  if (values.cluster) c.disconnect();
}
for (const node of nodes) node.disconnect();
console.log([...outcomes].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `  ${k.padEnd(44)} ${v}`).join('\n'));
for (const [name, { log }] of procs) {
  // what the store said when it failed, by message (the first 60 characters, digits folded)
  const errs = new Map<string, number>();
  for (const line of log.join('').split('\n').filter((l) => l.includes('store operation failed'))) {
    const m = (/"err":"([^"]*)"/.exec(line)?.[1] ?? '?').replace(/\d+/g, 'N').slice(0, 60);
    errs.set(m, (errs.get(m) ?? 0) + 1);
  }
  if (errs.size > 0) console.log(`${name} store errors: ${[...errs].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([m, n]) => `${n}× ${m}`).join('; ')}`);
}
for (const [name, { p, log }] of procs) {
  if (p.exitCode !== null && p.exitCode !== 0) console.log(`${name} exited with ${p.exitCode}: ${log.join('').slice(-400)}`);
  const bad = log.join('').split('\n').filter((l) => /"level":(50|60)|Unhandled|uncaught|TypeError|ReferenceError/.test(l));
  if (bad.length > 0) console.log(`${name}: ${bad.length} error lines, e.g. ${bad[0]?.slice(0, 300)}`);
  p.kill('SIGTERM');
}
await sleep(1000);
process.exit(0);
