/**
 * Claude's prompt cache. OpenAI caches a prompt's prefix by itself; Anthropic caches only up to the
 * blocks marked `cache_control`, so an OpenAI client routed to Claude would never read its cache.
 * - Marks a client sent pass through: `cache_control` on a chat content part or a tool (the
 *   convention OpenRouter and LiteLLM take), and on the blocks and tools of `/v1/messages` requests.
 * - `models.X.promptCache: true` marks for clients that send none: the last tool and the system
 *   prompt (reused across requests), and, once a conversation has an assistant turn (it is likely to
 *   go on), its last message, so the next turn reads the whole conversation from the cache. A
 *   single-turn prompt's own text is not marked: a cache write costs 1.25× the input price, and a
 *   prompt asked once would pay it for nothing. Anthropic ignores marks on prefixes shorter than
 *   its minimum (1,024 tokens on most models), and takes at most 4.
 */

export interface CacheControl {
  readonly type: 'ephemeral';
  readonly ttl?: '5m' | '1h';
}

/** A `cache_control` a client gave, well formed; undefined otherwise. */
export function cacheControlOf(x: { readonly cache_control?: unknown }): CacheControl | undefined {
  const c = x.cache_control as { type?: unknown; ttl?: unknown } | undefined;
  if (c?.type !== 'ephemeral') return undefined;
  return c.ttl === '5m' || c.ttl === '1h' ? { type: 'ephemeral', ttl: c.ttl } : { type: 'ephemeral' };
}

type Markable = { type: string; cache_control?: CacheControl };

interface CacheRequest {
  system?: string | Array<{ type: 'text'; text: string; cache_control?: CacheControl }>;
  messages: Array<{ role: 'user' | 'assistant'; content: string | Markable[] }>;
  tools?: Array<{ name: string; cache_control?: CacheControl }>;
}

const EPHEMERAL: CacheControl = { type: 'ephemeral' };
/** The blocks that cannot carry a mark themselves. */
const UNMARKABLE = new Set(['thinking', 'redacted_thinking']);

function marked(out: CacheRequest): boolean {
  const blocks = (content: string | Markable[] | undefined): boolean => Array.isArray(content) && content.some((b) => b.cache_control !== undefined);
  return (out.tools ?? []).some((t) => t.cache_control !== undefined) || blocks(out.system) || out.messages.some((m) => blocks(m.content));
}

/** Marks the end of `content` (as a block list), or returns undefined when it has no block that can carry a mark. */
function markLast(content: string | Markable[]): Markable[] | undefined {
  const blocks: Markable[] = typeof content === 'string' ? [{ type: 'text', text: content } as Markable] : content.map((b) => ({ ...b }));
  for (let k = blocks.length - 1; k >= 0; k--) {
    const b = blocks[k] as Markable;
    if (UNMARKABLE.has(b.type) || (b.type === 'text' && (b as { text?: string }).text === '')) continue;
    b.cache_control = EPHEMERAL;
    return blocks;
  }
  return undefined;
}

/** With `auto` (the model's `promptCache`), marks a request that carries no mark of the client's (above). */
export function markPromptCache(out: CacheRequest, auto: boolean): void {
  if (!auto || marked(out)) return;
  const lastTool = out.tools?.[out.tools.length - 1];
  if (lastTool) lastTool.cache_control = EPHEMERAL;
  const system = out.system === undefined || out.system === '' ? undefined : markLast(out.system);
  if (system) out.system = system as Exclude<CacheRequest['system'], undefined>;
  const last = out.messages[out.messages.length - 1];
  if (last && out.messages.some((m) => m.role === 'assistant')) {
    const content = markLast(last.content);
    if (content) last.content = content;
  }
}
