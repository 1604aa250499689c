/**
 * OpenAI chat completions ⇄ Anthropic Messages, both ways and streaming included. Pure functions: the
 * provider uses them to talk to Anthropic, replay-upstream to speak Anthropic in tests.
 */
import { contentText } from '../replay-upstream/replay-data.js';
import { cacheControlOf, markPromptCache, type CacheControl } from './anthropic-cache.js';
import { strictSchema, type StructuredMode } from './anthropic-structured.js';
import { applyThinking, thinkingBlocksOf, type ThinkingBlock, type ThinkingMode } from './anthropic-thinking.js';

export interface OpenAIToolCall {
  readonly id: string;
  readonly type?: string;
  readonly function: { readonly name: string; readonly arguments: string };
}

export interface OpenAIChatMessage {
  readonly role: string;
  readonly content: unknown;
  readonly tool_calls?: readonly OpenAIToolCall[] | undefined;
  readonly tool_call_id?: string | undefined;
  /** An answer's signed thinking blocks, sent back (anthropic-thinking.ts). */
  readonly thinking_blocks?: unknown;
}

export interface OpenAITool {
  readonly type: string;
  readonly function: { readonly name: string; readonly description?: string; readonly parameters?: unknown; readonly strict?: boolean | null };
  /** A prompt-cache mark (anthropic-cache.ts). */
  readonly cache_control?: unknown;
}

export type OpenAIToolChoice = 'auto' | 'none' | 'required' | { readonly type: 'function'; readonly function: { readonly name: string } };

export interface OpenAIChatRequest {
  readonly model: string;
  readonly messages: readonly OpenAIChatMessage[];
  readonly stream?: boolean | undefined;
  readonly max_tokens?: number | undefined;
  readonly max_completion_tokens?: number | undefined;
  readonly temperature?: number | undefined;
  readonly user?: string | undefined;
  readonly top_p?: number | undefined;
  readonly stop?: string | readonly string[] | null | undefined;
  readonly tools?: readonly OpenAITool[] | undefined;
  readonly tool_choice?: OpenAIToolChoice | undefined;
  readonly parallel_tool_calls?: boolean | undefined;
  readonly response_format?: { readonly type: string; readonly json_schema?: { readonly name?: string; readonly description?: string; readonly schema?: unknown } } | undefined;
  readonly reasoning_effort?: string | undefined;
  readonly service_tier?: string | null | undefined;
}

/**
 * OpenAI's `service_tier` as Anthropic's: `default` (standard processing only) is `standard_only`;
 * `auto` and `priority` are `auto` (Priority Tier capacity when the account has it); `flex` and others
 * have no Anthropic form and are left out.
 */
function anthropicTier(tier: string | null | undefined): 'auto' | 'standard_only' | undefined {
  return tier === 'default' ? 'standard_only' : tier === 'auto' || tier === 'priority' ? 'auto' : undefined;
}

/** Anthropic's `usage.service_tier` (standard, priority, batch) as OpenAI's (`default` for standard). */
export function openAiTier(tier: string | null | undefined): string | undefined {
  return tier === 'standard' ? 'default' : (tier ?? undefined);
}

/**
 * Structured outputs on a Claude without native ones (`structuredOutputs: tool`, anthropic-structured.ts)
 * and JSON mode on every Claude: the schema goes as a tool of this name that the model must call
 * (alone: forced; beside the request's own tools: one of them must be called), and its call comes back
 * as the answer's text — the JSON — not as a tool call.
 */
export const JSON_ANSWER_TOOL = 'switchyard_json_answer';

export type AnthropicBlock =
  | { type: 'text'; text: string; cache_control?: CacheControl }
  | { type: 'image'; source: { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string }; cache_control?: CacheControl }
  | { type: 'tool_use'; id: string; name: string; input: unknown; cache_control?: CacheControl }
  | { type: 'tool_result'; tool_use_id: string; content: string; cache_control?: CacheControl }
  | ThinkingBlock;

export interface AnthropicRequest {
  model: string;
  max_tokens: number;
  messages: Array<{ role: 'user' | 'assistant'; content: string | AnthropicBlock[] }>;
  system?: string | Array<{ type: 'text'; text: string; cache_control?: CacheControl }>;
  stream?: boolean;
  temperature?: number;
  metadata?: { user_id: string };
  top_p?: number;
  stop_sequences?: string[];
  tools?: Array<{ name: string; description?: string; input_schema: unknown; strict?: boolean; cache_control?: CacheControl }>;
  tool_choice?: { type: 'auto' | 'any' | 'none' | 'tool'; name?: string; disable_parallel_tool_use?: boolean };
  thinking?: { type: 'enabled'; budget_tokens: number } | { type: 'adaptive' };
  output_config?: { effort?: 'low' | 'medium' | 'high'; format?: { type: 'json_schema'; schema: unknown } };
  service_tier?: 'auto' | 'standard_only';
}

/** How a model is called beyond the request: its declared output limit and how it thinks (`models.X.maxOutputTokens`, `models.X.thinking`). */
export interface AnthropicModelOptions {
  readonly outputLimit?: number | undefined;
  readonly thinking?: ThinkingMode | undefined;
  /** Mark the prompt for Claude's cache when the client marked nothing (`models.X.promptCache`, anthropic-cache.ts). */
  readonly promptCache?: boolean | undefined;
  /** How it answers a `json_schema` response format and strict tools (`models.X.structuredOutputs`, anthropic-structured.ts); unset: `tool`. */
  readonly structured?: StructuredMode | undefined;
}

/** A tool call's JSON arguments as an object (Anthropic's `input`); unparseable text is kept under `arguments`. */
function toolInput(args: string): unknown {
  if (args.trim() === '') return {};
  try {
    return JSON.parse(args) as unknown;
  } catch {
    return { arguments: args };
  }
}

/** OpenAI's `image_url` — a data URL or an http(s) URL — as Anthropic's image block (another scheme has no Anthropic form). */
function imageBlock(part: { readonly image_url?: unknown }): Extract<AnthropicBlock, { type: 'image' }> | undefined {
  const url = typeof part.image_url === 'string' ? part.image_url : (part.image_url as { url?: unknown } | undefined)?.url;
  if (typeof url !== 'string') return undefined;
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (data) return { type: 'image', source: { type: 'base64', media_type: data[1] as string, data: data[2] as string } };
  return /^https?:\/\//i.test(url) ? { type: 'image', source: { type: 'url', url } } : undefined;
}

/** Message content as text and image blocks, in order (adjacent text parts joined, as before, up to a part marked for the prompt cache). */
function contentBlocks(content: unknown): AnthropicBlock[] {
  if (!Array.isArray(content)) {
    const text = contentText(content);
    return text !== '' ? [{ type: 'text', text }] : [];
  }
  const blocks: AnthropicBlock[] = [];
  for (const part of content as unknown[]) {
    const p = (typeof part === 'object' && part !== null ? part : {}) as { readonly type?: unknown; readonly text?: unknown; readonly image_url?: unknown; readonly cache_control?: unknown };
    const last = blocks[blocks.length - 1];
    const cache = cacheControlOf(p);
    if (p.type === 'text') {
      const text = String(p.text ?? '');
      if (last?.type === 'text' && last.cache_control === undefined) last.text += text;
      else if (text !== '') blocks.push({ type: 'text', text });
      const block = blocks[blocks.length - 1];
      if (cache && block?.type === 'text') block.cache_control = cache;
    } else if (p.type === 'image_url') {
      const image = imageBlock(p);
      if (image) blocks.push(cache ? { ...image, cache_control: cache } : image);
    }
  }
  return blocks;
}

/** The system messages as Anthropic's `system`: one string, or text blocks when the client marked some for the prompt cache. */
function systemOf(messages: readonly OpenAIChatMessage[]): AnthropicRequest['system'] {
  const system = messages.filter((m) => m.role === 'system' || m.role === 'developer');
  if (system.length === 0) return undefined;
  const marked = system.some((m) => Array.isArray(m.content) && (m.content as Array<{ cache_control?: unknown }>).some((p) => cacheControlOf(p ?? {}) !== undefined));
  if (!marked) return system.map((m) => contentText(m.content)).join('\n\n');
  return system.flatMap((m) => contentBlocks(m.content).filter((b): b is Extract<AnthropicBlock, { type: 'text' }> => b.type === 'text'));
}

/** One OpenAI message as Anthropic content blocks (tool results go in a user turn, as Anthropic requires). */
function toBlocks(m: OpenAIChatMessage): { role: 'user' | 'assistant'; blocks: AnthropicBlock[] } | undefined {
  if (m.role === 'tool') {
    const cache = Array.isArray(m.content) ? (m.content as Array<{ cache_control?: unknown }>).map((p) => cacheControlOf(p ?? {})).find((c) => c !== undefined) : undefined;
    return { role: 'user', blocks: [{ type: 'tool_result', tool_use_id: m.tool_call_id ?? '', content: contentText(m.content), ...(cache ? { cache_control: cache } : {}) }] };
  }
  if (m.role !== 'user' && m.role !== 'assistant') return undefined;
  // an assistant turn's thinking comes first, as Anthropic wrote it
  const blocks: AnthropicBlock[] = [...(m.role === 'assistant' ? thinkingBlocksOf(m) : []), ...contentBlocks(m.content)];
  const text = contentText(m.content);
  for (const tc of m.tool_calls ?? []) blocks.push({ type: 'tool_use', id: tc.id, name: tc.function.name, input: toolInput(tc.function.arguments) });
  return { role: m.role, blocks: blocks.length > 0 ? blocks : [{ type: 'text', text }] };
}

function toolChoice(req: OpenAIChatRequest): AnthropicRequest['tool_choice'] | undefined {
  const c = req.tool_choice;
  const base: AnthropicRequest['tool_choice'] =
    c === undefined || c === 'auto' ? { type: 'auto' } : c === 'none' ? { type: 'none' } : c === 'required' ? { type: 'any' } : { type: 'tool', name: c.function.name };
  if (req.parallel_tool_calls === false && base.type !== 'none') base.disable_parallel_tool_use = true;
  return c === undefined && req.parallel_tool_calls !== false ? undefined : base;
}

/**
 * The answer tool's schema for a structured `response_format`: `json_schema`'s own; `json_object` (JSON
 * mode: any JSON object) an open object schema — a tool's input is always an object, as JSON mode's
 * answer is. Plain text: none.
 */
function answerSchema(format: OpenAIChatRequest['response_format']): { readonly name?: string; readonly description?: string; readonly schema?: unknown } | undefined {
  if (format?.type === 'json_schema') return format.json_schema ?? {};
  if (format?.type === 'json_object') return { name: 'a JSON object', schema: { type: 'object', additionalProperties: true } };
  return undefined;
}

/** A `json_schema` response format as Claude's `output_config.format` (its description kept in the schema's), or none when the schema has no strict form. */
function nativeFormat(format: { readonly description?: string; readonly schema?: unknown } | undefined): { type: 'json_schema'; schema: unknown } | undefined {
  const schema = strictSchema(format?.schema);
  if (!schema) return undefined;
  if (format?.description && schema['description'] === undefined) schema['description'] = format.description;
  return { type: 'json_schema', schema };
}

/** `max_tokens` for a request that sets no limit, unless the model's `maxOutputTokens` says otherwise: every Claude model since Claude 3 writes at least this many (thinking asks for more: anthropic-thinking.ts). */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;

/**
 * OpenAI → Anthropic: system messages become `system`; consecutive same-role turns are merged;
 * tools, tool_choice, assistant tool calls (`tool_use` blocks) and tool results (`tool_result`
 * blocks in the next user turn) are translated.
 */
export function toAnthropicRequest(req: OpenAIChatRequest, model: string, options: AnthropicModelOptions = {}): AnthropicRequest {
  const system = systemOf(req.messages);
  const turns: Array<{ role: 'user' | 'assistant'; blocks: AnthropicBlock[] }> = [];
  for (const m of req.messages) {
    const t = toBlocks(m);
    if (!t) continue;
    const last = turns[turns.length - 1];
    if (last && last.role === t.role) last.blocks.push(...t.blocks);
    else turns.push(t);
  }
  // plain-text turns stay strings (joined as before); turns with tool blocks are sent as blocks
  const messages = turns.map(({ role, blocks }) => ({
    role,
    content: blocks.every((b) => b.type === 'text' && b.cache_control === undefined) ? blocks.map((b) => (b as { text: string }).text).join('\n\n') : blocks.filter((b) => b.type !== 'text' || b.text !== ''),
  }));
  const asked = req.max_completion_tokens ?? req.max_tokens;
  const out: AnthropicRequest = { model, max_tokens: asked ?? options.outputLimit ?? ANTHROPIC_DEFAULT_MAX_TOKENS, messages };
  if (system !== undefined) out.system = system;
  if (req.stream) out.stream = true;
  // OpenAI's temperature runs to 2, Anthropic's to 1 (it refuses more with a 400): the top of the range is kept
  if (req.temperature !== undefined) out.temperature = Math.min(1, req.temperature);
  if (req.user) out.metadata = { user_id: req.user };
  if (req.top_p !== undefined) out.top_p = req.top_p;
  const tier = anthropicTier(req.service_tier);
  if (tier) out.service_tier = tier;
  if (req.stop) out.stop_sequences = typeof req.stop === 'string' ? [req.stop] : [...req.stop];
  const tools = (req.tools ?? []).filter((t) => t.type === 'function');
  const native = options.structured === 'native';
  if (tools.length > 0) {
    out.tools = tools.map((t) => {
      const cache = cacheControlOf(t);
      const parameters = t.function.parameters ?? { type: 'object', properties: {} };
      // a strict tool stays strict where Claude enforces schemas (and its schema has a strict form)
      const strict = native && t.function.strict === true ? strictSchema(parameters) : undefined;
      return { name: t.function.name, ...(t.function.description ? { description: t.function.description } : {}), input_schema: strict ?? parameters, ...(strict ? { strict: true } : {}), ...(cache ? { cache_control: cache } : {}) };
    });
    const choice = toolChoice(req);
    if (choice) out.tool_choice = choice;
  }
  const format = native && req.response_format?.type === 'json_schema' ? nativeFormat(req.response_format.json_schema) : undefined;
  const schema = format ? undefined : answerSchema(req.response_format);
  if (format) out.output_config = { format };
  if (schema) {
    const description = `Give your final answer by calling this tool: its input is the answer${schema.name ? ` (${schema.name})` : ''}${schema.description ? `: ${schema.description}` : ''}.`;
    out.tools = [...(out.tools ?? []), { name: JSON_ANSWER_TOOL, description, input_schema: schema.schema ?? { type: 'object', properties: {} } }];
    const parallel = out.tool_choice?.disable_parallel_tool_use ? { disable_parallel_tool_use: true } : {};
    // alone, or with tool_choice none: the answer tool; beside tools the model may call: any tool (the answer among them); a named one stays
    if (tools.length === 0 || out.tool_choice?.type === 'none') out.tool_choice = { type: 'tool', name: JSON_ANSWER_TOOL };
    else if (out.tool_choice?.type !== 'tool') out.tool_choice = { type: 'any', ...parallel };
  }
  applyThinking(out, req.reasoning_effort, options.thinking, { asked, outputLimit: options.outputLimit, defaultMax: ANTHROPIC_DEFAULT_MAX_TOKENS });
  markPromptCache(out, options.promptCache === true);
  return out;
}

/** Anthropic's stop reasons as OpenAI's finish reasons: a refusal (Claude declined to answer) is OpenAI's `content_filter`; a full context window, like the token limit, `length`. */
const FINISH: Record<string, string> = { end_turn: 'stop', stop_sequence: 'stop', max_tokens: 'length', model_context_window_exceeded: 'length', tool_use: 'tool_calls', refusal: 'content_filter' };

export interface AnthropicMessage {
  id: string;
  model: string;
  content: Array<{ type: string; text?: string; id?: string; name?: string; input?: unknown; thinking?: string; signature?: string; data?: string }>;
  stop_reason: string | null;
  usage: AnthropicUsage;
}

/** The chat answer's `service_tier` field for Anthropic's usage tier (none when it reports none). */
function tierField(tier: string | null | undefined): { service_tier?: string } {
  const t = openAiTier(tier);
  return t ? { service_tier: t } : {};
}

/** Anthropic's usage: `input_tokens` leaves out the tokens read from and written to the prompt cache. */
export interface AnthropicUsage {
  input_tokens?: number;
  output_tokens?: number;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  /** The cache writes by lifetime (five minutes, one hour), when the request marked any with a `ttl`. */
  cache_creation?: { ephemeral_5m_input_tokens?: number; ephemeral_1h_input_tokens?: number } | null;
  /** The tier that served the request: `standard`, `priority` or `batch`. */
  service_tier?: string | null;
}

/** Anthropic usage in the OpenAI form: every input token in `prompt_tokens`, cache reads as `cached_tokens`, cache writes as `cache_creation_input_tokens` (usage-cost.ts). */
export function openAiUsage(u: AnthropicUsage, outputTokens = u.output_tokens ?? 0): Record<string, unknown> {
  const read = u.cache_read_input_tokens ?? 0;
  const written = u.cache_creation_input_tokens ?? 0;
  const prompt = (u.input_tokens ?? 0) + read + written;
  return {
    prompt_tokens: prompt,
    completion_tokens: outputTokens,
    total_tokens: prompt + outputTokens,
    ...(read > 0 || written > 0 ? { prompt_tokens_details: { cached_tokens: read }, cache_creation_input_tokens: written } : {}),
    ...((u.cache_creation?.ephemeral_1h_input_tokens ?? 0) > 0 ? { cache_creation: u.cache_creation } : {}),
  };
}

/**
 * An answer's thinking in the OpenAI message: its text as `reasoning_content` (the field OpenAI-compatible
 * reasoning servers use) and the signed blocks as `thinking_blocks`, which a tool-use loop sends back.
 */
function thinkingFields(content: AnthropicMessage['content']): { reasoning_content?: string; thinking_blocks?: ThinkingBlock[] } {
  const blocks = thinkingBlocksOf({ thinking_blocks: content.filter((c) => c.type === 'thinking' || c.type === 'redacted_thinking') });
  if (blocks.length === 0) return {};
  return { reasoning_content: blocks.map((b) => (b.type === 'thinking' ? b.thinking : '')).join(''), thinking_blocks: blocks };
}

/** Anthropic → OpenAI (non-streaming); `tool_use` blocks become `tool_calls`, thinking blocks `reasoning_content` and `thinking_blocks`. */
export function fromAnthropicMessage(m: AnthropicMessage, model: string, created: number): Record<string, unknown> {
  // a structured answer (JSON_ANSWER_TOOL) is the text; any text the model wrote before it is not
  const answer = m.content.find((c) => c.type === 'tool_use' && c.name === JSON_ANSWER_TOOL);
  const text = answer ? JSON.stringify(answer.input ?? {}) : m.content.filter((c) => c.type === 'text').map((c) => c.text ?? '').join('');
  const toolCalls = m.content.filter((c) => c.type === 'tool_use' && c.name !== JSON_ANSWER_TOOL).map((c) => ({ id: c.id ?? '', type: 'function', function: { name: c.name ?? '', arguments: JSON.stringify(c.input ?? {}) } }));
  const message = { role: 'assistant', content: toolCalls.length > 0 && text === '' ? null : text, refusal: null, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}), ...thinkingFields(m.content) };
  const finish = m.stop_reason === 'tool_use' && toolCalls.length === 0 ? 'stop' : (FINISH[m.stop_reason ?? ''] ?? 'stop');
  return {
    id: m.id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finish }],
    usage: openAiUsage(m.usage),
    ...tierField(m.usage.service_tier),
  };
}

/**
 * Anthropic SSE → OpenAI SSE, one event at a time: message_start → role chunk; text deltas →
 * content chunks; thinking deltas → `reasoning_content` chunks, and a thinking block's signature (or a
 * redacted block) → a `thinking_blocks` chunk holding every block signed so far, whole — so a stream
 * accumulator that keeps a field's last value (the openai SDK's stream helper) ends with all of them,
 * ready to send back; a tool_use block → a tool_calls chunk (id, name) and its input_json deltas →
 * argument chunks; message_delta → finish chunk (and the usage chunk, always: the gateway bills it);
 * message_stop → [DONE]. Returns the OpenAI events for one Anthropic event.
 */
export class AnthropicStreamTranslator {
  private id = '';
  private inputUsage: AnthropicUsage = {};
  /** Anthropic content-block index → OpenAI tool-call index. */
  private readonly toolIndex = new Map<number, number>();
  /** The content block of a structured answer (JSON_ANSWER_TOOL): its input streams as text. */
  private answerBlock: number | undefined;
  /** The thinking blocks signed so far, and the text of the one being streamed. */
  private readonly thoughts: ThinkingBlock[] = [];
  private thinking = '';

  constructor(
    private readonly model: string,
    private readonly created: number,
  ) {}

  private chunk(delta: Record<string, unknown>, finish: string | null): string {
    return `data: ${JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  }

  translate(event: string): string[] {
    const dataLine = event.split('\n').find((l) => l.startsWith('data: '));
    if (!dataLine) return [];
    const data = JSON.parse(dataLine.slice(6)) as {
      type: string;
      index?: number;
      message?: { id: string; usage?: AnthropicUsage };
      content_block?: { type?: string; id?: string; name?: string; data?: string };
      delta?: { type?: string; text?: string; partial_json?: string; thinking?: string; signature?: string; stop_reason?: string };
      usage?: { output_tokens?: number };
      error?: { message?: string };
    };
    switch (data.type) {
      case 'message_start':
        this.id = data.message?.id ?? '';
        this.inputUsage = data.message?.usage ?? {};
        return [this.chunk({ role: 'assistant', content: '' }, null)];
      case 'content_block_start': {
        if (data.content_block?.type === 'redacted_thinking') return [this.signed({ type: 'redacted_thinking', data: data.content_block.data ?? '' })];
        if (data.content_block?.type !== 'tool_use') return [];
        if (data.content_block.name === JSON_ANSWER_TOOL) {
          this.answerBlock = data.index ?? 0;
          return [];
        }
        const index = this.toolIndex.size;
        this.toolIndex.set(data.index ?? 0, index);
        return [this.chunk({ tool_calls: [{ index, id: data.content_block.id ?? '', type: 'function', function: { name: data.content_block.name ?? '', arguments: '' } }] }, null)];
      }
      case 'content_block_delta':
        if (data.delta?.type === 'text_delta') return [this.chunk({ content: data.delta.text ?? '' }, null)];
        if (data.delta?.type === 'thinking_delta') {
          this.thinking += data.delta.thinking ?? '';
          return [this.chunk({ reasoning_content: data.delta.thinking ?? '' }, null)];
        }
        if (data.delta?.type === 'signature_delta') {
          const block: ThinkingBlock = { type: 'thinking', thinking: this.thinking, signature: data.delta.signature ?? '' };
          this.thinking = '';
          return [this.signed(block)];
        }
        if (data.delta?.type === 'input_json_delta' && data.index === this.answerBlock) return [this.chunk({ content: data.delta.partial_json ?? '' }, null)];
        if (data.delta?.type === 'input_json_delta') {
          const index = this.toolIndex.get(data.index ?? 0) ?? 0;
          return [this.chunk({ tool_calls: [{ index, function: { arguments: data.delta.partial_json ?? '' } }] }, null)];
        }
        return [];
      case 'message_delta': {
        const out = this.output(data.usage?.output_tokens ?? 0);
        const answered = data.delta?.stop_reason === 'tool_use' && this.toolIndex.size === 0;
        return [this.chunk({}, answered ? 'stop' : (FINISH[data.delta?.stop_reason ?? ''] ?? 'stop')), out];
      }
      case 'message_stop':
        return ['data: [DONE]\n\n'];
      case 'error':
        throw new Error(`anthropic stream error: ${data.error?.message ?? 'unknown'}`);
      default:
        return [];
    }
  }

  /** The `thinking_blocks` chunk once `block` is whole: every block signed so far. */
  private signed(block: ThinkingBlock): string {
    this.thoughts.push(block);
    return this.chunk({ thinking_blocks: [...this.thoughts] }, null);
  }

  private output(outputTokens: number): string {
    const usage = openAiUsage(this.inputUsage, outputTokens);
    return `data: ${JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage, ...tierField(this.inputUsage.service_tier) })}\n\n`;
  }
}

/** The Anthropic SSE events of a whole answer (for replay-upstream's Anthropic mode). */
export function anthropicStreamEvents(id: string, model: string, pieces: readonly string[], usage: { input_tokens: number; output_tokens: number }): string[] {
  const ev = (type: string, data: Record<string, unknown>): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  return [
    ev('message_start', { message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, usage: { input_tokens: usage.input_tokens, output_tokens: 1 } } }),
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ...pieces.map((p) => ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: p } })),
    ev('content_block_stop', { index: 0 }),
    ev('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }),
    ev('message_stop', {}),
  ];
}
