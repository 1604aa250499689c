/**
 * The floor for a Node gateway: a minimal pass-through proxy (node:http + undici) that buffers the
 * small request body and pipes the upstream response back. Used by bench/gateway-bench.ts.
 * Run: node dist/bench/passthrough-proxy.js --target http://127.0.0.1:8090 --port 8091
 */
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';

const { values } = parseArgs({ options: { target: { type: 'string' }, port: { type: 'string' } } });
const pool = new Pool(values.target ?? 'http://127.0.0.1:8090', { connections: 64 });
createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  try {
    const up = await pool.request({ method: 'POST', path: req.url ?? '/', headers: { 'content-type': 'application/json' }, body: Buffer.concat(chunks) });
    res.writeHead(up.statusCode, { 'content-type': String(up.headers['content-type'] ?? 'application/json') });
    for await (const c of up.body) res.write(c);
    res.end();
  } catch {
    res.writeHead(502).end();
  }
}).listen(Number(values.port ?? 8091), '127.0.0.1');
// exit cleanly on SIGINT, so a proxy run with --cpu-prof writes its profile
process.on('SIGINT', () => process.exit(0));
