import { hashKey, newApiKey } from '../../gateway/auth.js';
import { readGatewayConfig } from '../../gateway/config.js';
import { openStore } from '../../gateway/store/open-store.js';
import { EncryptedStore } from '../../gateway/store/encrypted-store.js';
import { createCipher } from '../../gateway/store/encryption.js';
import type { GatewayStore } from '../../gateway/store/store.js';
import { exportTraffic, type TrafficQuery } from '../../gateway/traffic-export.js';
import { parseSince, parseSummaryBy, spendBy, summariseDecisions, type ArmSummary, type Interval, type RouteSummary, type SpendRow } from '../../gateway/decision-summary.js';
import { fmtCost, textTable } from '../../eval/format.js';
import { invalidArgument } from '../../core/errors.js';
import { numberFlag, parse, requireString, writeOutput } from '../args.js';

const USAGE = `usage: switchyard decisions --config switchyard.yaml [--route R] [--limit N] [--since ISO-DATE] [--json]
       switchyard decisions --config switchyard.yaml --export traffic.jsonl [--route R] [--since ISO-DATE]
       switchyard decisions --config switchyard.yaml --summary [--by route|key|model|user|tag:NAME] [--route R] [--since ISO-DATE] [--limit N] [--json]

The gateway's decision log: request id, route, chosen and answering model, why, cost, latency.
--export writes the answered requests that received feedback (since the date) as training data, one
row per (prompt, model) with the mean score and cost, for \`switchyard data import --from long\`;
it needs the prompts: store.keepPrompts: true (or a Redis store's pending prompts, kept 24 h).
--summary reports per route: requests, spend, model shares, feedback, and the predicted saving
against always calling the route's best model (over the newest --limit decisions, default 100000);
--by key: spend per API key (who spent what), --by model: spend per answering model, --by user: per
end user (the requests' \`user\`), --by tag:NAME: per value of a tag (\`metadata\` or the
x-switchyard-tags header), each with its routes.`;

export async function runDecisions(argv: string[]): Promise<void> {
  const { values } = parse(argv, { config: { type: 'string' }, route: { type: 'string' }, limit: { type: 'string' }, since: { type: 'string' }, json: { type: 'boolean' }, export: { type: 'string' }, summary: { type: 'boolean' }, by: { type: 'string' } }, USAGE);
  const byText = typeof values['by'] === 'string' ? values['by'] : 'route';
  const by = parseSummaryBy(byText);
  if (by === undefined) throw invalidArgument(`--by: expected route, key, model, user or tag:NAME, got "${byText}"`);
  if (values['by'] !== undefined && !values['summary']) throw invalidArgument('--by goes with --summary');
  const config = readGatewayConfig(requireString(values, 'config', USAGE));
  const limit = numberFlag(values, 'limit', values['summary'] ? 100_000 : 20, (v) => Number.isInteger(v) && v > 0, 'a positive integer');
  const parsed = parseSince(typeof values['since'] === 'string' ? values['since'] : undefined, '--since');
  if (!parsed.ok) throw invalidArgument(parsed.message);
  const { since } = parsed;
  const query = { ...(typeof values['route'] === 'string' ? { route: values['route'] } : {}), ...(since !== undefined ? { since } : {}) };
  // kept prompts are read in clear with the gateway's key (store.encryption)
  const cipher = config.store.encryption ? createCipher(config.store.encryption, process.env) : undefined;
  const opened = await openStore(config.store);
  const store = cipher ? new EncryptedStore(opened, cipher) : opened;
  try {
    if (typeof values['export'] === 'string') return await exportTo(store, values['export'], query);
    const rows = await store.listDecisions({ limit, ...query });
    if (values['summary'] && by !== 'route') {
      const spend = spendBy(rows, by);
      process.stdout.write(values['json'] ? JSON.stringify(spend, null, 1) + '\n' : formatSpend(spend, typeof by === 'string' ? by : by.tag));
      return;
    }
    if (values['summary']) {
      const summaries = summariseDecisions(rows, await store.listFeedback(since));
      process.stdout.write(values['json'] ? JSON.stringify(summaries, null, 1) + '\n' : summaries.map(formatSummary).join('\n') || 'no decisions\n');
      return;
    }
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
  writeOutput('export', file, rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length > 0 ? '\n' : ''));
  const left = Object.entries(skipped).filter(([, n]) => n > 0).map(([why, n]) => `${n} ${SKIPPED[why as keyof typeof skipped]}`);
  process.stderr.write(`wrote ${rows.length} rows (${requests} requests with feedback) to ${file}${left.length > 0 ? `; left out: ${left.join(', ')}` : ''}\n`);
  if (skipped.noPrompt > 0) process.stderr.write('(prompts are kept only with store.keepPrompts: true)\n');
}

function formatSummary(r: RouteSummary): string {
  const pct = (v: number): string => `${(100 * v).toFixed(0)}%`;
  const shares = Object.entries(r.shares).map(([m, v]) => `${m} ${pct(v)}`).join(', ');
  const lines = [
    `route ${r.route}: ${r.requests} requests (${r.answered} answered), spent ${fmtCost(r.spentUsd)}`,
    `  models: ${shares || '—'}`,
    `  feedback: ${r.feedback.count} scores${r.feedback.meanScore !== null ? `, mean ${r.feedback.meanScore.toFixed(3)}` : ''}`,
  ];
  const v = r.versusBest;
  if (v) {
    lines.push(`  vs always ${v.model} (best predicted quality), on ${v.requests} requests: predicted cost ${fmtCost(v.predictedCostBestUsd)} → ${fmtCost(v.predictedCostRoutedUsd)} routed (${Math.abs(v.saving) < 0.005 ? '±0%' : `${v.saving > 0 ? '−' : '+'}${pct(Math.abs(v.saving))}`}), predicted quality ${v.predictedQualityBest.toFixed(3)} → ${v.predictedQualityRouted.toFixed(3)}`);
  }
  const s = r.shadow;
  if (s) {
    const shares = Object.entries(s.shares).map(([m, v]) => `${m} ${pct(v)}`).join(', ');
    lines.push(`  shadow router: agrees on ${pct(s.agreement)} of ${s.requests} requests; its choices: ${shares}`);
    if (s.compared > 0) lines.push(`    by the live router's predictions, on ${s.compared}: cost ${fmtCost(s.predictedCostLiveUsd)} live → ${fmtCost(s.predictedCostShadowUsd)} shadow, quality ${s.predictedQualityLive.toFixed(3)} → ${s.predictedQualityShadow.toFixed(3)}`);
  }
  if (r.calibration.length > 0) {
    lines.push('  calibration (rated requests: the router\'s predicted quality of its choice, and the scores received):');
    for (const k of r.calibration) lines.push(`    ${k.model}: predicted ${k.predicted.toFixed(3)}, observed ${k.observed.mean.toFixed(3)} [${k.observed.low.toFixed(3)}, ${k.observed.high.toFixed(3)}] on ${k.rated}`);
  }
  const c = r.canary;
  if (c) {
    const arm = (name: string, a: ArmSummary): string =>
      `    ${name}: ${a.requests} requests, mean cost ${a.meanCostUsd === null ? '—' : fmtCost(a.meanCostUsd)}, ${a.rated} scores${a.meanScore === null ? '' : ` (mean ${a.meanScore.toFixed(3)})`}; ${Object.entries(a.shares).map(([m, v]) => `${m} ${pct(v)}`).join(', ') || '—'}`;
    const diff = (d: Interval | null, f: (v: number) => string): string => (d ? `${f(d.mean)} [${f(d.low)}, ${f(d.high)}]` : 'too few to tell');
    lines.push('  canary router (by outcomes):', arm('live  ', c.live), arm('canary', c.canary));
    lines.push(`    canary − live: score ${diff(c.scoreDiff, (v) => v.toFixed(3))}, cost ${diff(c.costDiffUsd, (v) => fmtCost(v))} a request (95% intervals)`);
  }
  return lines.join('\n') + '\n';
}

function formatSpend(rows: readonly SpendRow[], by: string): string {
  if (rows.length === 0) return 'no decisions\n';
  const table = rows.map((r) => [r.group, String(r.requests), String(r.answered), fmtCost(r.spentUsd), `${(100 * r.shareOfSpend).toFixed(1)}%`, Object.entries(r.byRoute).map(([route, usd]) => `${route} ${fmtCost(usd)}`).join(', ')]);
  return textTable([by, 'requests', 'answered', 'spent', 'share', 'by route'], table) + '\n';
}

const SKIPPED = { noDecision: 'with no decision recorded', notAnswered: 'not answered', noPrompt: 'without a kept prompt', otherRoute: 'on other routes' } as const;

const KEYS_USAGE = `usage: switchyard keys hash KEY          the sha256 to put in auth.keys[].sha256 (or auth.adminKeys)
       switchyard keys new --name NAME    a new random API key, and its auth.keys entry for the config
(keys can also be made at run time through the admin API, /v1/admin/keys: docs/gateway.md)`;

export async function runKeys(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'hash' && rest[0]) return void process.stdout.write(hashKey(rest[0]) + '\n');
  if (sub !== 'new') throw invalidArgument(KEYS_USAGE);
  const { values } = parse(rest, { name: { type: 'string' } }, KEYS_USAGE);
  const name = requireString(values, 'name', KEYS_USAGE);
  if (!/^[\w.-]+$/.test(name)) throw invalidArgument(`--name: letters, digits, '_', '.' and '-' only, got "${name}"`);
  // 32 random bytes: the key is shown once; only its hash goes into the config
  const key = newApiKey();
  process.stderr.write('the key (give it to its user; it is not stored anywhere):\n');
  process.stdout.write(`${key}\n`);
  process.stderr.write(`its entry under auth.keys in the config (budgets, limits and models optional; or under auth.adminKeys, for the admin API):\n  - { name: ${name}, sha256: ${hashKey(key)} }\n`);
}
