/**
 * Replaying a swarm offline (`switchyard edge eval`): N nodes, each with one of the dataset's models,
 * answer every test prompt (their recorded answers); the prompt's origin rotates over the nodes; each
 * other node's proposal is lost with probability `drop` (gossip that did not arrive in the window).
 * The merged answer is credited with the recorded score of the proposal the merger keeps: a response
 * scorer fitted on train answers (deployable), a random one (first-come, ordering being arbitrary),
 * or the best (a bound for a perfect merger). An LLM writing a new answer (`aggregate: local`) cannot
 * be replayed and is not credited.
 */
import { invalidArgument } from '../core/errors.js';
import { createRng } from '../core/random.js';
import type { MatrixView } from '../data/routing-matrix.js';

export interface SwarmRow {
  readonly label: string;
  /** Mean recorded score of the answers kept. */
  readonly quality: number;
  /** Mean number of proposals merged a prompt. */
  readonly proposals: number;
}

export interface SwarmOptions {
  readonly drops: readonly number[];
  readonly seed: number;
  /**
   * Routing inside the swarm: the models (indices among `models`) a router wants for test prompt i.
   * Only those propose (each lost at the drop rate, the origin's own never); when none arrives, the
   * origin's own model answers.
   */
  readonly wanted?: (i: number) => readonly number[];
  /** How the routed rows are labelled, e.g. "knn picks 2 of 4". */
  readonly routedLabel?: string;
}

/**
 * `scores`: n×M predicted scores of the test answers (a response scorer; NaN = no answer text).
 * Prompts where a swarm model has no recorded outcome are left out of every row.
 */
export function evaluateSwarm(test: MatrixView, models: readonly string[], scores: Float64Array, options: SwarmOptions): SwarmRow[] {
  const M = test.matrix.modelCount;
  const idx = models.map((id) => {
    const m = test.matrix.modelIndex(id);
    if (m === undefined) throw invalidArgument(`--models: "${id}" is not a model of this dataset (${test.matrix.modelIds.join(', ')})`);
    return m;
  });
  if (idx.length < 2) throw invalidArgument('--models: a swarm needs at least two models');
  const prompts = Array.from({ length: test.size }, (_, i) => i).filter((i) => idx.every((m) => !Number.isNaN(test.score(i, m))));
  if (prompts.length === 0) throw invalidArgument('--models: no test prompt has a recorded outcome for every one of these models');
  const rows: SwarmRow[] = idx.map((m, k) => ({ label: `${models[k]} alone`, quality: mean(prompts.map((i) => test.score(i, m))), proposals: 1 }));
  const modes = options.wanted ? ['all', 'routed'] : ['all'];
  for (const mode of modes) for (const drop of options.drops) {
    const rng = createRng(options.seed);
    let scorer = 0;
    let random = 0;
    let best = 0;
    let count = 0;
    for (const [k, i] of prompts.entries()) {
      const origin = k % idx.length;
      const asked = mode === 'routed' ? new Set((options.wanted as (i: number) => readonly number[])(i)) : undefined;
      let arrived = idx.filter((_, j) => (!asked || asked.has(j)) && (j === origin || rng.next() >= drop));
      if (arrived.length === 0) arrived = [idx[origin] as number]; // none of the wanted answered: the origin's own model
      count += arrived.length;
      let pick = arrived[0] as number;
      for (const m of arrived) if (rank(scores[i * M + m] as number) > rank(scores[i * M + pick] as number)) pick = m;
      scorer += test.score(i, pick);
      random += test.score(i, arrived[rng.int(arrived.length)] as number);
      best += Math.max(...arrived.map((m) => test.score(i, m)));
    }
    const n = prompts.length;
    const tag = `${mode === 'routed' ? `routed swarm (${options.routedLabel ?? 'router'})` : `swarm of ${idx.length}`}, ${Math.round(drop * 100)}% of proposals lost`;
    rows.push({ label: `${tag}: scorer picks`, quality: scorer / n, proposals: count / n });
    rows.push({ label: `${tag}: first-come (random)`, quality: random / n, proposals: count / n });
    rows.push({ label: `${tag}: best answer (bound)`, quality: best / n, proposals: count / n });
  }
  return rows;
}

const rank = (s: number): number => (Number.isNaN(s) ? -Infinity : s);

function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);
}
