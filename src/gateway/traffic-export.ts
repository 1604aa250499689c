/**
 * Production traffic as training data: the requests the gateway answered and received feedback on,
 * in the long layout that `switchyard data import --from long` reads — one row per (prompt, model)
 * with the mean feedback score and mean cost, the route as the task. Import it, then `switchyard
 * train` fits routers on the users' own prompts and outcomes. Prompts come from the decision log
 * (`store.keepPrompts: true`) or, on a shared store, from the pending prompts kept for feedback.
 */
import type { GatewayStore } from './store/store.js';

export interface TrafficRow {
  readonly prompt: string;
  readonly model: string;
  /** Mean feedback score of this model on this prompt (0..1). */
  readonly score: number;
  /** Mean cost of those calls (USD). */
  readonly cost: number;
  /** The route that served it. */
  readonly task: string;
}

export interface TrafficExport {
  readonly rows: TrafficRow[];
  /** Requests with feedback that made it into rows. */
  readonly requests: number;
  /** Requests with feedback left out, by why. */
  readonly skipped: { readonly noDecision: number; readonly notAnswered: number; readonly noPrompt: number; readonly otherRoute: number };
}

export interface TrafficQuery {
  /** Feedback received since (unix ms). */
  readonly since?: number;
  readonly route?: string;
}

export async function exportTraffic(store: GatewayStore, q: TrafficQuery = {}): Promise<TrafficExport> {
  const latest = new Map<string, number>(); // request id → its latest score
  for (const f of await store.listFeedback(q.since)) latest.set(f.requestId, f.score);
  const skipped = { noDecision: 0, notAnswered: 0, noPrompt: 0, otherRoute: 0 };
  const groups = new Map<string, { prompt: string; model: string; task: string; score: number; cost: number; n: number }>();
  let requests = 0;
  for (const [id, score] of latest) {
    const d = await store.getDecision(id);
    if (!d) {
      skipped.noDecision++;
      continue;
    }
    if (q.route !== undefined && d.route !== q.route) {
      skipped.otherRoute++;
      continue;
    }
    if (d.status !== 200 || d.answered === null) {
      skipped.notAnswered++;
      continue;
    }
    const prompt = d.prompt ?? (store.shared ? await store.getExpiring('prompt', id) : undefined);
    if (prompt === undefined || prompt === null) {
      skipped.noPrompt++;
      continue;
    }
    requests++;
    const key = `${d.answered}\u0000${prompt}`;
    const g = groups.get(key);
    if (g) {
      g.score += score;
      g.cost += d.costUsd;
      g.n++;
    } else groups.set(key, { prompt, model: d.answered, task: d.route, score, cost: d.costUsd, n: 1 });
  }
  const rows = [...groups.values()].map((g) => ({ prompt: g.prompt, model: g.model, score: g.score / g.n, cost: g.cost / g.n, task: g.task }));
  return { rows, requests, skipped };
}
