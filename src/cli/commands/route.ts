import { readFileSync } from 'node:fs';
import { invalidArgument } from '../../core/errors.js';
import { fmtCost, fmtNum, textTable } from '../../eval/format.js';
import { readPrices } from '../../data/reprice.js';
import { configModels } from '../prices.js';
import { readArtifactFile, repriceArtifact } from '../../routers/artifact.js';
import { CrossAttentionRouter } from '../../routers/cross-attention/cross-attention.js';
import { routerFromArtifact } from '../../routers/registry.js';
import type { RoutePrefs } from '../../spec/router.js';
import { numberFlag, parse, requireString } from '../args.js';

const USAGE = `usage: switchyard route --router router.json [--lambda L | --budget USD | --target-quality Q]
                       [--candidates a,b] [--prices FILE] [--json] "prompt"   (or - to read the prompt from stdin)

  --lambda L           0 = best quality … 1 = lowest cost (default 0.5)
  --budget USD         target mean cost per request, resolved to λ on the router's operating curve
  --target-quality Q   target mean quality (0..1), resolved to the cheapest λ that reaches it
  --prices FILE        decide at these prices, as the gateway does at its config's: a JSON price table
                       {"<model>": {"inputPricePerMTok": n, "outputPricePerMTok": n}} or a switchyard.yaml`;

export async function runRoute(argv: string[]): Promise<void> {
  const { values, positionals } = parse(
    argv,
    { router: { type: 'string' }, lambda: { type: 'string' }, budget: { type: 'string' }, 'target-quality': { type: 'string' }, candidates: { type: 'string' }, json: { type: 'boolean' }, prices: { type: 'string' } },
    USAGE,
  );
  const file = requireString(values, 'router', USAGE);
  const lambda = numberFlag(values, 'lambda', 0.5, (v) => v >= 0 && v <= 1, 'a number in [0, 1]');
  const budget = values['budget'] === undefined ? undefined : numberFlag(values, 'budget', 0, (v) => v >= 0, 'a cost ≥ 0 (USD per request)');
  const target = values['target-quality'] === undefined ? undefined : numberFlag(values, 'target-quality', 0, (v) => v >= 0 && v <= 1, 'a quality in [0, 1]');
  if (positionals.length !== 1) throw invalidArgument(`route: expected exactly one prompt argument (or -), got ${positionals.length}\n\n${USAGE}`);
  const text = positionals[0] === '-' ? readFileSync(0, 'utf8') : (positionals[0] as string);
  const prices = values['prices'];
  const artifact = readArtifactFile(file);
  const router = await routerFromArtifact(typeof prices === 'string' ? repriceArtifact(artifact, new Map(Object.entries(readPrices(prices, configModels)))).artifact : artifact);
  const candidates = typeof values['candidates'] === 'string' ? values['candidates'].split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  const prefs: RoutePrefs = { lambda, ...(budget !== undefined ? { budgetUsd: budget } : {}), ...(target !== undefined ? { targetQuality: target } : {}), ...(candidates ? { candidates } : {}) };
  const t0 = performance.now();
  const [decision] = await router.route([{ text }], prefs);
  const ms = performance.now() - t0;
  if (!decision) throw invalidArgument('route: the router returned no decision');
  if (values['json']) {
    process.stdout.write(JSON.stringify({ ...decision, router: router.kind, ms: Number(ms.toFixed(3)) }, null, 2) + '\n');
    return;
  }
  const lines = [`→ ${decision.models.join(' > ')}`, `  ${decision.reason}`, `  (${router.kind}, ${ms.toFixed(1)} ms including encoding)`];
  if (decision.candidates) {
    // the cross-attention router also shows its attention's routing weights (the paper's w)
    const weights = router instanceof CrossAttentionRouter ? await router.routingWeights({ text }) : undefined;
    const rows = [...decision.candidates]
      .sort((a, b) => (b.utility ?? 0) - (a.utility ?? 0))
      .map((c) => [`${decision.models.includes(c.model) ? '* ' : '  '}${c.model}`, fmtNum(c.quality), fmtCost(c.cost), fmtNum(c.utility, 4), ...(weights ? [fmtNum(weights.get(c.model), 3)] : [])]);
    lines.push('', textTable(['model', 'predicted quality', 'predicted cost', 'utility', ...(weights ? ['attention w'] : [])], rows));
  }
  process.stdout.write(lines.join('\n') + '\n');
}
