/**
 * Streaming answers (SSE) from an upstream to the client: chunks pass through untouched unless they
 * carry usage (billed) or name another model (renamed); the usage chunk the client did not ask for
 * is dropped; the events of one upstream read go out in one write; a stream that breaks after
 * bytes were sent ends with an `error` event, never as a silent success.
 */
import type { ServerResponse } from 'node:http';
import type { ModelConfig } from './config.js';
import { SseByteSplitter } from './http.js';
import { errorBody } from './openai-errors.js';
import type { CallSignal, UpstreamResponse } from './providers/openai-compatible.js';
import { costOf, normalisedUsage, type UsageLike } from './usage-cost.js';

/** How a relayed stream ended: whole, broken by the upstream, or cancelled because the client went away. */
export type StreamEnd = 'done' | 'broken' | 'cancelled';

export interface StreamJob {
  readonly res: ServerResponse;
  readonly upstream: UpstreamResponse;
  /** Releases the upstream call's timers. */
  readonly finish: () => void;
  readonly headers: Record<string, string>;
  readonly model: ModelConfig;
  readonly modelId: string;
  readonly clientWantsUsage: boolean;
  /**
   * Records the request: with the cost the usage chunk gave (0 if none came), how the stream ended,
   * and how many data events were passed on (an estimate of the output tokens of a cut stream).
   */
  readonly after: (costUsd: number, end: StreamEnd, dataEvents: number, answer: undefined, usage: UsageLike | undefined, serviceTier: string | undefined) => Promise<void>;
  /** Aborted when the client went away: a stream that breaks then was cancelled, not broken. */
  readonly client?: CallSignal | undefined;
  /** Cost of other calls in the request (soft-routing proposers), for the cost comment. */
  readonly otherCalls: number;
  /** Record before the client sees the end (shared stores: feedback may reach another replica next). */
  readonly recordFirst: boolean;
  /** Given every data event (the answer cache rebuilds the completion from them). */
  readonly collect?: { push(data: string): void } | undefined;
}

const DATA = Buffer.from('data: ');
const DONE = Buffer.from('data: [DONE]');
const DONE_EVENT = Buffer.from('data: [DONE]\n\n');
const USAGE = Buffer.from('"usage":{');
/** The event is `data: [DONE]` (and line ends), not a chunk that happens to contain that text. */
const isDone = (event: Buffer): boolean => event.subarray(0, DONE.length).equals(DONE) && event.subarray(DONE.length).every((b) => b === 0x0a || b === 0x0d);

export async function pipeStream(job: StreamJob): Promise<void> {
  const { res, upstream, finish, headers, model, modelId, clientWantsUsage, after, otherCalls, recordFirst, collect } = job;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
  let cost = 0;
  let usage: UsageLike | undefined;
  let tier: string | undefined; // the service tier the answer reports (billed at its multiple)
  let events = 0;
  let recorded = false;
  let ended = false;
  try {
    const sameModel = Buffer.from(`"model":${JSON.stringify(modelId)}`);
    // what one upstream read produced goes out in one write (one chunk of the client's response)
    const out: Buffer[] = [];
    const flush = (): void => {
      if (out.length === 0 || ended) return;
      res.write(out.length === 1 ? (out[0] as Buffer) : Buffer.concat(out));
      out.length = 0;
    };
    // events stay bytes unless they must be read: one await per upstream read, no decoding to pass one through
    const splitter = new SseByteSplitter();
    for await (const chunk of upstream.body) {
      for (const event of splitter.push(chunk)) {
        if (ended) break; // anything after [DONE] has nowhere to go (and must not end the response twice)
        const isData = event.subarray(0, DATA.length).equals(DATA);
        if (isData && !isDone(event)) {
          events++;
          collect?.push(event.toString('utf8', DATA.length));
          // parse only chunks that carry usage or name another model; pass the rest through as they are
          if (!event.includes(USAGE) && event.includes(sameModel)) {
            out.push(event);
            continue;
          }
          const data = event.toString('utf8', DATA.length).trimEnd();
          const obj = JSON.parse(data) as { model?: string; choices?: unknown[]; usage?: UsageLike | null; service_tier?: unknown };
          if (typeof obj.service_tier === 'string') tier = obj.service_tier;
          const normal = obj.usage ? normalisedUsage(obj.usage) : obj.usage;
          if (normal) (usage = normal), (cost = costOf(normal, model, tier));
          if (normal && (obj.choices?.length ?? 0) === 0 && !clientWantsUsage) continue;
          // re-serialised only to rename the model or to count thinking the API left out of completion_tokens
          out.push(Buffer.from(`data: ${obj.model === modelId && normal === obj.usage ? data : JSON.stringify({ ...obj, model: modelId, ...(normal ? { usage: normal } : {}) })}\n\n`));
        } else if (isData) {
          out.push(Buffer.from(`: x-switchyard-cost-usd=${(cost + otherCalls).toPrecision(6)}\n\n`));
          if (recordFirst && !recorded) {
            recorded = true;
            flush();
            await after(cost, 'done', events, undefined, usage, tier); // before the client sees the end (see the non-streaming path)
          }
          out.push(DONE_EVENT);
          // the end: the last bytes and the chunked terminator in one write
          res.end(Buffer.concat(out));
          ended = true;
          out.length = 0;
        } else if (event.toString('utf8').trim() !== '') {
          out.push(event);
        }
      }
      flush();
    }
    if (!ended) res.end();
    if (!recorded) await after(cost, 'done', events, undefined, usage, tier);
  } catch (e) {
    // the client went away (its call was cancelled): nobody is left to tell
    const end: StreamEnd = ended ? 'done' : job.client?.aborted ? 'cancelled' : 'broken';
    // bytes were already sent: never end as a silent success (a break after [DONE] lost nothing)
    if (end === 'broken') res.end(`event: error\ndata: ${JSON.stringify(errorBody('upstream_stream_broken', `the upstream stream broke: ${(e as Error).message}`, 'server_error'))}\n\n`);
    if (!recorded) await after(cost, end, events, undefined, usage, tier);
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
    const message = (choice?.message ?? {}) as { tool_calls?: Array<Record<string, unknown>> };
    // a delta's tool calls carry their index (stream readers assemble calls by it)
    const toolCalls = message.tool_calls?.map((call, index) => ({ index, ...call }));
    const events = [
      { ...base, choices: [{ index: 0, delta: { ...message, ...(toolCalls ? { tool_calls: toolCalls } : {}), role: 'assistant' }, logprobs: null, finish_reason: null }] },
      { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: choice?.finish_reason ?? 'stop' }] },
      ...(includeUsage && c.usage ? [{ ...base, choices: [], usage: c.usage }] : []),
    ];
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
    res.end(`${events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('')}data: [DONE]\n\n`);
  }
  if (!recordFirst) await record();
}

/**
 * Answers with an upstream's JSON completion (renamed to the model that answered, its cost in a
 * header) and has it recorded (`after`: before the answer with a shared store, where feedback may
 * reach another replica next; after it otherwise); false, with nothing sent, when the body broke off
 * or is not JSON.
 */
export async function answerJson(
  res: ServerResponse,
  result: { response: UpstreamResponse; finish: () => void },
  model: ModelConfig,
  modelId: string,
  headers: Record<string, string>,
  otherCalls: number,
  after: (callCost: number, end: StreamEnd, dataEvents: number, answer: Record<string, unknown>) => Promise<void>,
  recordFirst: boolean,
): Promise<boolean> {
  let raw: string;
  let json: { model?: string; usage?: UsageLike; service_tier?: unknown };
  try {
    raw = await result.response.body.text();
    json = JSON.parse(raw) as typeof json;
  } catch {
    return false;
  } finally {
    result.finish();
  }
  const usage = json.usage ? normalisedUsage(json.usage) : undefined;
  const recounted = usage !== undefined && usage !== json.usage;
  if (recounted) json = { ...json, usage };
  const callCost = costOf(json.usage, model, typeof json.service_tier === 'string' ? json.service_tier : undefined);
  // re-serialise only to rename the model, or to count thinking the API left out of completion_tokens
  const out = json.model === modelId && !recounted ? raw : JSON.stringify({ ...json, model: modelId });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out), ...headers, 'x-switchyard-cost-usd': (callCost + otherCalls).toPrecision(6) });
  if (recordFirst) await after(callCost, 'done', 0, json);
  res.end(out);
  if (!recordFirst) await after(callCost, 'done', 0, json);
  return true;
}
