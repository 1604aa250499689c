/**
 * How `switchyard data collect` scores an answer, 0..1:
 * - `exact`: against the prompt's `reference` — a choice letter, a number (the answer's last one), or
 *   a short text (equal after normalising case, spaces and end punctuation, or the answer's last line
 *   holds it as whole words). Binary.
 * - `judge`: an LLM judge (any configured model) rates the answer 1–10 by the single-answer grading
 *   prompt of MT-Bench (Zheng et al. 2023), reference-guided when the prompt has a `reference`; the
 *   rating `[[r]]` becomes (r − 1) / 9.
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

/** Grades one answer; undefined when it could not be graded (the judge failed or gave no rating). */
export type Grader = (item: GradedItem, answer: string) => Promise<Grade | undefined>;

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
