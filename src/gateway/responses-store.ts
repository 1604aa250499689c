/**
 * Stored responses of the Responses API: unless the request says `store: false` (or the config
 * `responses.store: false`), a response is kept in the gateway's store (SQLite or Redis, so every
 * replica finds it) for `responses.ttlDays`, with the conversation it ends — the messages sent (the
 * request's `instructions` apart, as OpenAI does: they are not carried over) and its answer as an
 * assistant message. A later request's `previous_response_id` continues that conversation;
 * `GET /v1/responses/{id}` returns the response and `DELETE` removes it. A stored response belongs to
 * the API key that created it (none: to every client of a gateway without keys).
 */
import { z } from 'zod';
import type { ChatMessage } from './responses-request.js';
import { decodeThinking } from './providers/anthropic-thinking.js';
import type { GatewayStore } from './store/store.js';

const StoredSchema = z.object({
  key: z.string().nullable(),
  response: z.record(z.string(), z.unknown()),
  messages: z.array(z.object({ role: z.string(), content: z.union([z.string(), z.array(z.object({ type: z.string() }).loose())]).nullable() }).loose()),
});
export type StoredResponse = { readonly key: string | null; readonly response: Record<string, unknown>; readonly messages: ChatMessage[] };

export class StoredResponses {
  constructor(
    private readonly store: GatewayStore,
    /** False: nothing is stored, and previous_response_id is refused. */
    readonly enabled: boolean,
    private readonly ttlMs: number,
    private readonly now: () => number,
  ) {}

  async save(doc: StoredResponse): Promise<void> {
    if (!this.enabled) return;
    await this.store.putExpiring('response', String(doc.response['id']), JSON.stringify(doc), this.now() + this.ttlMs);
  }

  /** The stored response `id` if the key `key` may see it (undefined: none, expired, or another key's). */
  async load(id: string, key: string | null): Promise<StoredResponse | undefined> {
    const text = await this.store.getExpiring('response', id);
    if (text === undefined) return undefined;
    const parsed = StoredSchema.safeParse(JSON.parse(text));
    if (!parsed.success || parsed.data.key !== key) return undefined;
    return parsed.data as StoredResponse;
  }

  async delete(id: string, key: string | null): Promise<boolean> {
    return (await this.load(id, key)) !== undefined && this.store.deleteExpiring('response', id);
  }
}

/** The assistant message an answer's output items make: its text, its function calls as tool calls, and its signed thinking (a reasoning item's). */
export function assistantMessage(output: readonly Record<string, unknown>[]): ChatMessage {
  let text = '';
  const calls: Array<Record<string, unknown>> = [];
  const thinking: unknown[] = [];
  for (const item of output) {
    if (item['type'] === 'reasoning') thinking.push(...decodeThinking(item['encrypted_content']));
    else if (item['type'] === 'function_call') calls.push({ id: item['call_id'], type: 'function', function: { name: item['name'], arguments: item['arguments'] } });
    else if (item['type'] === 'message') for (const part of (item['content'] as Array<{ text?: string }> | undefined) ?? []) text += part.text ?? '';
  }
  return { role: 'assistant', content: text === '' && calls.length > 0 ? null : text, ...(calls.length > 0 ? { tool_calls: calls } : {}), ...(thinking.length > 0 ? { thinking_blocks: thinking } : {}) };
}

/**
 * The input items of a stored response (`GET /v1/responses/{id}/input_items`): its conversation
 * before the answer — earlier turns included when it continued another — as Responses API items.
 */
export function inputItems(stored: StoredResponse): Array<Record<string, unknown>> {
  const id = String(stored.response['id']).replace(/^resp_/, '');
  const items: Array<Record<string, unknown>> = [];
  stored.messages.slice(0, -1).forEach((m, k) => {
    const itemId = (kind: string, j = 0): string => `${kind}_${id}_${k}${j > 0 ? `_${j}` : ''}`;
    if (m.role === 'tool') return void items.push({ type: 'function_call_output', id: itemId('fco'), call_id: m.tool_call_id ?? '', output: m.content ?? '', status: 'completed' });
    if (m.content !== null && m.content !== '') {
      const text = (t: string): Record<string, unknown> => (m.role === 'assistant' ? { type: 'output_text', text: t, annotations: [] } : { type: 'input_text', text: t });
      const parts = typeof m.content === 'string' ? [text(m.content)] : m.content.map((p) => (p.type === 'text' ? text(p.text) : { type: 'input_image', image_url: p.image_url.url, detail: p.image_url.detail ?? 'auto' }));
      items.push({ type: 'message', id: itemId('msg'), role: m.role, content: parts, status: 'completed' });
    }
    (m.tool_calls ?? []).forEach((c, j) => {
      const fn = (c['function'] ?? {}) as { name?: string; arguments?: string };
      items.push({ type: 'function_call', id: itemId('fc', j + 1), call_id: c['id'], name: fn.name ?? '', arguments: fn.arguments ?? '', status: 'completed' });
    });
  });
  return items;
}
