/**
 * A chaos run of `server.workers` (manual, not in CI): `switchyard serve` supervising N gateway
 * processes on one SQLite file, a replay-upstream injecting faults (503, reset, cut stream, 429), and
 * mixed openai-SDK load (chat JSON, streamed, cancelled; a learning route and its feedback; the
 * Responses API, each response read back on another connection) while a worker is SIGKILLed every few seconds and the
 * supervisor reloads (SIGHUP, at 18 s) and rolls its workers (SIGUSR2, at 30 s). At the end: SIGTERM, the supervisor's exit code, the outcomes by kind
 * and status, whether every answered request's decision is in the file (it is committed before the
 * answer), the restarts, and any error-level log line.
 * Run: npm run build && node dist/bench/workers-chaos.js [--data ../shared/data/routellm_gsm8k] [--seconds 40] [--workers 2]
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import OpenAI from 'openai';
import { cancelledStream, readToEnd } from './chaos-streams.js';
import { Agent } from 'undici';
import { loadDataset } from '../src/data/load.js';
import { createRouter } from '../src/routers/registry.js';
import { SqliteStore } from '../src/gateway/store/sqlite-store.js';
import { freePort } from '../test/helpers/processes.js';

const { values } = parseArgs({ options: { data: { type: 'string' }, seconds: { type: 'string' }, workers: { type: 'string' } } });
const DATA = resolve(values.data ?? '../shared/data/routellm_gsm8k');
const SECONDS = Number(values.seconds ?? 40);
const WORKERS = Number(values.workers ?? 2);
const CLI = resolve('dist/src/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'sy-workers-chaos-'));
const [UP, GW] = [await freePort(), await freePort()];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const sha = (k: string): string => createHash('sha256').update(k).digest('hex');

const matrix = loadDataset(DATA);
for (const [name, spec] of [['linear.json', 'linear:encoder=hashing'], ['ucb1.json', 'ucb1:bootstrap=false']] as const) {
  const router = createRouter(spec);
  await router.fit(matrix.view('train'), { seed: 0 });
  writeFileSync(join(dir, name), JSON.stringify(router.toArtifact()));
}
const test = matrix.view('test');
const prompts = Array.from({ length: test.size }, (_, i) => test.text(i));
const models = matrix.models.map((m) => `  ${JSON.stringify(m.id)}: { baseURL: "http://127.0.0.1:${UP}/v1", inputPricePerMTok: ${m.inputPricePerMTok}, outputPricePerMTok: ${m.outputPricePerMTok} }`).join('\n');
writeFileSync(
  join(dir, 'sy.yaml'),
  `server: { port: ${GW}, workers: ${WORKERS}, drainMs: 2000 }
timeouts: { connectMs: 1000, firstByteMs: 3000, totalMs: 10000 }
store: { path: ${JSON.stringify(join(dir, 'sy.db'))}, syncMs: 200, outbox: ${JSON.stringify(join(dir, 'outbox.jsonl'))} }
auth:
  keys: [{ name: app, sha256: "${sha('sk-app')}", dailyBudgetUsd: 1000, requestsPerMinute: 100000 }]
models:
${models}
routes:
  auto: { router: linear.json, lambda: 0.5 }
  learn: { router: ucb1.json, lambda: 0 }
`,
);

const logs = new Map<string, string[]>();
const start = (name: string, args: string[]) => {
  const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  p.stdout.on('data', (d: Buffer) => log.push(d.toString()));
  p.stderr.on('data', (d: Buffer) => log.push(d.toString()));
  logs.set(name, log);
  return p;
};
const upstream = start('upstream', ['replay-upstream', '--data', DATA, '--port', String(UP), '--latency-ms', '3', '--fault-rate', '0.1', '--faults', '503,reset,cut,429']);
const supervisor = start('gateway', ['serve', '--config', join(dir, 'sy.yaml')]);
const output = (): string => (logs.get('gateway') ?? []).join('');
for (let k = 0; k < 300 && !/listening on http/.test(output()); k++) await sleep(100);
if (!/listening on http/.test(output())) throw new Error(`the gateway did not start:\n${output()}`);

const outcomes = new Map<string, number>();
const count = (k: string): void => void outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
const answered = new Set<string>();
const learned: string[] = [];
let stop = false;
const KINDS = ['json', 'stream', 'cancelled stream', 'learn', 'feedback', 'responses'] as const;
const client = new OpenAI({ baseURL: `http://127.0.0.1:${GW}/v1`, apiKey: 'sk-app', maxRetries: 0, timeout: 15_000 });

async function once(kind: (typeof KINDS)[number], prompt: string, k: number): Promise<void> {
  const messages = [{ role: 'user' as const, content: prompt }];
  if (kind === 'json' || kind === 'learn') {
    const { response } = await client.chat.completions.create({ model: kind === 'json' ? 'auto' : 'learn', messages }).withResponse();
    const id = response.headers.get('x-request-id') ?? '';
    answered.add(id);
    if (kind === 'learn') learned.push(id);
  } else if (kind === 'stream') await readToEnd(client, messages);
  else if (kind === 'cancelled stream') await cancelledStream(client, messages, k);
  else if (kind === 'feedback') {
    const id = learned[k % Math.max(1, learned.length)];
    if (id) await client.post('/feedback', { body: { request_id: id, score: (k % 10) / 10 } });
    else await sleep(20); // nothing learned yet (a loop that never waits would hold the event loop)
  } else {
    // a stored response, read back on a connection of its own (often another worker's)
    const first = await client.responses.create({ model: 'auto', input: prompt });
    const dispatcher = new Agent();
    const other = new OpenAI({ baseURL: client.baseURL, apiKey: 'sk-app', maxRetries: 0, timeout: 15_000, fetchOptions: { dispatcher } as never });
    const back = await other.responses.retrieve(first.id).finally(() => dispatcher.close());
    if (back.id !== first.id) throw Object.assign(new Error('a stored response read back as another'), { status: 0 });
  }
}

const load = Promise.all(
  Array.from({ length: 12 }, async (_, w) => {
    for (let k = w; !stop; k += 12) {
      const kind = KINDS[k % KINDS.length] as (typeof KINDS)[number];
      try {
        await once(kind, prompts[k % prompts.length] as string, k);
        count(`${kind}: ok`);
      } catch (e) {
        const err = e as { status?: number; error?: { code?: string }; code?: string; cause?: { code?: string }; name?: string };
        count(`${kind}: ${err.status ?? 'no answer'} ${err.error?.code ?? err.code ?? err.cause?.code ?? err.name ?? ''}`);
      }
    }
  }),
);

const t0 = Date.now();
let kills = 0;
let hups = 0;
let rolls = 0;
for (let s = 6; s < SECONDS - 4; s += 6) {
  await sleep(Math.max(0, t0 + s * 1000 - Date.now()));
  if (s === 18) {
    process.stderr.write('supervisor: SIGHUP (every worker reloads)\n');
    supervisor.kill('SIGHUP');
    hups++;
    continue;
  }
  if (s === 30) {
    process.stderr.write('supervisor: SIGUSR2 (the workers replaced one at a time)\n');
    supervisor.kill('SIGUSR2');
    rolls++;
    continue;
  }
  const pids = [...output().matchAll(/worker (\d+) \(pid (\d+)\) listening/g)].map((m) => ({ n: m[1], pid: Number(m[2]) })).filter(({ pid }) => !output().includes(`(pid ${pid}) was killed`) && !output().includes(`(pid ${pid}) replaced`));
  const victim = pids[kills % Math.max(1, pids.length)];
  if (victim) {
    process.stderr.write(`worker ${victim.n} (pid ${victim.pid}) SIGKILLed\n`);
    process.kill(victim.pid, 'SIGKILL');
    kills++;
  }
}
await sleep(Math.max(0, t0 + SECONDS * 1000 - Date.now()));
stop = true;
await load;
const metrics = await (await fetch(`http://127.0.0.1:${GW}/metrics`)).text();
const line = (name: string): string => metrics.split('\n').filter((l) => l.startsWith(name)).join(', ');
const exited = new Promise<number | null>((r) => supervisor.once('exit', (code) => r(code)));
supervisor.kill('SIGTERM');
const code = await exited;
upstream.kill('SIGTERM');

const store = new SqliteStore(join(dir, 'sy.db'));
const missing: string[] = [];
for (const id of answered) if (!(await store.getDecision(id))) missing.push(id);
await store.close();
console.log(`${WORKERS} workers, ${SECONDS} s, ${kills} SIGKILLs, ${hups} SIGHUP (at 18 s), ${rolls} SIGUSR2 (at 30 s; rolls done: ${(output().match(/rolling restart done/g) ?? []).length}); supervisor exit code ${code}`);
console.log(`at the end: ${line('switchyard_workers ')}; ${line('switchyard_worker_restarts_total ')}; ${line('switchyard_model_in_flight')}`);
console.log(`answered chat requests (JSON, learn): ${answered.size}; their decisions missing from the SQLite file: ${missing.length}`);
console.log([...outcomes].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `  ${k.padEnd(44)} ${v}`).join('\n'));
for (const [name, log] of logs) {
  const bad = log.join('').split('\n').filter((l) => /"level":(50|60)|Unhandled|uncaught|TypeError|ReferenceError|SqliteError|internal error/.test(l));
  if (bad.length > 0) console.log(`${name}: ${bad.length} error lines, e.g. ${bad[0]?.slice(0, 300)}`);
}
const reloads = (output().match(/switchyard: reloaded /g) ?? []).length;
console.log(`reloads logged: ${reloads}`);
process.exit(0);
