/**
 * Rolling restarts under load (manual, not in CI): `switchyard serve` supervising N workers is rolled
 * (SIGUSR2) again and again while clients send chat requests, each on a new connection, with a 5 s
 * limit for the answer's headers. Counts answers, hung requests (no headers in 5 s) and errors.
 * A hung request is one node:cluster handed to a worker that exited before reading the hand-over:
 * the connection stays open in the supervisor, unanswered (worker-link.ts, FAREWELL_WAIT_MS).
 * Run: npm run build && node dist/bench/workers-roll.js [--rolls 20] [--clients 8] [--workers 2] [--data ../shared/data/routellm_gsm8k]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { loadDataset } from '../src/data/load.js';
import { ReplayData } from '../src/gateway/replay-upstream/replay-data.js';
import { ReplayUpstream } from '../src/gateway/replay-upstream/server.js';
import { freePort } from '../test/helpers/processes.js';

const { values } = parseArgs({ options: { rolls: { type: 'string' }, clients: { type: 'string' }, workers: { type: 'string' }, data: { type: 'string' } } });
const [ROLLS, CLIENTS, WORKERS] = [Number(values.rolls ?? 20), Number(values.clients ?? 8), Number(values.workers ?? 2)];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const data = await ReplayData.load(loadDataset(resolve(values.data ?? '../shared/data/routellm_gsm8k')));
const upstream = new ReplayUpstream(data);
const upstreamURL = await upstream.listen();
const model = data.matrix.models[0]?.id as string;
const prompt = data.matrix.cols.prompts[0] as string;
const dir = mkdtempSync(join(tmpdir(), 'sy-roll-'));
const port = await freePort();
writeFileSync(join(dir, 'sy.yaml'), `server: { port: ${port}, workers: ${WORKERS}, drainMs: 2000 }\nstore: { path: ${join(dir, 'sy.db')} }\nmodels:\n  ${JSON.stringify(model)}: { baseURL: "${upstreamURL}", inputPricePerMTok: 1, outputPricePerMTok: 2 }\n`);
const supervisor = spawn(process.execPath, [resolve('dist/src/cli/main.js'), 'serve', '--config', join(dir, 'sy.yaml')], { stdio: ['ignore', 'ignore', 'pipe'] });
let said = '';
supervisor.stderr.on('data', (d: Buffer) => (said += d.toString()));
while (!/listening on/.test(said)) await sleep(50);

let stop = false;
const counts = { answered: 0, hung: 0, errors: 0 };
const body = JSON.stringify({ model, messages: [{ role: 'user', content: prompt }] });
const client = async (): Promise<void> => {
  while (!stop) {
    const agent = new Agent();
    try {
      const r = await request(`http://127.0.0.1:${port}/v1/chat/completions`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, dispatcher: agent, headersTimeout: 5000, bodyTimeout: 5000 });
      await r.body.text();
      if (r.statusCode === 200) counts.answered++;
      else counts.errors++;
    } catch (e) {
      if ((e as { code?: string }).code === 'UND_ERR_HEADERS_TIMEOUT') counts.hung++;
      else counts.errors++;
    } finally {
      void agent.destroy().catch(() => undefined);
    }
  }
};
const load = Array.from({ length: CLIENTS }, client);
const done = (): number => (said.match(/rolling restart done/g) ?? []).length;
const t0 = Date.now();
for (let k = 0; k < ROLLS; k++) {
  supervisor.kill('SIGUSR2');
  while (done() === k) await sleep(50);
}
await sleep(6000); // a request handed over in the last roll has its 5 s to show it hung
stop = true;
await Promise.all(load);
console.log(`${WORKERS} workers, ${ROLLS} rolling restarts in ${((Date.now() - t0) / 1000).toFixed(0)} s, ${CLIENTS} clients (a new connection per request): ${counts.answered} answered, ${counts.hung} hung (no headers in 5 s), ${counts.errors} errors`);
const exited = new Promise((r) => supervisor.once('exit', r));
supervisor.kill('SIGTERM');
await exited;
await upstream.close();
process.exit(0);
