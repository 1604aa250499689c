/**
 * Streaming answers (SSE) from an upstream to the client: chunks pass through untouched unless they
 * carry usage (billed) or name another model (renamed); the usage chunk the client did not ask for
 * is dropped; events decoded from one upstream read go out in one write; a stream that breaks after
 * bytes were sent ends with an `error` event, never as a silent success.
 */
import type { ServerResponse } from 'node:http';
import type { ModelConfig } from './config.js';
import { SseSplitter } from './http.js';
import { errorBody } from './openai-errors.js';
import type { UpstreamResponse } from './providers/openai-compatible.js';
import { costOf } from './usage-cost.js';

export interface StreamJob {
  readonly res: ServerResponse;
  readonly upstream: UpstreamResponse;
  /** Releases the upstream call's timers. */
  readonly finish: () => void;
  readonly headers: Record<string, string>;
  readonly model: ModelConfig;
  readonly modelId: string;
  readonly clientWantsUsage: boolean;
  /** Records the request with this call's cost. */
  readonly after: (costUsd: number) => Promise<void>;
  /** Cost of other calls in the request (soft-routing proposers), for the cost comment. */
  readonly otherCalls: number;
  /** Record before the client sees the end (shared stores: feedback may reach another replica next). */
  readonly recordFirst: boolean;
}

export async function pipeStream(job: StreamJob): Promise<void> {
  const { res, upstream, finish, headers, model, modelId, clientWantsUsage, after, otherCalls, recordFirst } = job;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', ...headers });
  let cost = 0;
  let recorded = false;
  try {
    const sameModel = `"model":${JSON.stringify(modelId)}`;
    let corked = false;
    const write = (text: string): void => {
      // events decoded from one upstream read go out in one write
      if (!corked) {
        corked = true;
        res.cork();
        process.nextTick(() => {
          corked = false;
          res.uncork();
        });
      }
      res.write(text);
    };
    // one await per upstream read, not per event: an async generator's yield costs a few µs an event
    const splitter = new SseSplitter();
    for await (const chunk of upstream.body) {
      for (const event of splitter.push(chunk)) {
        const data = event.startsWith('data: ') ? event.slice(6) : undefined;
        if (data && data !== '[DONE]') {
          // parse only chunks that carry usage or name another model; pass the rest through as they are
          const hasUsage = data.includes('"usage":{');
          if (!hasUsage && data.includes(sameModel)) {
            write(`${event}\n\n`);
            continue;
          }
          const obj = JSON.parse(data) as { model?: string; choices?: unknown[]; usage?: { prompt_tokens?: number; completion_tokens?: number } | null };
          if (obj.usage) cost = costOf(obj.usage, model);
          if (obj.usage && (obj.choices?.length ?? 0) === 0 && !clientWantsUsage) continue;
          write(`data: ${obj.model === modelId ? data : JSON.stringify({ ...obj, model: modelId })}\n\n`);
        } else if (data === '[DONE]') {
          write(`: x-switchyard-cost-usd=${(cost + otherCalls).toPrecision(6)}\n\n`);
          if (recordFirst && !recorded) {
            recorded = true;
            await after(cost); // before the client sees the end (see the non-streaming path)
          }
          write('data: [DONE]\n\n');
        } else if (event.trim() !== '') {
          write(`${event}\n\n`);
        }
      }
    }
    res.end();
    if (!recorded) await after(cost);
  } catch (e) {
    // bytes were already sent: never end as a silent success
    res.write(`event: error\ndata: ${JSON.stringify(errorBody('upstream_stream_broken', `the upstream stream broke: ${(e as Error).message}`, 'server_error'))}\n\n`);
    res.end();
  } finally {
    finish();
  }
}

/**
 * Answers with a chat.completion the gateway already has (soft routing's picked answer): as JSON, or
 * as the SSE chunks a streaming upstream would have sent (role + content, finish, usage if asked).
 */
export async function sendCompletion(
  res: ServerResponse,
  completion: Record<string, unknown>,
  headers: Record<string, string>,
  stream: boolean,
  includeUsage: boolean,
  record: () => Promise<void>,
  recordFirst: boolean,
): Promise<void> {
  if (recordFirst) await record();
  if (!stream) {
    const text = JSON.stringify(completion);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  } else {
    const c = completion as { id?: string; created?: number; model?: string; choices?: Array<{ message?: Record<string, unknown>; finish_reason?: string | null }>; usage?: unknown };
    const base = { id: c.id ?? 'chatcmpl', object: 'chat.completion.chunk', created: c.created ?? 0, model: c.model };
    const choice = c.choices?.[0];
    const events = [
      { ...base, choices: [{ index: 0, delta: { ...(choice?.message ?? {}), role: 'assistant' }, logprobs: null, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: choice?.finish_reason ?? 'stop' }] },
      ...(includeUsage && c.usage ? [{ ...base, choices: [], usage: c.usage }] : []),
    ];
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', ...headers });
    res.end(`${events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('')}data: [DONE]\n\n`);
  }
  if (!recordFirst) await record();
}
