/**
 * The Anthropic Messages provider: a transport adapter over any HttpPost. It receives the gateway's
 * OpenAI-shaped call, sends `POST {baseURL}/messages` (x-api-key, anthropic-version) and answers in
 * the OpenAI wire format, streaming included, so the rest of the pipeline never knows.
 */
import { fromAnthropicMessage, toAnthropicRequest, AnthropicStreamTranslator, type AnthropicMessage, type AnthropicModelOptions, type OpenAIChatRequest } from './anthropic-wire.js';
import { sseEvents } from '../http.js';
import type { HttpPost, UpstreamResponse } from './openai-compatible.js';

export const ANTHROPIC_VERSION = '2023-06-01';

function textBody(text: string): UpstreamResponse['body'] {
  return Object.assign(
    (async function* () {
      yield Buffer.from(text);
    })(),
    { text: async () => text, json: async () => JSON.parse(text) as unknown },
  );
}

/** `options`: the model's declared output limit (what a request that sets no limit asks for) and how it thinks. */
export function anthropicPost(inner: HttpPost, now: () => number = Date.now, options: AnthropicModelOptions = {}): HttpPost {
  return async (url, headers, raw, signal) => {
    const req = JSON.parse(raw) as OpenAIChatRequest;
    const target = new URL(url.href);
    target.pathname = target.pathname.replace(/\/chat\/completions$/, '/messages');
    // the model's own headers (an `anthropic-beta`, a newer `anthropic-version`) and trace context pass on; the key goes as x-api-key
    const { authorization, 'content-type': _type, ...rest } = headers;
    const key = authorization?.replace(/^Bearer /, '');
    const up = await inner(target, { 'content-type': 'application/json', 'anthropic-version': ANTHROPIC_VERSION, ...rest, ...(key ? { 'x-api-key': key } : {}) }, JSON.stringify(toAnthropicRequest(req, req.model, options)), signal);
    if (up.status < 200 || up.status >= 300) return up;
    const created = Math.floor(now() / 1000);
    if (!req.stream) {
      const message = (await up.body.json()) as AnthropicMessage;
      return { status: up.status, headers: { 'content-type': 'application/json' }, body: textBody(JSON.stringify(fromAnthropicMessage(message, req.model, created))) };
    }
    const translator = new AnthropicStreamTranslator(req.model, created);
    async function* translate(): AsyncGenerator<Uint8Array> {
      for await (const event of sseEvents(up.body)) for (const out of translator.translate(event)) yield Buffer.from(out);
    }
    const stream = translate();
    return { status: up.status, headers: { 'content-type': 'text/event-stream' }, body: Object.assign(stream, { text: async () => '', json: async () => ({}) }) };
  };
}
