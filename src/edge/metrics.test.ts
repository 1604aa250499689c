/** The shipped edge alerting rules (examples/monitoring/switchyard-edge-rules.yaml) query only what an edge node exports. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { EdgeMetrics } from './metrics.js';

describe('edge monitoring rules', () => {
  it('name only metrics and labels an edge node exports (and a change to which families they watch is seen here)', async () => {
    const m = new EdgeMetrics(() => 3);
    // a series in every family (label names show only on series)
    m.requests.inc({ asked: 'swarm', status: '200' });
    m.requestSeconds.observe({ asked: 'swarm' }, 0.2);
    m.proposals.observe(3);
    m.aggregate.inc({ how: 'scorer' });
    m.modelCalls.inc({ outcome: 'ok' });
    m.modelSeconds.observe(0.1);
    m.gossipSent.inc({ kind: 'query', outcome: 'delivered' });
    m.gossipReceived.inc({ kind: 'proposal', outcome: 'accepted' });
    m.feedback.inc({ learned: 'true' });
    m.routerErrors.inc();
    const text = await m.registry.metrics();
    const families = new Map<string, Set<string>>();
    for (const [, name] of text.matchAll(/^# TYPE (\S+) \S+$/gm)) families.set(name as string, new Set(['instance', 'le']));
    for (const [, name, labels] of text.matchAll(/^(switchyard_\w+?)(?:_bucket|_sum|_count)?\{([^}]*)\} /gm)) {
      for (const [, label] of (labels as string).matchAll(/(\w+)="/g)) families.get(name as string)?.add(label as string);
    }
    const rules = parseYaml(readFileSync('examples/monitoring/switchyard-edge-rules.yaml', 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const problems: string[] = [];
    const named = new Set<string>();
    for (const r of rules.groups.flatMap((g) => g.rules)) {
      for (const [, metric, matchers] of r.expr.matchAll(/\b(switchyard_[a-z_]+)(\{[^}]*\})?/g)) {
        const family = (metric as string).replace(/_(bucket|sum|count)$/, '');
        const labels = families.get(family);
        if (!labels) {
          problems.push(`${r.alert}: ${metric} is not exported`);
          continue;
        }
        named.add(family);
        for (const [, label] of (matchers ?? '').matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) if (!labels.has(label as string)) problems.push(`${r.alert}: ${family} has no label "${label}"`);
        for (const [, list] of r.expr.matchAll(/\bby\s*\(([^)]*)\)/g)) for (const label of (list as string).split(',').map((l) => l.trim())) if (!labels.has(label)) problems.push(`${r.alert}: ${family} has no label "${label}" to group by`);
      }
    }
    expect(problems).toEqual([]);
    expect([...families.keys()].filter((f) => !named.has(f)).sort()).toEqual(['switchyard_edge_aggregate_total', 'switchyard_edge_feedback_total', 'switchyard_edge_model_call_duration_seconds', 'switchyard_edge_request_duration_seconds', 'switchyard_edge_requests_total']);
  });
});
