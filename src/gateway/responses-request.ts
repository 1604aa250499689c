/**
 * The Responses API request (`POST /v1/responses`) and its translation to a chat completion request:
 * `instructions` and `developer` items become system messages, `input` (a string, or message items
 * with text and image parts, function calls and their outputs) the conversation, function `tools` and
 * `tool_choice` their chat forms, `max_output_tokens` `max_tokens`, `text.format` `response_format`,
 * `reasoning.effort` `reasoning_effort`, `text.verbosity` `verbosity`. A `reasoning` item sent back
 * carries Claude's signed thinking (its `encrypted_content`, responses-api.ts) to the assistant turn
 * after it; another provider's reasoning has no chat form and is left out.
 * What has no chat form is refused with the field named.
 */
import { z } from 'zod';
import type { ChatMessage, ChatPart, ChatRequest } from './http.js';
import { decodeThinking, type ThinkingBlock } from './providers/anthropic-thinking.js';

const Part = z.object({ type: z.string(), text: z.string().optional() }).loose();
const Item = z
  .object({
    type: z.string().optional(),
    role: z.string().optional(),
    content: z.union([z.string(), z.array(Part)]).optional(),
    call_id: z.string().optional(),
    name: z.string().optional(),
    arguments: z.string().optional(),
    output: z.union([z.string(), z.array(Part)]).optional(),
  })
  .loose();
const Tool = z.object({ type: z.string(), name: z.string().optional(), description: z.string().nullable().optional(), parameters: z.unknown().optional(), strict: z.boolean().nullable().optional() }).loose();

export const ResponsesRequestSchema = z
  .object({
    model: z.string().min(1),
    input: z.union([z.string(), z.array(Item).min(1)]),
    instructions: z.string().nullable().optional(),
    max_output_tokens: z.number().int().positive().nullable().optional(),
    temperature: z.number().nullable().optional(),
    top_p: z.number().nullable().optional(),
    stream: z.boolean().nullable().optional(),
    tools: z.array(Tool).optional(),
    tool_choice: z.union([z.enum(['auto', 'none', 'required']), z.object({ type: z.literal('function'), name: z.string() }).loose()]).optional(),
    parallel_tool_calls: z.boolean().nullable().optional(),
    previous_response_id: z.string().min(1).nullable().optional(),
    store: z.boolean().nullable().optional(),
    text: z.object({ format: z.object({ type: z.string() }).loose().optional(), verbosity: z.enum(['low', 'medium', 'high']).nullable().optional() }).loose().optional(),
    /** Reasoning models: `effort` becomes chat's `reasoning_effort` (a summary has no chat form and is not asked for). */
    reasoning: z.object({ effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh']).nullable().optional() }).loose().nullable().optional(),
    user: z.string().optional(),
    /** The processing tier asked for (`auto`, `default`, `flex`, `priority`): passed on as chat's `service_tier`. */
    service_tier: z.string().nullable().optional(),
    metadata: z.record(z.string(), z.string()).nullable().optional(),
  })
  .loose();
export type ResponsesRequest = z.infer<typeof ResponsesRequestSchema>;

/** A chat request, with the conversation it carries apart from the instructions (what a stored response keeps). */
type Translated = { ok: true; chat: ChatRequest; conversation: ChatMessage[] } | { ok: false; message: string };
export type { ChatMessage } from './http.js';

/**
 * Message content as chat content: a string when it is only text, else text and image parts in
 * order (`input_image` with an `image_url`: a URL or a data URL) — or the path of a part with no chat form.
 */
function contentOf(content: string | Array<z.infer<typeof Part>> | undefined, where: string): { content: string | ChatPart[] } | { bad: string } {
  if (typeof content === 'string' || content === undefined) return { content: content ?? '' };
  const parts: ChatPart[] = [];
  for (const [j, part] of content.entries()) {
    if (part.type === 'input_image') {
      const url = part['image_url'];
      if (typeof url !== 'string' || url === '') return { bad: `${where}.${j}: an input_image needs image_url (a URL or a data URL; file_id is not supported)` };
      const detail = part['detail'];
      parts.push({ type: 'image_url', image_url: { url, ...(typeof detail === 'string' ? { detail } : {}) } });
      continue;
    }
    if ((part.type !== 'input_text' && part.type !== 'output_text') || part.text === undefined) return { bad: `${where}.${j}.type: "${part.type}" is not supported (input_text, output_text and input_image)` };
    parts.push({ type: 'text', text: part.text });
  }
  return parts.every((p) => p.type === 'text') ? { content: parts.map((p) => (p as { text: string }).text).join('') } : { content: parts };
}

/** The text of message content (a string or text parts), or the path of a part that is not text. */
function textOf(content: string | Array<z.infer<typeof Part>> | undefined, where: string): { text: string } | { bad: string } {
  if (typeof content === 'string' || content === undefined) return { text: content ?? '' };
  let text = '';
  for (const [j, part] of content.entries()) {
    if ((part.type !== 'input_text' && part.type !== 'output_text') || part.text === undefined) return { bad: `${where}.${j}.type: "${part.type}" is not supported (input_text and output_text only)` };
    text += part.text;
  }
  return { text };
}

/**
 * The conversation: `history` (a previous response's, for previous_response_id) and the input items as
 * chat messages (consecutive function calls become one assistant message), or the bad field.
 */
function messagesOf(r: ResponsesRequest, history: readonly ChatMessage[]): ChatMessage[] | string {
  const messages: ChatMessage[] = [...history];
  const items = typeof r.input === 'string' ? [{ role: 'user', content: r.input }] : r.input;
  let thinking: ThinkingBlock[] = []; // a reasoning item's, for the assistant turn that follows it
  const withThinking = (m: ChatMessage): ChatMessage => {
    const blocks = thinking;
    thinking = [];
    return blocks.length > 0 ? { ...m, thinking_blocks: blocks } : m;
  };
  for (const [k, item] of items.entries()) {
    if (item.type === 'reasoning') {
      thinking = decodeThinking(item['encrypted_content']);
      continue;
    }
    if (item.type === 'function_call') {
      if (!item.call_id || !item.name) return `input.${k}: a function_call needs call_id and name`;
      const call = { id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments ?? '{}' } };
      const last = messages[messages.length - 1];
      if (last?.role === 'assistant' && last.tool_calls) last.tool_calls.push(call);
      else messages.push(withThinking({ role: 'assistant', content: null, tool_calls: [call] }));
      continue;
    }
    if (item.type === 'function_call_output') {
      if (!item.call_id) return `input.${k}: a function_call_output needs call_id`;
      const out = textOf(item.output, `input.${k}.output`);
      if ('bad' in out) return out.bad;
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: out.text });
      continue;
    }
    if (item.type !== undefined && item.type !== 'message') return `input.${k}.type: "${item.type}" items are not supported (messages, reasoning, function_call and function_call_output)`;
    const role = item.role === 'developer' ? 'system' : item.role;
    if (role !== 'user' && role !== 'assistant' && role !== 'system') return `input.${k}.role: expected user, assistant, system or developer`;
    const content = contentOf(item.content, `input.${k}.content`);
    if ('bad' in content) return content.bad;
    messages.push(role === 'assistant' ? withThinking({ role, content: content.content }) : { role, content: content.content });
  }
  return messages;
}

/**
 * A chat completion request for a Responses request — after `history`, the conversation of the
 * response it continues (previous_response_id) — or the field that cannot be translated. The
 * request's `instructions` lead as a system message (and are not part of the conversation kept).
 */
export function toChatRequest(r: ResponsesRequest, history: readonly ChatMessage[] = []): Translated {
  const conversation = messagesOf(r, history);
  if (typeof conversation === 'string') return { ok: false, message: conversation };
  const messages = r.instructions ? [{ role: 'system', content: r.instructions }, ...conversation] : conversation;
  const chat: Record<string, unknown> = { model: r.model, messages };
  if (r.tools && r.tools.length > 0) {
    const bad = r.tools.findIndex((t) => t.type !== 'function' || !t.name);
    if (bad >= 0) return { ok: false, message: `tools.${bad}.type: only function tools (with a name) are supported, got "${r.tools[bad]?.type}"` };
    chat['tools'] = r.tools.map((t) => ({ type: 'function', function: { name: t.name, ...(t.description ? { description: t.description } : {}), ...(t.parameters !== undefined ? { parameters: t.parameters } : {}), ...(typeof t.strict === 'boolean' ? { strict: t.strict } : {}) } }));
  }
  if (r.tool_choice !== undefined) chat['tool_choice'] = typeof r.tool_choice === 'string' ? r.tool_choice : { type: 'function', function: { name: r.tool_choice.name } };
  if (typeof r.parallel_tool_calls === 'boolean') chat['parallel_tool_calls'] = r.parallel_tool_calls;
  if (r.max_output_tokens) chat['max_tokens'] = r.max_output_tokens;
  if (r.temperature !== undefined && r.temperature !== null) chat['temperature'] = r.temperature;
  if (r.top_p !== undefined && r.top_p !== null) chat['top_p'] = r.top_p;
  if (r.user) chat['user'] = r.user;
  if (r.service_tier) chat['service_tier'] = r.service_tier;
  if (r.reasoning?.effort) chat['reasoning_effort'] = r.reasoning.effort;
  if (r.text?.verbosity) chat['verbosity'] = r.text.verbosity;
  const format = r.text?.format;
  if (format?.type === 'json_object') chat['response_format'] = { type: 'json_object' };
  else if (format?.type === 'json_schema') {
    const { type: _type, ...schema } = format;
    chat['response_format'] = { type: 'json_schema', json_schema: schema };
  }
  return { ok: true, chat: chat as ChatRequest, conversation };
}
