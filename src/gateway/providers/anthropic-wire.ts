/**
 * OpenAI chat completions ⇄ Anthropic Messages, both ways and streaming included. Pure functions: the
 * provider uses them to talk to Anthropic, replay-upstream to speak Anthropic in tests.
 */
import { contentText } from '../replay-upstream/replay-data.js';

export interface OpenAIChatRequest {
  readonly model: string;
  readonly messages: ReadonlyArray<{ readonly role: string; readonly content: unknown }>;
  readonly stream?: boolean | undefined;
  readonly max_tokens?: number | undefined;
  readonly max_completion_tokens?: number | undefined;
  readonly temperature?: number | undefined;
  readonly top_p?: number | undefined;
  readonly stop?: string | readonly string[] | null | undefined;
}

export interface AnthropicRequest {
  model: string;
  max_tokens: number;
  messages: Array<{ role: 'user' | 'assistant'; content: string }>;
  system?: string;
  stream?: boolean;
  temperature?: number;
  top_p?: number;
  stop_sequences?: string[];
}

/** OpenAI → Anthropic: system messages become `system`; consecutive same-role turns are merged. */
export function toAnthropicRequest(req: OpenAIChatRequest, model: string, defaultMaxTokens = 1024): AnthropicRequest {
  const system = req.messages.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => contentText(m.content));
  const messages: AnthropicRequest['messages'] = [];
  for (const m of req.messages) {
    if (m.role !== 'user' && m.role !== 'assistant') continue;
    const text = contentText(m.content);
    const last = messages[messages.length - 1];
    if (last && last.role === m.role) last.content += `\n\n${text}`;
    else messages.push({ role: m.role, content: text });
  }
  const out: AnthropicRequest = { model, max_tokens: req.max_completion_tokens ?? req.max_tokens ?? defaultMaxTokens, messages };
  if (system.length > 0) out.system = system.join('\n\n');
  if (req.stream) out.stream = true;
  if (req.temperature !== undefined) out.temperature = req.temperature;
  if (req.top_p !== undefined) out.top_p = req.top_p;
  if (req.stop) out.stop_sequences = typeof req.stop === 'string' ? [req.stop] : [...req.stop];
  return out;
}

const FINISH: Record<string, string> = { end_turn: 'stop', stop_sequence: 'stop', max_tokens: 'length', tool_use: 'tool_calls' };

export interface AnthropicMessage {
  id: string;
  model: string;
  content: Array<{ type: string; text?: string }>;
  stop_reason: string | null;
  usage: { input_tokens: number; output_tokens: number };
}

/** Anthropic → OpenAI (non-streaming). */
export function fromAnthropicMessage(m: AnthropicMessage, model: string, created: number): Record<string, unknown> {
  const text = m.content.filter((c) => c.type === 'text').map((c) => c.text ?? '').join('');
  return {
    id: m.id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: FINISH[m.stop_reason ?? ''] ?? 'stop' }],
    usage: { prompt_tokens: m.usage.input_tokens, completion_tokens: m.usage.output_tokens, total_tokens: m.usage.input_tokens + m.usage.output_tokens },
  };
}

/**
 * Anthropic SSE → OpenAI SSE, one event at a time: message_start → role chunk; text deltas →
 * content chunks; message_delta → finish chunk (and the usage chunk, always: the gateway bills it);
 * message_stop → [DONE]. Returns the OpenAI events for one Anthropic event.
 */
export class AnthropicStreamTranslator {
  private id = '';
  private inputTokens = 0;
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
    const data = JSON.parse(dataLine.slice(6)) as { type: string; message?: { id: string; usage?: { input_tokens?: number } }; delta?: { type?: string; text?: string; stop_reason?: string }; usage?: { output_tokens?: number }; error?: { message?: string } };
    switch (data.type) {
      case 'message_start':
        this.id = data.message?.id ?? '';
        this.inputTokens = data.message?.usage?.input_tokens ?? 0;
        return [this.chunk({ role: 'assistant', content: '' }, null)];
      case 'content_block_delta':
        return data.delta?.type === 'text_delta' ? [this.chunk({ content: data.delta.text ?? '' }, null)] : [];
      case 'message_delta': {
        const out = this.output(data.usage?.output_tokens ?? 0);
        return [this.chunk({}, FINISH[data.delta?.stop_reason ?? ''] ?? 'stop'), out];
      }
      case 'message_stop':
        return ['data: [DONE]\n\n'];
      case 'error':
        throw new Error(`anthropic stream error: ${data.error?.message ?? 'unknown'}`);
      default:
        return [];
    }
  }

  private output(outputTokens: number): string {
    const usage = { prompt_tokens: this.inputTokens, completion_tokens: outputTokens, total_tokens: this.inputTokens + outputTokens };
    return `data: ${JSON.stringify({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage })}\n\n`;
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
