/**
 * The in-process `replay` provider: answers with the recorded response of the requested model for
 * the requested prompt from a routing-matrix dataset, with its real token usage (an unknown prompt
 * is a 404 `prompt_not_found`). Same wire format as `switchyard replay-upstream`, without a socket.
 */
import { errorBody } from '../openai-errors.js';
import type { ReplayData } from '../replay-upstream/replay-data.js';
import { completionBody, streamEvents } from '../replay-upstream/wire.js';
import type { HttpPost, UpstreamResponse } from './openai-compatible.js';

function bodyOf(chunks: readonly string[]): UpstreamResponse['body'] {
  const text = chunks.join('');
  return Object.assign(
    (async function* () {
      for (const c of chunks) yield Buffer.from(c);
    })(),
    { text: async () => text, json: async () => JSON.parse(text) as unknown },
  );
}

export function replayPost(data: ReplayData, now: () => number = Date.now): HttpPost {
  let seq = 0;
  return async (_url, _headers, raw) => {
    const req = JSON.parse(raw) as { model: string; stream?: boolean; stream_options?: { include_usage?: boolean } | null; messages: Array<{ role: string; content: unknown }> };
    const row = data.findPrompt(req.messages);
    const answer = row === undefined ? undefined : data.answer(row, req.model);
    if (!answer) {
      return { status: 404, headers: { 'content-type': 'application/json' }, body: bodyOf([JSON.stringify(errorBody('prompt_not_found', `no recorded answer of ${req.model} for this prompt`))]) };
    }
    const id = `chatcmpl-replay-${answer.id}-${++seq}`;
    const created = Math.floor(now() / 1000);
    if (req.stream) {
      return { status: 200, headers: { 'content-type': 'text/event-stream' }, body: bodyOf(streamEvents(answer, req.model, id, created, req.stream_options?.include_usage === true)) };
    }
    return { status: 200, headers: { 'content-type': 'application/json' }, body: bodyOf([JSON.stringify(completionBody(answer, req.model, id, created))]) };
  };
}
