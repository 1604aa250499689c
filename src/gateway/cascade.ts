/**
 * Cascades in the gateway: when a route's router answers with a `cascade` decision, the chain's
 * models are called one at a time, without streaming, and the router's answer judge rates each
 * answer; the first rated at or above its step's threshold is the response (streamed to the client
 * from the finished answer when it asked for a stream). A step that fails (after retries) or whose
 * answer is rated too low hands over to the next; the last model is called through the normal
 * pipeline (streaming, fallbacks). Every call is paid. See docs/gateway.md, "Cascades".
 */
import type { ModelConfig } from './config.js';
import type { ChatRequest } from './http.js';
import { propose, type Proposal, type ProposalDeps } from './mixture.js';
import type { UpstreamTimeouts } from './providers/openai-compatible.js';
import type { Decision, Router } from '../spec/router.js';

export interface CascadeOutcome {
  /** The answer kept before the last step, if one was good enough. */
  readonly kept: Proposal | undefined;
  /** Answers paid for and not kept. */
  readonly escalated: readonly Proposal[];
  /** The chain's last model (called by the normal pipeline when nothing was kept). */
  readonly last: string;
  readonly note: string;
  /** Each step before the last: its model and what became of its answer. */
  readonly steps: ReadonlyArray<{ readonly model: string; readonly outcome: 'kept' | 'escalated' | 'failed' }>;
}

export async function runCascade(
  decision: Decision,
  router: Router,
  prompt: string,
  configs: Readonly<Record<string, ModelConfig>>,
  body: ChatRequest,
  timeouts: UpstreamTimeouts,
  deps: ProposalDeps,
): Promise<CascadeOutcome> {
  const chain = decision.models;
  const accept = decision.accept ?? [];
  const escalated: Proposal[] = [];
  const notes: string[] = [];
  const steps: Array<CascadeOutcome['steps'][number]> = [];
  for (let k = 0; k < chain.length - 1; k++) {
    if (deps.cancel?.aborted) break;
    const model = chain[k] as string;
    const [answer] = await propose([model], configs, body, timeouts, deps);
    if (!answer) {
      notes.push(`${model} failed`);
      steps.push({ model, outcome: 'failed' });
      continue;
    }
    const [rating] = router.judgeAnswers ? await router.judgeAnswers([{ prompt, model, answer: answer.text }]) : [Number.NaN];
    const threshold = accept[k] ?? Number.POSITIVE_INFINITY;
    if ((rating as number) >= threshold) {
      notes.push(`kept ${model}'s answer (judged ${(rating as number).toFixed(3)} ≥ ${threshold.toFixed(3)})`);
      steps.push({ model, outcome: 'kept' });
      return { kept: answer, escalated, last: chain[chain.length - 1] as string, note: notes.join('; '), steps };
    }
    escalated.push(answer);
    steps.push({ model, outcome: 'escalated' });
    notes.push(`${model}'s answer judged ${Number(rating).toFixed(3)} < ${threshold.toFixed(3)}`);
  }
  const last = chain[chain.length - 1] as string;
  notes.push(`escalated to ${last}`);
  return { kept: undefined, escalated, last, note: notes.join('; '), steps };
}
