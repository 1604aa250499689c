/** The OpenAI wire format of a recorded answer: one chat.completion, or the SSE events of a stream. */
import type { ReplayAnswer } from './replay-data.js';

export function usageOf(a: ReplayAnswer): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  return { prompt_tokens: a.promptTokens, completion_tokens: a.completionTokens, total_tokens: a.promptTokens + a.completionTokens };
}

export function completionBody(a: ReplayAnswer, model: string, id: string, created: number): Record<string, unknown> {
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: a.text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: usageOf(a),
  };
}

/** Splits a response into stream deltas of a few words each. */
export function chunkText(text: string, wordsPerChunk = 4): string[] {
  const parts = text.match(/\S+\s*|\s+/g) ?? [];
  const out: string[] = [];
  for (let i = 0; i < parts.length; i += wordsPerChunk) out.push(parts.slice(i, i + wordsPerChunk).join(''));
  return out.length > 0 ? out : [''];
}

/** The SSE events of a streamed answer, in order (content deltas, finish, optional usage, [DONE]). */
export function streamEvents(a: ReplayAnswer, model: string, id: string, created: number, includeUsage: boolean): string[] {
  const chunk = (delta: Record<string, unknown>, finish: string | null): string =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  const events = [chunk({ role: 'assistant', content: '' }, null), ...chunkText(a.text).map((p) => chunk({ content: p }, null)), chunk({}, 'stop')];
  if (includeUsage) events.push(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: usageOf(a) })}\n\n`);
  events.push('data: [DONE]\n\n');
  return events;
}
