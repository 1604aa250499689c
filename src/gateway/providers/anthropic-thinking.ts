/**
 * `reasoning_effort` → Claude's extended thinking, for the `anthropic` models that say how they think
 * (`models.X.thinking`):
 * - `budget`: `thinking: {type: enabled, budget_tokens}` (Claude 3.7 Sonnet … the 4.5 models);
 * - `adaptive`: `thinking: {type: adaptive}` with `output_config.effort` (Claude 4.6 and later; the
 *   newest refuse budgets).
 * Without the setting, the model's name says (`knownThinking`); a name it does not know, or `none`,
 * gets no thinking: `reasoning_effort` is dropped for the model, as before.
 *
 * Anthropic's rules, kept here so a request that asks for thinking is never refused for it:
 * - thinking goes only with `tool_choice` auto or none: a forced tool (`required`, a named tool, a
 *   structured answer) turns it off;
 * - inside a tool-use loop the last assistant turn must begin with its thinking block, signed: the
 *   answer gives them back as `message.thinking_blocks` (beside the text in `reasoning_content`), and
 *   a client that sends the message back as it came keeps thinking on; one that rebuilt the message
 *   without them gets this turn without thinking (Anthropic lets a turn go without);
 * - `budget_tokens` is at least 1,024 and below `max_tokens`, which counts thinking and answer
 *   together — as OpenAI's `max_completion_tokens` counts reasoning and answer;
 * - with thinking, `temperature` is 1 and `top_p` at least 0.95: other values are left out.
 */

/** How a model thinks: see above. */
export type ThinkingMode = 'budget' | 'adaptive';

/**
 * A Claude model's version from its name, times ten (`claude-sonnet-4-5-20250929` 45,
 * `claude-3-7-sonnet-latest` 37, `us.anthropic.claude-opus-4-1-20250805-v1:0` 41); none for a name without one.
 */
export function claudeVersion(name: string): number | undefined {
  // the version before the family (claude-3-7-sonnet) or after it (claude-opus-4-1); a minor version is one digit, not a date
  const m = /claude-(?:(\d+)(?:-(\d)(?!\d))?-[a-z]+|[a-z]+-(\d+)(?:[-.](\d)(?!\d))?)/.exec(name.toLowerCase());
  if (!m) return undefined;
  return Number(m[1] ?? m[3]) * 10 + Number(m[2] ?? m[4] ?? 0);
}

/**
 * How a Claude model thinks, by the version in its name: 3.7 to 4.5 with a budget, 4.6 and later
 * adaptively; an older Claude or a name without a version, not at all.
 */
export function knownThinking(name: string): ThinkingMode | undefined {
  const version = claudeVersion(name);
  if (version === undefined) return undefined;
  return version >= 46 ? 'adaptive' : version >= 37 ? 'budget' : undefined;
}

/** How a configured model thinks: its `thinking` setting (`none`: not at all), else what its name says; only `anthropic` models. */
export function thinkingOf(id: string, m: { readonly provider: string; readonly thinking?: ThinkingMode | 'none' | undefined; readonly upstreamModel?: string | undefined }): ThinkingMode | undefined {
  if (m.provider !== 'anthropic' || m.thinking === 'none') return undefined;
  return m.thinking ?? knownThinking(m.upstreamModel ?? id);
}

/** `budget_tokens` by `reasoning_effort` (`budget` mode); also the room added to the default `max_tokens` in both modes. */
export const THINKING_BUDGETS: Readonly<Record<string, number>> = { minimal: 1024, low: 2048, medium: 8192, high: 16384, xhigh: 32768 };

/** `output_config.effort` by `reasoning_effort` (`adaptive` mode); Anthropic's `max` is not asked for: not every model takes it. */
const ADAPTIVE_EFFORT: Readonly<Record<string, 'low' | 'medium' | 'high'>> = { minimal: 'low', low: 'low', medium: 'medium', high: 'high', xhigh: 'high' };

/** The fewest thinking tokens Anthropic takes. */
const MIN_BUDGET = 1024;
/** What thinking leaves of a client's completion-token limit for the answer, at least. */
const ANSWER_RESERVE = 1024;

export type ThinkingBlock = { type: 'thinking'; thinking: string; signature: string } | { type: 'redacted_thinking'; data: string };

/** The signed thinking blocks a client sent back on an assistant message (`thinking_blocks`), well formed only. */
export function thinkingBlocksOf(message: { readonly thinking_blocks?: unknown }): ThinkingBlock[] {
  if (!Array.isArray(message.thinking_blocks)) return [];
  const out: ThinkingBlock[] = [];
  for (const b of message.thinking_blocks as unknown[]) {
    const x = (typeof b === 'object' && b !== null ? b : {}) as Record<string, unknown>;
    if (x['type'] === 'thinking' && typeof x['thinking'] === 'string' && typeof x['signature'] === 'string') out.push({ type: 'thinking', thinking: x['thinking'], signature: x['signature'] });
    else if (x['type'] === 'redacted_thinking' && typeof x['data'] === 'string') out.push({ type: 'redacted_thinking', data: x['data'] });
  }
  return out;
}

/** Signed thinking blocks as a Responses API reasoning item's `encrypted_content` (opaque to clients, sent back as it came). */
export function encodeThinking(blocks: readonly ThinkingBlock[]): string {
  return `sy1:${Buffer.from(JSON.stringify(blocks)).toString('base64url')}`;
}

/** The blocks of `encodeThinking`'s text; none for anything else (another provider's encrypted reasoning). */
export function decodeThinking(content: unknown): ThinkingBlock[] {
  if (typeof content !== 'string' || !content.startsWith('sy1:')) return [];
  try {
    return thinkingBlocksOf({ thinking_blocks: JSON.parse(Buffer.from(content.slice(4), 'base64url').toString()) as unknown });
  } catch {
    return [];
  }
}

interface ThinkingRequest {
  max_tokens: number;
  messages: Array<{ role: 'user' | 'assistant'; content: string | Array<{ type: string }> }>;
  temperature?: number;
  top_p?: number;
  tool_choice?: { type: string };
  thinking?: { type: 'enabled'; budget_tokens: number } | { type: 'adaptive' };
  output_config?: { effort?: 'low' | 'medium' | 'high'; format?: unknown };
}

const isThinking = (b: { type: string }): boolean => b.type === 'thinking' || b.type === 'redacted_thinking';

/** Whether the request continues a tool-use loop whose assistant turn does not begin with its thinking (Anthropic refuses thinking then). */
function loopWithoutThinking(messages: ThinkingRequest['messages']): boolean {
  const last = messages[messages.length - 1];
  const before = messages[messages.length - 2];
  if (last?.role !== 'user' || typeof last.content === 'string' || !last.content.some((b) => b.type === 'tool_result')) return false;
  if (before?.role !== 'assistant' || typeof before.content === 'string') return true;
  return !(before.content[0] !== undefined && isThinking(before.content[0]));
}

/** The request without thinking blocks in its history (a request without thinking sends none). */
function withoutThinkingBlocks(out: ThinkingRequest): void {
  for (const m of out.messages) if (typeof m.content !== 'string' && m.content.some(isThinking)) m.content = m.content.filter((b) => !isThinking(b));
}

/**
 * Turns thinking on in `out` (an Anthropic request built from an OpenAI one) when `effort` asks for
 * it and the model thinks in `mode`. `asked`: the client's completion-token limit (already within the
 * model's); `outputLimit`: the model's declared `maxOutputTokens`; `defaultMax`: what a request without a
 * limit asks for otherwise. Leaves `out` without thinking blocks when thinking stays off.
 */
export function applyThinking(out: ThinkingRequest, effort: unknown, mode: ThinkingMode | undefined, limits: { asked: number | undefined; outputLimit: number | undefined; defaultMax: number }): void {
  const room = typeof effort === 'string' ? THINKING_BUDGETS[effort] : undefined;
  const forced = out.tool_choice?.type === 'any' || out.tool_choice?.type === 'tool';
  if (mode === undefined || room === undefined || forced || loopWithoutThinking(out.messages)) return withoutThinkingBlocks(out);
  const maxTokens = limits.asked ?? limits.outputLimit ?? limits.defaultMax + room;
  if (mode === 'budget') {
    const budget = Math.min(room, maxTokens - ANSWER_RESERVE);
    if (budget < MIN_BUDGET) return withoutThinkingBlocks(out);
    out.thinking = { type: 'enabled', budget_tokens: budget };
  } else {
    out.thinking = { type: 'adaptive' };
    out.output_config = { ...out.output_config, effort: ADAPTIVE_EFFORT[effort as string] ?? 'medium' };
  }
  out.max_tokens = maxTokens;
  if (out.temperature !== undefined && out.temperature !== 1) delete out.temperature;
  if (out.top_p !== undefined && out.top_p < 0.95) delete out.top_p;
}
