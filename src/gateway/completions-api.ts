/**
 * The legacy completions endpoint (`POST /v1/completions`, `client.completions.create`), still used by
 * evaluation harnesses and older tools: the prompt becomes the user message of a chat completion sent
 * through the gateway's own chat pipeline (`loopback.ts`: routing, auth, budgets, limits, the decision
 * log), and the answer comes back as a `text_completion` — or its stream of chunks. The routed models
 * are chat models, so the text is their answer to the prompt, not a raw continuation of it. What has
 * no chat form (several prompts, token ids, `echo`, `logprobs`, `suffix`, `best_of` > 1) is refused
 * with the field named.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { readJsonBody, sendError, sendJson, type ChatRequest } from './http.js';
import { callOwnChat, chatChunks, relayError, type LoopbackDeps } from './loopback.js';

export const CompletionsRequestSchema = z
  .object({
    model: z.string().min(1),
    prompt: z.union([z.string(), z.array(z.unknown())]),
    max_tokens: z.number().int().positive().nullable().optional(),
    temperature: z.number().nullable().optional(),
    top_p: z.number().nullable().optional(),
    stop: z.union([z.string(), z.array(z.string())]).nullable().optional(),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullable().optional(),
    echo: z.boolean().nullable().optional(),
    logprobs: z.number().nullable().optional(),
    suffix: z.string().nullable().optional(),
    best_of: z.number().int().nullable().optional(),
    seed: z.number().int().nullable().optional(),
    presence_penalty: z.number().nullable().optional(),
    frequency_penalty: z.number().nullable().optional(),
    user: z.string().optional(),
  })
  .loose();
type CompletionsRequest = z.infer<typeof CompletionsRequestSchema>;

/** The chat request for a completions request, or the field that has no chat form. */
export function completionToChat(r: CompletionsRequest): { ok: true; chat: ChatRequest } | { ok: false; message: string } {
  const prompts = typeof r.prompt === 'string' ? [r.prompt] : r.prompt;
  if (prompts.length !== 1 || typeof prompts[0] !== 'string') return { ok: false, message: 'prompt: one prompt (a string) per request; several prompts or token ids are not supported' };
  if (r.echo) return { ok: false, message: 'echo: not supported (the routed models are chat models)' };
  if (r.logprobs !== undefined && r.logprobs !== null) return { ok: false, message: 'logprobs: not supported' };
  if (r.suffix) return { ok: false, message: 'suffix: not supported (no insertion mode)' };
  if (r.best_of !== undefined && r.best_of !== null && r.best_of > 1) return { ok: false, message: 'best_of: only 1 is supported' };
  const chat: Record<string, unknown> = { model: r.model, messages: [{ role: 'user', content: prompts[0] }] };
  for (const k of ['max_tokens', 'temperature', 'top_p', 'stop', 'seed', 'presence_penalty', 'frequency_penalty', 'user'] as const) if (r[k] !== undefined && r[k] !== null) chat[k] = r[k];
  return { ok: true, chat: chat as ChatRequest };
}

interface ChatLike {
  readonly model?: string;
  readonly created?: number;
  readonly choices?: ReadonlyArray<{ readonly message?: { readonly content?: unknown }; readonly delta?: { readonly content?: string | null }; readonly finish_reason?: string | null }>;
  readonly usage?: unknown;
}

const completion = (id: string, created: number, model: string, text: string, finish: string | null, usage?: unknown): Record<string, unknown> => ({
  id,
  object: 'text_completion',
  created,
  model,
  choices: [{ text, index: 0, logprobs: null, finish_reason: finish }],
  ...(usage ? { usage } : {}),
});

/** POST /v1/completions: translate, call the gateway's own /v1/chat/completions, translate back. */
export async function serveCompletions(req: IncomingMessage, res: ServerResponse, deps: LoopbackDeps): Promise<void> {
  const ids = { 'x-request-id': deps.requestId };
  const body = await readJsonBody(req, res, deps.bodyLimitBytes, CompletionsRequestSchema, ids);
  if (!body) return;
  const t = completionToChat(body);
  if (!t.ok) return sendError(res, 400, 'invalid_request', t.message, ids);
  const stream = body.stream === true;
  const up = await callOwnChat(req, res, deps, t.chat, stream);
  if (up.status !== 200) return relayError(res, up);
  const id = `cmpl-${randomUUID().replace(/-/g, '')}`;
  const created = Math.floor(deps.now() / 1000);
  if (!stream) {
    const c = JSON.parse(await up.body.text()) as ChatLike;
    const content = c.choices?.[0]?.message?.content;
    return sendJson(res, 200, completion(id, c.created ?? created, c.model ?? body.model, typeof content === 'string' ? content : '', c.choices?.[0]?.finish_reason ?? 'stop', c.usage), up.headers);
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...up.headers });
  const wantsUsage = body.stream_options?.include_usage === true;
  for await (const chunk of chatChunks<ChatLike & { error?: { message?: string; code?: string } }>(up.body)) {
    if (chunk.error) {
      // the chat stream broke after bytes were sent: the completion stream ends with the same error event
      res.end(`event: error\ndata: ${JSON.stringify({ error: chunk.error })}\n\n`);
      return;
    }
    const choice = chunk.choices?.[0];
    const delta = choice?.delta?.content ?? '';
    if (choice && (delta !== '' || choice.finish_reason)) res.write(`data: ${JSON.stringify(completion(id, created, chunk.model ?? body.model, delta, choice.finish_reason ?? null))}\n\n`);
    if (chunk.usage && wantsUsage) res.write(`data: ${JSON.stringify({ id, object: 'text_completion', created, model: chunk.model ?? body.model, choices: [], usage: chunk.usage })}\n\n`);
  }
  res.end('data: [DONE]\n\n');
}
