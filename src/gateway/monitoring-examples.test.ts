/**
 * The shipped Grafana dashboard and Prometheus rules (examples/monitoring/) query only what the
 * gateway exports: every metric they name exists, and every label they select or group by is one of
 * its labels — so a renamed metric or label breaks this test, not a user's dashboard.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ModelUpstreams } from './deployments.js';
import { GatewayMetrics } from './metrics.js';
import { supervisorMetrics } from './workers.js';

/** Every family the gateway exports, with the label names its series carry. */
async function exported(): Promise<Map<string, Set<string>>> {
  const upstreams = new Map([['big', new ModelUpstreams({ baseURL: 'http://big/v1', requestsPerMinute: 600, tokensPerMinute: 90_000 } as never, { failureThreshold: 3, cooldownMs: 1000 }, () => 0)]]);
  const m = new GatewayMetrics(() => upstreams, () => [{ name: 'team', dailyBudgetUsd: 5, monthlyBudgetUsd: 50 }], () => 1000);
  upstreams.get('big')?.recordFirstByte(0, 250, 1000);
  // a series in every family (label names show only on series)
  m.observeRequest({ route: 'auto', chosen: 'big', answered: 'small', status: 200, costUsd: 0.01, latencyMs: 3, upstreamMs: 2, overheadMs: 0.4 });
  m.countTokens('small', { prompt_tokens: 10, completion_tokens: 5 });
  m.keyCost.of('team').value += 0.01;
  m.cache.of('auto', 'hit').value++;
  m.cascadeSteps.of('auto', 'small', 'kept').value++;
  m.slowSetApart.of('auto', 'small').value++;
  m.routerErrors.of('auto', 'main').value++;
  m.storeErrors.of('recordDecision').value++;
  m.errors.of('overloaded', '503').value++;
  m.lambda.set({ route: 'auto' }, 0.3);
  m.storePending.set(0);
  const supervisor = supervisorMetrics(); // server.workers > 1
  supervisor.restarts.inc();
  const text = (await m.registry.metrics()) + (await supervisor.registry.metrics());
  const families = new Map<string, Set<string>>();
  for (const [, name] of text.matchAll(/^# TYPE (\S+) \S+$/gm)) families.set(name as string, new Set());
  for (const [, name, labels] of text.matchAll(/^(switchyard_\w+?)(?:_bucket|_sum|_count)?\{([^}]*)\} /gm)) {
    for (const [, label] of (labels as string).matchAll(/(\w+)="/g)) families.get(name as string)?.add(label as string);
  }
  return families;
}

/** Every PromQL expression of the dashboard (panels and variables) and the rules file. */
function expressions(): Array<{ where: string; expr: string }> {
  const dashboard = JSON.parse(readFileSync('examples/monitoring/grafana-dashboard.json', 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }>; templating: { list: Array<{ name: string; definition: string }> } };
  const rules = parseYaml(readFileSync('examples/monitoring/switchyard-rules.yaml', 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; record?: string; expr: string }> }> };
  return [
    ...dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
    ...dashboard.templating.list.map((v) => ({ where: `variable ${v.name}`, expr: v.definition.replace(/^label_values\((\w+), (\w+)\)$/, '$1{$2=""}') })),
    ...rules.groups.flatMap((g) => g.rules.map((r) => ({ where: `rule ${r.alert ?? r.record}`, expr: r.expr }))),
  ];
}

describe('monitoring examples', () => {
  it('name only metrics and labels the gateway exports', async () => {
    const families = await exported();
    const found = expressions();
    expect(found.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const { where, expr } of found) {
      const used = new Set<string>();
      for (const [, metric, matchers] of expr.matchAll(/\b(switchyard_[a-z_]+)(\{[^}]*\})?/g)) {
        const family = (metric as string).replace(/_(bucket|sum|count)$/, '');
        const labels = families.get(family);
        if (!labels) {
          problems.push(`${where}: ${metric} is not exported`);
          continue;
        }
        used.add(family);
        for (const [, label] of (matchers ?? '').matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) if (!labels.has(label as string)) problems.push(`${where}: ${family} has no label "${label}"`);
      }
      const known = new Set(['le', ...[...used].flatMap((f) => [...(families.get(f) ?? [])])]);
      for (const [, list] of expr.matchAll(/\b(?:by|on|ignoring|without)\s*\(([^)]*)\)/g)) {
        for (const label of (list as string).split(',').map((l) => l.trim()).filter(Boolean)) if (!known.has(label)) problems.push(`${where}: no metric of it has a label "${label}"`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('cover every metric the gateway exports', async () => {
    const named = new Set(expressions().flatMap(({ expr }) => [...expr.matchAll(/\b(switchyard_[a-z_]+)/g)].map((m) => (m[1] as string).replace(/_(bucket|sum|count)$/, ''))));
    expect([...(await exported()).keys()].filter((f) => f.startsWith('switchyard_') && !named.has(f))).toEqual(['switchyard_deployment_circuit_state']);
  });
});
