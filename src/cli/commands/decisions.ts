import { hashKey } from '../../gateway/auth.js';
import { readGatewayConfig } from '../../gateway/config.js';
import { openStore } from '../../gateway/store/open-store.js';
import { fmtCost, textTable } from '../../eval/format.js';
import { invalidArgument } from '../../core/errors.js';
import { numberFlag, parse, requireString } from '../args.js';

const USAGE = `usage: switchyard decisions --config switchyard.yaml [--route R] [--limit N] [--since ISO-DATE] [--json]

The gateway's decision log: request id, route, chosen and answering model, why, cost, latency.`;

export async function runDecisions(argv: string[]): Promise<void> {
  const { values } = parse(argv, { config: { type: 'string' }, route: { type: 'string' }, limit: { type: 'string' }, since: { type: 'string' }, json: { type: 'boolean' } }, USAGE);
  const config = readGatewayConfig(requireString(values, 'config', USAGE));
  const limit = numberFlag(values, 'limit', 20, (v) => Number.isInteger(v) && v > 0, 'a positive integer');
  const since = typeof values['since'] === 'string' ? Date.parse(values['since']) : undefined;
  if (since !== undefined && Number.isNaN(since)) throw invalidArgument(`--since: expected a date (e.g. 2026-11-22T00:00:00Z), got "${String(values['since'])}"`);
  const store = await openStore(config.store);
  try {
    const rows = await store.listDecisions({ limit, ...(typeof values['route'] === 'string' ? { route: values['route'] } : {}), ...(since !== undefined ? { since } : {}) });
    if (values['json']) {
      process.stdout.write(JSON.stringify(rows, null, 1) + '\n');
      return;
    }
    const table = rows.map((d) => [new Date(d.time).toISOString(), d.requestId, d.route, d.answered === d.chosen ? d.chosen : `${d.chosen} → ${d.answered ?? 'failed'}`, String(d.status), fmtCost(d.costUsd), `${d.latencyMs.toFixed(1)} ms`, d.reason.slice(0, 80)]);
    process.stdout.write(textTable(['time', 'request', 'route', 'model', 'status', 'cost', 'latency', 'reason'], table) + '\n');
  } finally {
    await store.close();
  }
}

export async function runKeys(argv: string[]): Promise<void> {
  const [sub, key] = argv;
  if (sub !== 'hash' || !key) throw invalidArgument('usage: switchyard keys hash KEY   (prints the sha256 to put in auth.keys[].sha256)');
  process.stdout.write(hashKey(key) + '\n');
}
