/**
 * The Anthropic Messages provider: a transport adapter over any HttpPost. It receives the gateway's
 * OpenAI-shaped call, sends it as a Messages request — to Anthropic (`POST {baseURL}/messages`,
 * x-api-key, anthropic-version), Amazon Bedrock or Google Vertex AI (anthropic-platform.ts) — and
 * answers in the OpenAI wire format, streaming included, so the rest of the pipeline never knows.
 */
import { fromAnthropicMessage, toAnthropicRequest, AnthropicStreamTranslator, type AnthropicMessage, type AnthropicModelOptions, type OpenAIChatRequest } from './anthropic-wire.js';
import { ANTHROPIC_VERSION, platformCall, type AnthropicPlatform, type PlatformAuth, type PlatformCall } from './anthropic-platform.js';
import { eventMessages } from './aws-event-stream.js';
import { sseEvents } from '../http.js';
import type { HttpPost, UpstreamResponse } from './openai-compatible.js';

export { ANTHROPIC_VERSION };

function textBody(text: string): UpstreamResponse['body'] {
  return Object.assign(
    (async function* () {
      yield Buffer.from(text);
    })(),
    { text: async () => text, json: async () => JSON.parse(text) as unknown },
  );
}

export interface AnthropicPostOptions extends AnthropicModelOptions {
  /** Where the model is served (default Anthropic's API) and how it authenticates there without a key. */
  readonly platform?: AnthropicPlatform | undefined;
  readonly auth?: PlatformAuth | undefined;
}

/**
 * Bedrock's stream as Anthropic's server-sent events: each `chunk` message's bytes are one event's
 * JSON; an exception message (throttling, a model error midway) breaks the stream with its message.
 */
async function* bedrockEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  for await (const m of eventMessages(body)) {
    if (m.headers[':message-type'] === 'exception' || m.headers[':message-type'] === 'error') {
      const what = String(m.headers[':exception-type'] ?? m.headers[':error-code'] ?? 'exception');
      throw new Error(`Bedrock: ${what}: ${m.payload.toString('utf8').slice(0, 500)}`);
    }
    if (m.headers[':event-type'] !== 'chunk') continue;
    const { bytes } = JSON.parse(m.payload.toString('utf8')) as { bytes?: string };
    if (bytes) yield `data: ${Buffer.from(bytes, 'base64').toString('utf8')}`;
  }
}

/** A call that could not be authenticated (no credentials, a metadata server that does not answer): the upstream's 401, with why. */
function unauthenticated(why: string): UpstreamResponse {
  return { status: 401, headers: { 'content-type': 'application/json' }, body: textBody(JSON.stringify({ error: { type: 'authentication_error', message: why } })) };
}

/** `options`: the model's declared output limit (what a request that sets no limit asks for), how it thinks, where it is served. */
export function anthropicPost(inner: HttpPost, now: () => number = Date.now, options: AnthropicPostOptions = {}): HttpPost {
  const platform = options.platform ?? 'anthropic';
  const auth = options.auth ?? { now };
  return async (url, headers, raw, signal) => {
    const req = JSON.parse(raw) as OpenAIChatRequest;
    // the model's own headers (an `anthropic-beta`, a newer `anthropic-version`) and trace context pass on; the key goes as the platform wants it
    const { authorization, 'content-type': _type, ...rest } = headers;
    const key = authorization?.replace(/^Bearer /, '');
    let call: PlatformCall;
    try {
      call = await platformCall(platform, url, rest, toAnthropicRequest(req, req.model, options), key, auth);
    } catch (e) {
      return unauthenticated(`cannot authenticate to ${platform}: ${(e as Error).message}`);
    }
    const up = await inner(call.url, call.headers, call.body, signal);
    if (up.status < 200 || up.status >= 300) return up;
    const created = Math.floor(now() / 1000);
    if (!req.stream) {
      const message = (await up.body.json()) as AnthropicMessage;
      return { status: up.status, headers: { 'content-type': 'application/json' }, body: textBody(JSON.stringify(fromAnthropicMessage(message, req.model, created))) };
    }
    const translator = new AnthropicStreamTranslator(req.model, created);
    const events = call.stream === 'aws-event-stream' ? bedrockEvents(up.body) : sseEvents(up.body);
    async function* translate(): AsyncGenerator<Uint8Array> {
      for await (const event of events) for (const out of translator.translate(event)) yield Buffer.from(out);
    }
    const stream = translate();
    return { status: up.status, headers: { 'content-type': 'text/event-stream' }, body: Object.assign(stream, { text: async () => '', json: async () => ({}) }) };
  };
}
