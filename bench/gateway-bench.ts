/**
 * Gateway overhead: the gateway (learned router with the hashing encoder in the loop), a direct call
 * to the local upstream, and a minimal pass-through proxy — in the same run, alternating rounds — at
 * concurrency 1 and 32, JSON and streaming. Added latency = target − direct at the same percentile.
 * Each server is its own process; the load generator is this one (undici). By default the test
 * prompts repeat (after the warm-up the gateway's embedding and token-count caches hit); with --fresh
 * every request carries a prompt no server has seen (test, then train prompts; needs a large dataset,
 * e.g. --data ../shared/data/routerbench --requests 150).
 * Run: npm run build && node dist/bench/gateway-bench.js [--requests N] [--rounds R] [--router knn:encoder=hashing] [--data DIR] [--fresh]
 * GATEWAY_WORKERS=N runs the gateway as N worker processes (server.workers) on one SQLite file.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { startTrio } from './gateway-trio.js';

const { values } = parseArgs({ options: { requests: { type: 'string' }, rounds: { type: 'string' }, data: { type: 'string' }, router: { type: 'string' }, fresh: { type: 'boolean' } } });
const FRESH = values.fresh === true;
const ROUTER = values.router ?? 'knn:encoder=hashing';
const REQUESTS = Number(values.requests ?? 400);
const ROUNDS = Number(values.rounds ?? 3);
const DATA = resolve(values.data ?? resolve(process.env['SWITCHYARD_DATA'] ?? '../shared/data', 'routellm_gsm8k'));

const [UP, PROXY, GW] = [18090, 18091, 18092];
// GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the gateway process
const trio = await startTrio(DATA, ROUTER, { upstream: UP, proxy: PROXY, gateway: GW }, (process.env['GATEWAY_NODE_ARGS'] ?? '').split(' ').filter(Boolean));
const { router, matrix } = trio;
// direct and proxy calls name the cheapest model: the one the gateway's route picks at λ = 1
const price = (m: (typeof matrix.models)[number]): number => m.inputPricePerMTok + m.outputPricePerMTok;
const MODEL = [...matrix.models].sort((a, b) => price(a) - price(b))[0]?.id as string;
const prompts = matrix.view('test');
// decision time of the router alone (after encoding is part of it here: hashing)
const texts = Array.from({ length: prompts.size }, (_, i) => ({ text: prompts.text(i) }));
await router.route(texts, { lambda: 1 });
const dt: number[] = [];
for (const p of texts) {
  const t = performance.now();
  await router.route([{ text: p.text + ' ' }], { lambda: 1, detail: 'choice' }); // a fresh text: encoding included
  dt.push(performance.now() - t);
}
dt.sort((a, b) => a - b);

try {
  const targets = [
    { name: 'direct', port: UP, model: MODEL },
    { name: 'proxy', port: PROXY, model: MODEL },
    { name: 'gateway', port: GW, model: 'auto' },
  ];
  const pools = new Map(targets.map((t) => [t.name, new Pool(`http://127.0.0.1:${t.port}`, { connections: 64 })]));
  const body = (model: string, stream: boolean, text: string): Buffer => Buffer.from(JSON.stringify({ model, stream, messages: [{ role: 'user', content: text }] }));
  const bodies = (model: string, stream: boolean): Buffer[] => texts.map((p) => body(model, stream, p.text));
  // --fresh: every target walks the test then the train prompts once, never repeating one
  const train = matrix.view('train');
  const all = FRESH ? [...texts.map((p) => p.text), ...Array.from({ length: train.size }, (_, i) => train.text(i))] : [];
  const cursor = new Map<string, number>();
  const freshBody = (name: string, model: string, stream: boolean): Buffer => {
    const k = cursor.get(name) ?? 0;
    if (k >= all.length) throw new Error(`--fresh: ${all.length} prompts are not enough; use fewer --requests or --rounds, or a larger --data`);
    cursor.set(name, k + 1);
    return body(model, stream, all[k] as string);
  };

  async function load(name: string, model: string, concurrency: number, stream: boolean): Promise<{ lat: number[]; secs: number }> {
    const pool = pools.get(name) as Pool;
    const bs = FRESH ? [] : bodies(model, stream);
    const lat: number[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < REQUESTS) {
          const payload = FRESH ? freshBody(name, model, stream) : (bs[next % bs.length] as Buffer);
          next++;
          const t = performance.now();
          const r = await pool.request({ method: 'POST', path: '/v1/chat/completions', headers: { 'content-type': 'application/json' }, body: payload });
          await r.body.text();
          if (r.statusCode !== 200) throw new Error(`${name}: status ${r.statusCode}`);
          lat.push(performance.now() - t);
        }
      }),
    );
    return { lat, secs: (performance.now() - t0) / 1000 };
  }

  const q = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] as number;
  console.log(`gateway overhead: ${matrix.meta.name} ${FRESH ? 'prompts, each sent once (caches cold)' : 'test prompts, repeating (caches warm after the warm-up)'}, router ${ROUTER} at λ=1, ${REQUESTS} requests x ${ROUNDS} rounds per target, alternating`);
  console.log(`router decision incl. hashing encoding: p50 ${(dt[Math.floor(dt.length / 2)] as number).toFixed(3)} ms, p99 ${(dt[Math.floor(dt.length * 0.99)] as number).toFixed(3)} ms`);
  for (const stream of [false, true]) {
    for (const c of [1, 32]) {
      for (const t of targets) await load(t.name, t.model, c, stream); // warm-up
      const acc = new Map(targets.map((t) => [t.name, { lat: [] as number[], secs: 0, n: 0 }]));
      for (let r = 0; r < ROUNDS; r++) {
        for (const t of targets) {
          const res = await load(t.name, t.model, c, stream);
          const a = acc.get(t.name) as { lat: number[]; secs: number; n: number };
          a.lat.push(...res.lat);
          a.secs += res.secs;
          a.n += res.lat.length;
        }
      }
      const d = acc.get('direct') as { lat: number[]; secs: number; n: number };
      const line = (name: string): string => {
        const a = acc.get(name) as { lat: number[]; secs: number; n: number };
        const added = name === 'direct' ? '' : ` added p50 ${(q(a.lat, 0.5) - q(d.lat, 0.5)).toFixed(3)} ms, p99 ${(q(a.lat, 0.99) - q(d.lat, 0.99)).toFixed(3)} ms;`;
        return `  ${name.padEnd(8)} p50 ${q(a.lat, 0.5).toFixed(3)} ms  p99 ${q(a.lat, 0.99).toFixed(3)} ms;${added} ${(a.n / a.secs).toFixed(0)} req/s`;
      };
      console.log(`${stream ? 'streaming' : 'JSON'}, concurrency ${c}:`);
      for (const t of targets) console.log(line(t.name));
    }
  }
  for (const p of pools.values()) await p.close();
} finally {
  trio.stop();
}
