/**
 * `replay-upstream`: a standalone OpenAI-compatible server that answers chat completions with the
 * recorded response of the requested model for the requested prompt, with its real token usage —
 * plain JSON or SSE streaming (with the usage chunk when `stream_options.include_usage` is set).
 * For tests and benchmarks it injects latency and faults: an HTTP status (429 carries
 * `retry-after`), a timeout (no answer), a connection reset, or a stream cut midway — at a seeded
 * random rate, or on demand with the request header `x-replay-fault`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listenOn } from '../../core/listen.js';
import { createRng, type Rng } from '../../core/random.js';
import { ChatRequestSchema, parseJsonBody, readBody, sendError, sendJson } from '../http.js';
import { ReplayData } from './replay-data.js';
import { chunkText, completionBody, streamEvents } from './wire.js';
import { anthropicStreamEvents } from '../providers/anthropic-wire.js';
import { z } from 'zod';

export { chunkText } from './wire.js';

const AnthropicRequestSchema = z.object({ model: z.string().min(1), messages: z.array(z.object({ role: z.string(), content: z.unknown() }).loose()).min(1), stream: z.boolean().optional() }).loose();

export type Fault = 'timeout' | 'reset' | 'cut' | `${number}`;

export interface ReplayUpstreamOptions {
  readonly latencyMs?: number;
  /** Delay between streamed chunks. */
  readonly chunkDelayMs?: number;
  /** Share of requests that get a fault (seeded), drawn from `faults`. */
  readonly faultRate?: number;
  readonly faults?: readonly Fault[];
  readonly seed?: number;
  /** Unix seconds for `created` (injectable for reproducible bodies). */
  readonly now?: () => number;
  readonly maxBodyBytes?: number;
}

const FAULT = /^(timeout|reset|cut|[1-5][0-9][0-9])$/;

const sleep = (ms: number): Promise<void> => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

export class ReplayUpstream {
  private server: Server | undefined;
  private readonly rng: Rng;
  private seq = 0;
  /** Chat and messages requests received so far (counted on arrival, before any latency or fault). */
  received = 0;

  constructor(
    readonly data: ReplayData,
    private readonly options: ReplayUpstreamOptions = {},
  ) {
    this.rng = createRng(options.seed ?? 0);
    for (const f of options.faults ?? []) if (!FAULT.test(f)) throw new Error(`replay-upstream: unknown fault "${f}" (timeout, reset, cut or an HTTP status)`);
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server = createServer((req, res) => void this.handle(req, res).catch(() => res.destroy()));
    const bound = await listenOn(this.server, port, host, '--port');
    return `http://${host}:${bound}/v1`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private pickFault(req: IncomingMessage): Fault | undefined {
    const asked = req.headers['x-replay-fault'];
    if (typeof asked === 'string' && FAULT.test(asked)) return asked as Fault;
    const faults = this.options.faults ?? [];
    if (faults.length === 0 || !(this.rng.next() < (this.options.faultRate ?? 0))) return undefined;
    return faults[this.rng.int(faults.length)];
  }

  /** The same recorded answers in Anthropic's Messages format (for the gateway's Anthropic provider). */
  private async anthropic(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req, this.options.maxBodyBytes ?? 16 << 20);
    if (text === undefined) return sendError(res, 413, 'invalid_request', 'request body too large');
    const body = parseJsonBody(res, text, AnthropicRequestSchema);
    if (!body) return;
    const row = this.data.findPrompt(body.messages);
    const answer = row === undefined ? undefined : this.data.answer(row, body.model);
    if (!answer) return sendError(res, 404, 'prompt_not_found', `no recorded answer of ${body.model} for this prompt`);
    await sleep(this.options.latencyMs ?? 0);
    const id = `msg_replay_${answer.id}_${++this.seq}`;
    const usage = { input_tokens: answer.promptTokens, output_tokens: answer.completionTokens };
    if (!body.stream) {
      sendJson(res, 200, { id, type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: answer.text }], stop_reason: 'end_turn', stop_sequence: null, usage });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const e of anthropicStreamEvents(id, body.model, chunkText(answer.text), usage)) res.write(e);
    res.end();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && url === '/v1/models') {
      sendJson(res, 200, { object: 'list', data: this.data.models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'replay' })) });
      return;
    }
    if (req.method === 'POST' && (url === '/v1/messages' || url === '/v1/chat/completions')) this.received++;
    if (req.method === 'POST' && url === '/v1/messages') return this.anthropic(req, res);
    if (req.method !== 'POST' || url !== '/v1/chat/completions') {
      sendError(res, 404, 'not_found', `no route for ${req.method} ${url}`);
      return;
    }
    const text = await readBody(req, this.options.maxBodyBytes ?? 16 << 20);
    if (text === undefined) {
      sendError(res, 413, 'invalid_request', 'request body too large');
      return;
    }
    const body = parseJsonBody(res, text, ChatRequestSchema);
    if (!body) return;
    if (!this.data.models.includes(body.model)) {
      sendError(res, 404, 'model_not_found', `model "${body.model}" is not served by this replay upstream`);
      return;
    }
    const row = this.data.findPrompt(body.messages);
    const answer = row === undefined ? undefined : this.data.answer(row, body.model);
    if (!answer) {
      sendError(res, 404, 'prompt_not_found', `no recorded answer of ${body.model} for this prompt`);
      return;
    }
    const fault = this.pickFault(req);
    await sleep(this.options.latencyMs ?? 0);
    if (fault === 'timeout') return; // hold the connection; the client's timeout decides
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault !== undefined && fault !== 'cut') {
      const status = Number(fault);
      const headers: Record<string, string> = status === 429 ? { 'retry-after': '1' } : {};
      sendError(res, status, 'injected_fault', `injected fault ${status}`, headers, status === 429 ? 'rate_limit_error' : 'server_error');
      return;
    }
    const id = `chatcmpl-replay-${answer.id}-${++this.seq}`;
    const created = Math.floor(this.options.now?.() ?? Date.now() / 1000);
    if (!body.stream) {
      const full = JSON.stringify(completionBody(answer, body.model, id, created));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(full) });
      if (fault === 'cut') {
        res.write(full.slice(0, Math.floor(full.length / 2)));
        await sleep(20); // let it reach the client, then drop the connection
        res.socket?.destroy();
        return;
      }
      res.end(full);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const events = streamEvents(answer, body.model, id, created, body.stream_options?.include_usage === true);
    const content = events.length - 3 - (body.stream_options?.include_usage ? 1 : 0); // deltas between the role chunk and the finish chunk
    res.write(events[0] as string);
    for (let k = 1; k < events.length; k++) {
      if (fault === 'cut' && k - 1 >= Math.floor(content / 2)) {
        await sleep(20);
        res.socket?.destroy();
        return;
      }
      if (k <= content) await sleep(this.options.chunkDelayMs ?? 0);
      res.write(events[k] as string);
    }
    res.end();
  }
}
