/**
 * CPU time per request (from /proc, Linux) of the pass-through proxy and the gateway — routed by a
 * learned router, and with a model named directly (no routing) — at concurrency 1 and 32. Less
 * sensitive to a noisy machine than latency percentiles: it says what each request costs the process.
 * Run: npm run build && node dist/bench/gateway-cpu.js [--requests N] [--router linear:encoder=hashing]
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { drive, startTrio } from './gateway-trio.js';

const { values } = parseArgs({ options: { requests: { type: 'string' }, router: { type: 'string' }, data: { type: 'string' } } });
const N = Number(values.requests ?? 4000);
const ROUTER = values.router ?? 'linear:encoder=hashing';
const DATA = resolve(values.data ?? '../shared/data/routellm_gsm8k');
const [UP, PROXY, GW] = [18290, 18291, 18292];

const trio = await startTrio(DATA, ROUTER, { upstream: UP, proxy: PROXY, gateway: GW });
const { matrix } = trio;
const test = matrix.view('test');
const [gw, px] = [trio.gateway, trio.proxy];

/** utime + stime of a process, in ms (clock ticks of 10 ms). */
const cpuMs = (pid: number): number => {
  const f = (readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1] as string).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
};
const texts = Array.from({ length: test.size }, (_, i) => test.text(i));
const MODEL = matrix.models[0]?.id as string;

async function run(port: number, model: string, pid: number, c: number): Promise<string> {
  const c0 = cpuMs(pid);
  const secs = (await drive(port, model, texts, N, c)) / 1000;
  return `${((1000 * (cpuMs(pid) - c0)) / N).toFixed(0).padStart(4)} µs CPU a request, ${(N / secs).toFixed(0).padStart(5)} req/s`;
}

try {
  console.log(`CPU per request: ${N} requests per line, routellm_gsm8k test prompts, router ${ROUTER}; the second round counts (the first warms up)`);
  for (let round = 0; round < 2; round++) {
    for (const c of [1, 32]) {
      const lines = [`  proxy                     ${await run(PROXY, MODEL, px.pid as number, c)}`, `  gateway, routed           ${await run(GW, 'auto', gw.pid as number, c)}`, `  gateway, model named      ${await run(GW, MODEL, gw.pid as number, c)}`];
      if (round === 1) console.log(`concurrency ${c}:\n${lines.join('\n')}`);
    }
  }
} finally {
  trio.stop();
}
