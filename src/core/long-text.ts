/**
 * How much of a very long prompt the routing features read. A prompt of megabytes (the gateway takes
 * bodies up to 16 MiB) would hold the event loop for ~50 ms a megabyte in token counting and
 * encoding; routers learn nothing from its middle that its head (the instructions) and tail (the
 * question) do not say. So encoders, token features and rules read the first and last HALF
 * characters of a prompt longer than ROUTING_TEXT_MAX_CHARS, and its token count is extrapolated from
 * that sample (cl100k, within a few per cent on ordinary text). Shorter prompts are read whole: no
 * dataset prompt here comes near the limit, so evaluations are unchanged.
 */
export const ROUTING_TEXT_MAX_CHARS = 100_000;
const HALF = ROUTING_TEXT_MAX_CHARS / 2;

/** The text routing reads of a prompt: itself, or its head and tail joined by a line break. */
export function routingText(text: string): string {
  return text.length <= ROUTING_TEXT_MAX_CHARS ? text : `${text.slice(0, HALF)}\n${text.slice(text.length - HALF)}`;
}

/** `count(text)`, or for a longer text, `count` of its routing sample scaled to the whole text's length. */
export function countLong(text: string, count: (t: string) => number): number {
  if (text.length <= ROUTING_TEXT_MAX_CHARS) return count(text);
  const sample = routingText(text);
  return Math.round((count(sample) * text.length) / sample.length);
}
