/**
 * How `switchyard data collect` scores an answer, 0..1:
 * - `exact`: against the prompt's `reference` — a choice letter, a number (the answer's last one), or
 *   a short text (equal after normalising case, spaces and end punctuation, or the answer's last line
 *   holds it as whole words). Binary.
 * - `judge`: an LLM judge (any configured model) rates the answer 1–10 by the single-answer grading
 *   prompt of MT-Bench (Zheng et al. 2023), reference-guided when the prompt has a `reference`; the
 *   rating `[[r]]` becomes (r − 1) / 9.
 * - `pairwise` (`--judge MODEL --versus BASELINE`): the judge compares each answer with the baseline
 *   model's answer to the same prompt by MT-Bench's pairwise prompt, twice with the two answers in
 *   swapped positions (a judge's position bias cancels out); win 1, tie 0.5, loss 0, averaged over the
 *   two orders — a win rate against the baseline, as AlpacaEval scores. The baseline itself scores 0.5.
 */
import type { ModelConfig } from '../../gateway/config.js';
import { propose, type ProposalDeps } from '../../gateway/mixture.js';
import type { UpstreamTimeouts } from '../../gateway/providers/openai-compatible.js';

export interface GradedItem {
  readonly prompt: string;
  readonly reference?: string | undefined;
}

export interface Grade {
  readonly score: number;
  /** What grading cost (the judge's call), USD. */
  readonly costUsd: number;
}

/** What a grader may ask of the collection: the baseline model's answer to the same prompt (pairwise grading). */
export interface GradeContext {
  baselineAnswer(): Promise<string | undefined>;
}

/** Grades one answer of `model`; undefined when it could not be graded (the judge failed or gave no rating). */
export type Grader = (item: GradedItem, answer: string, model: string, context: GradeContext) => Promise<Grade | undefined>;

const LETTER = /^\(?([A-E])(?:[).:*\s]|$)/;
const LETTER_STATED = /\b(?:answer|option|choice)\s*(?:is|:)?\s*\(?([A-E])\)?(?![A-Za-z])/;
const NUMBER = /-?\d[\d,]*(?:\.\d+)?/g;

const normalise = (s: string): string => s.toLowerCase().replace(/\s+/g, ' ').trim().replace(/^[\s"'`*]+|[\s"'`*.!?]+$/g, '');
const asNumber = (s: string): number => Number(s.replace(/,/g, ''));

/** The choice letter an answer gives: its first token, or "the answer is X". */
export function choiceOf(answer: string): string | undefined {
  const t = answer.trim().replace(/^\**/, '');
  return (LETTER.exec(t)?.[1] ?? LETTER_STATED.exec(t)?.[1])?.toUpperCase();
}

/** The answer's last number (GSM8K-style final answers), if any. */
export function lastNumber(answer: string): number | undefined {
  const all = answer.match(NUMBER);
  return all && all.length > 0 ? asNumber(all[all.length - 1] as string) : undefined;
}

/** Whether `answer` gives `reference` (see the module comment). */
export function matchesReference(answer: string, reference: string): boolean {
  const ref = reference.trim();
  if (/^[A-Ea-e]$/.test(ref)) return choiceOf(answer) === ref.toUpperCase();
  if (/^-?\d[\d,]*(?:\.\d+)?$/.test(ref)) {
    const n = lastNumber(answer);
    return n !== undefined && Math.abs(n - asNumber(ref)) < 1e-9;
  }
  const a = normalise(answer);
  const r = normalise(ref);
  if (r === '') return false;
  if (a === r) return true;
  const lastLine = normalise(answer.trim().split('\n').pop() ?? '');
  return new RegExp(`(^|\\W)${r.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\W|$)`).test(lastLine);
}

export const exactGrader: Grader = async (item, answer) => (item.reference === undefined ? undefined : { score: matchesReference(answer, item.reference) ? 1 : 0, costUsd: 0 });

/** The judge's instructions (MT-Bench single-answer grading, and its reference-guided variant). */
export function judgeMessages(item: GradedItem, answer: string): Array<{ role: 'system' | 'user'; content: string }> {
  const system = 'You are a helpful assistant.';
  const task = item.reference
    ? 'Please act as an impartial judge and evaluate the quality of the response provided by an AI assistant to the user question displayed below. ' +
      'Your evaluation should consider correctness and helpfulness. You will be given a reference answer and the assistant\'s answer. ' +
      'Begin your evaluation by comparing the assistant\'s answer with the reference answer. Identify and correct any mistakes. Be as objective as possible. ' +
      'After providing your explanation, you must rate the response on a scale of 1 to 10 by strictly following this format: "[[rating]]", for example: "Rating: [[5]]".'
    : 'Please act as an impartial judge and evaluate the quality of the response provided by an AI assistant to the user question displayed below. ' +
      'Your evaluation should consider factors such as the helpfulness, relevance, accuracy, depth, creativity, and level of detail of the response. ' +
      'Begin your evaluation by providing a short explanation. Be as objective as possible. ' +
      'After providing your explanation, you must rate the response on a scale of 1 to 10 by strictly following this format: "[[rating]]", for example: "Rating: [[5]]".';
  const reference = item.reference ? `\n\n[The Start of Reference Answer]\n${item.reference}\n[The End of Reference Answer]` : '';
  const user = `${task}\n\n[Question]\n${item.prompt}${reference}\n\n[The Start of Assistant's Answer]\n${answer}\n[The End of Assistant's Answer]`;
  return [
    { role: 'system', content: system },
    { role: 'user', content: user },
  ];
}

/** The judge's rating 1–10 as a score in 0..1 (the last `[[r]]` it wrote), or undefined. */
export function ratingOf(judgement: string): number | undefined {
  const all = [...judgement.matchAll(/\[\[(\d+(?:\.\d+)?)\]\]/g)];
  const r = Number(all[all.length - 1]?.[1]);
  if (!Number.isFinite(r) || r < 1 || r > 10) return undefined;
  return (r - 1) / 9;
}

/** A judge model (any configured one) grading by `judgeMessages`, at temperature 0. */
export function judgeGrader(judge: string, configs: Readonly<Record<string, ModelConfig>>, timeouts: UpstreamTimeouts, deps: ProposalDeps): Grader {
  return async (item, answer) => {
    const [verdict] = await propose([judge], configs, { model: judge, messages: judgeMessages(item, answer), temperature: 0 }, timeouts, deps);
    const score = verdict ? ratingOf(verdict.text) : undefined;
    return verdict && score !== undefined ? { score, costUsd: verdict.costUsd } : undefined;
  };
}

/** MT-Bench's pairwise prompt: which of two answers is better ([[A]], [[B]], or [[C]] for a tie). */
export function pairwiseMessages(item: GradedItem, a: string, b: string): Array<{ role: 'system' | 'user'; content: string }> {
  const task =
    'Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to the user question displayed below. ' +
    "You should choose the assistant that follows the user's instructions and answers the user's question better. " +
    'Your evaluation should consider factors such as the helpfulness, relevance, accuracy, depth, creativity, and level of detail of their responses. ' +
    'Begin your evaluation by comparing the two responses and provide a short explanation. ' +
    'Avoid any position biases and ensure that the order in which the responses were presented does not influence your decision. ' +
    'Do not allow the length of the responses to influence your evaluation. Do not favor certain names of the assistants. Be as objective as possible. ' +
    'After providing your explanation, output your final verdict by strictly following this format: "[[A]]" if assistant A is better, "[[B]]" if assistant B is better, and "[[C]]" for a tie.';
  const reference = item.reference ? `\n\n[The Start of Reference Answer]\n${item.reference}\n[The End of Reference Answer]` : '';
  const user = `${task}\n\n[User Question]\n${item.prompt}${reference}\n\n[The Start of Assistant A's Answer]\n${a}\n[The End of Assistant A's Answer]\n\n[The Start of Assistant B's Answer]\n${b}\n[The End of Assistant B's Answer]`;
  return [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: user },
  ];
}

/** The judge's last verdict: `A`, `B` or `C` (a tie), or undefined. */
export function verdictOf(judgement: string): 'A' | 'B' | 'C' | undefined {
  const all = [...judgement.matchAll(/\[\[([ABC])\]\]/g)];
  return all[all.length - 1]?.[1] as 'A' | 'B' | 'C' | undefined;
}

/**
 * Pairwise grading against `baseline`'s answer (from the collection: `context.baselineAnswer()`), both orders: the candidate's
 * mean of win 1 / tie 0.5 / loss 0. An order whose verdict is missing is left out; none: ungraded.
 */
export function pairwiseGrader(judge: string, baseline: string, configs: Readonly<Record<string, ModelConfig>>, timeouts: UpstreamTimeouts, deps: ProposalDeps): Grader {
  const ask = async (item: GradedItem, a: string, b: string): Promise<{ verdict: 'A' | 'B' | 'C' | undefined; costUsd: number }> => {
    const [v] = await propose([judge], configs, { model: judge, messages: pairwiseMessages(item, a, b), temperature: 0 }, timeouts, deps);
    return { verdict: v ? verdictOf(v.text) : undefined, costUsd: v?.costUsd ?? 0 };
  };
  return async (item, candidate, model, context) => {
    if (model === baseline) return { score: 0.5, costUsd: 0 };
    const base = await context.baselineAnswer();
    if (base === undefined) return undefined;
    const [first, second] = await Promise.all([ask(item, base, candidate), ask(item, candidate, base)]); // the candidate as B, then as A
    const points = [first.verdict === undefined ? undefined : first.verdict === 'B' ? 1 : first.verdict === 'C' ? 0.5 : 0, second.verdict === undefined ? undefined : second.verdict === 'A' ? 1 : second.verdict === 'C' ? 0.5 : 0].filter((p): p is number => p !== undefined);
    if (points.length === 0) return undefined;
    return { score: points.reduce((a, b) => a + b, 0) / points.length, costUsd: first.costUsd + second.costUsd };
  };
}
