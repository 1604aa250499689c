import { hashKey } from '../../gateway/auth.js';
import { readGatewayConfig } from '../../gateway/config.js';
import { writeFileSync } from 'node:fs';
import { openStore } from '../../gateway/store/open-store.js';
import type { GatewayStore } from '../../gateway/store/store.js';
import { exportTraffic, type TrafficQuery } from '../../gateway/traffic-export.js';
import { fmtCost, textTable } from '../../eval/format.js';
import { invalidArgument } from '../../core/errors.js';
import { numberFlag, parse, requireString } from '../args.js';

const USAGE = `usage: switchyard decisions --config switchyard.yaml [--route R] [--limit N] [--since ISO-DATE] [--json]
       switchyard decisions --config switchyard.yaml --export traffic.jsonl [--route R] [--since ISO-DATE]

The gateway's decision log: request id, route, chosen and answering model, why, cost, latency.
--export writes the answered requests that received feedback (since the date) as training data, one
row per (prompt, model) with the mean score and cost, for \`switchyard data import --from long\`;
it needs the prompts: store.keepPrompts: true (or a Redis store's pending prompts, kept 24 h).`;

export async function runDecisions(argv: string[]): Promise<void> {
  const { values } = parse(argv, { config: { type: 'string' }, route: { type: 'string' }, limit: { type: 'string' }, since: { type: 'string' }, json: { type: 'boolean' }, export: { type: 'string' } }, USAGE);
  const config = readGatewayConfig(requireString(values, 'config', USAGE));
  const limit = numberFlag(values, 'limit', 20, (v) => Number.isInteger(v) && v > 0, 'a positive integer');
  const since = typeof values['since'] === 'string' ? Date.parse(values['since']) : undefined;
  if (since !== undefined && Number.isNaN(since)) throw invalidArgument(`--since: expected a date (e.g. 2026-11-22T00:00:00Z), got "${String(values['since'])}"`);
  const store = await openStore(config.store);
  try {
    if (typeof values['export'] === 'string') return await exportTo(store, values['export'], { ...(typeof values['route'] === 'string' ? { route: values['route'] } : {}), ...(since !== undefined ? { since } : {}) });
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

async function exportTo(store: GatewayStore, file: string, q: TrafficQuery): Promise<void> {
  const { rows, requests, skipped } = await exportTraffic(store, q);
  writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length > 0 ? '\n' : ''));
  const left = Object.entries(skipped).filter(([, n]) => n > 0).map(([why, n]) => `${n} ${SKIPPED[why as keyof typeof skipped]}`);
  process.stderr.write(`wrote ${rows.length} rows (${requests} requests with feedback) to ${file}${left.length > 0 ? `; left out: ${left.join(', ')}` : ''}\n`);
  if (skipped.noPrompt > 0) process.stderr.write('(prompts are kept only with store.keepPrompts: true)\n');
}

const SKIPPED = { noDecision: 'with no decision recorded', notAnswered: 'not answered', noPrompt: 'without a kept prompt', otherRoute: 'on other routes' } as const;

export async function runKeys(argv: string[]): Promise<void> {
  const [sub, key] = argv;
  if (sub !== 'hash' || !key) throw invalidArgument('usage: switchyard keys hash KEY   (prints the sha256 to put in auth.keys[].sha256)');
  process.stdout.write(hashKey(key) + '\n');
}
