/** A local server speaking one JSON wire format in a test: each request's body, parsed, is handed to `answer`, which replies. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AnthropicRequest } from '../../src/gateway/providers/anthropic-wire.js';

/** Sends `body` (JSON, or text as it is) with `status`; `contentType` for text (an SSE stream). */
export type Reply = (status: number, body: unknown, contentType?: string) => void;

export interface JsonServer {
  /** `http://127.0.0.1:PORT/v1`. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startJsonServer(answer: (body: Record<string, unknown>, reply: Reply) => void): Promise<JsonServer> {
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () =>
      answer(JSON.parse(text) as Record<string, unknown>, (status, body, contentType = 'application/json') => {
        res.writeHead(status, { 'content-type': contentType }).end(typeof body === 'string' ? body : JSON.stringify(body));
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, close: () => new Promise((r) => server.close(() => r())) };
}

/** An OpenAI chat completion answering `content`. */
export function chatCompletion(content: string): Record<string, unknown> {
  return { id: 'c1', object: 'chat.completion', created: 1, model: 'gpt', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 } };
}

/** What a fake Anthropic upstream does with a request: refuse it (a 400 with this message), stream it, or answer it. */
export interface AnthropicBehaviour {
  /** The message of the 400 Anthropic would answer, or undefined for a well-formed request. */
  refusal(r: AnthropicRequest): string | undefined;
  /** The SSE events of a streamed answer. */
  stream(r: AnthropicRequest): string;
  /** The message's content and stop reason. */
  answer(r: AnthropicRequest): Record<string, unknown>;
  readonly usage: { readonly input_tokens: number; readonly output_tokens: number };
}

/** A local server speaking Anthropic's Messages wire format; every request is pushed to `seen`. */
export function startAnthropicServer(seen: AnthropicRequest[], b: AnthropicBehaviour): Promise<JsonServer> {
  return startJsonServer((body, reply) => {
    const r = body as unknown as AnthropicRequest;
    seen.push(r);
    const refused = b.refusal(r);
    if (refused) return reply(400, { type: 'error', error: { type: 'invalid_request_error', message: refused } });
    if (r.stream) return reply(200, b.stream(r), 'text/event-stream');
    reply(200, { id: 'msg_1', type: 'message', role: 'assistant', model: r.model, ...b.answer(r), usage: b.usage });
  });
}
