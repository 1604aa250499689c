/** What the chaos runs (chaos.ts, workers-chaos.ts) send as streams: one read to its end, one its client gives up on. */
import type OpenAI from 'openai';

type Messages = Array<{ role: 'user'; content: string }>;

/** A streamed answer on route `model`, read to the end (with the usage chunk). */
export async function readToEnd(client: OpenAI, messages: Messages, model = 'auto'): Promise<void> {
  for await (const _ of await client.chat.completions.create({ model, stream: true, stream_options: { include_usage: true }, messages })) void _;
}

/** A streamed answer whose client goes away after 2–11 ms (by `k`); only a failure before that throws. */
export async function cancelledStream(client: OpenAI, messages: Messages, k: number, model = 'auto'): Promise<void> {
  const abort = new AbortController();
  setTimeout(() => abort.abort(), 2 + (k % 10));
  try {
    for await (const _ of await client.chat.completions.create({ model, stream: true, messages }, { signal: abort.signal })) void _;
  } catch (e) {
    if (!abort.signal.aborted) throw e;
  }
}
