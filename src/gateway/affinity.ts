/**
 * Conversation affinity (`routes.X.sticky`): a conversation's later turns go to the model that
 * answered its earlier ones, instead of being routed afresh each turn. Switching models midway
 * forfeits the provider's prompt cache of the conversation so far (cache reads cost a tenth of
 * input on Claude, half or less on OpenAI), changes the voice and tool-calling habits the client sees,
 * and drops what one provider's answers carry for the next turn (Claude's signed thinking blocks).
 *
 * A conversation is named by the client (`x-switchyard-conversation`) or, failing that, by its
 * beginning: the system prompt and first user message, per route and API key — what every turn of it
 * repeats. A turn that continues one (it has an assistant message, or the client named it) goes to
 * the model remembered for it when that model may take the request (capabilities, context window);
 * otherwise the router decides as usual. Every answered turn remembers its model for `ttlSeconds`
 * (a fallback's answerer, too: it now holds the conversation's cache). Replicas sharing a store
 * (Redis, or `server.workers` on one SQLite file) share what they remember; one process keeps it in
 * memory (at most `MAX_LOCAL` conversations, least recently used dropped).
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { remember } from '../core/lru.js';
import type { ChatRequest } from './http.js';
import type { GatewayStore } from './store/store.js';

export const StickySchema = z.union([
  z.literal(true).transform(() => ({ ttlSeconds: 3600 })),
  z.strictObject({ ttlSeconds: z.number().int().positive().max(30 * 86_400).default(3600) }),
]);
export type StickyConfig = z.output<typeof StickySchema>;

/** The header a client names its conversation with (any text up to 256 characters). */
export const CONVERSATION_HEADER = 'x-switchyard-conversation';
const MAX_LOCAL = 100_000;

/** Which conversation a request belongs to, and whether it continues one (a first turn only starts it). */
export interface ConversationRef {
  readonly id: string;
  readonly continues: boolean;
}

/**
 * The conversation of a request on `route` by the API key `keyName`: the client's name for it, else
 * a hash of its system messages and first user message; undefined when it has no user message.
 */
export function conversationOf(route: string, keyName: string | null, body: ChatRequest, headers: IncomingHttpHeaders): ConversationRef | undefined {
  const named = headers[CONVERSATION_HEADER];
  const name = typeof named === 'string' && named !== '' ? named.slice(0, 256) : undefined;
  const first = body.messages.find((m) => m.role === 'user');
  if (name === undefined && first === undefined) return undefined;
  // contents as sent (text, or parts with their images): each turn of a conversation repeats them
  const system = body.messages.filter((m) => m.role === 'system' || m.role === 'developer').map((m) => m.content);
  const root = name !== undefined ? ['named', name] : ['root', ...system, first?.content];
  const id = createHash('sha256').update(JSON.stringify([route, keyName ?? '', ...root])).digest('hex');
  return { id, continues: name !== undefined || body.messages.some((m) => m.role === 'assistant') };
}

/** Where the model of each conversation is remembered: the shared store when replicas share one, else memory. */
export class ConversationAffinity {
  private readonly local = new Map<string, { model: string; expires: number }>();

  constructor(
    private readonly store: Pick<GatewayStore, 'shared' | 'getExpiring' | 'putExpiring'>,
    private readonly now: () => number,
  ) {}

  /** The model remembered for the conversation, if any (a store that does not answer: none, and the router decides). */
  async modelOf(conversation: string): Promise<string | undefined> {
    if (this.store.shared) return this.store.getExpiring('affinity', conversation).catch(() => undefined);
    const entry = this.local.get(conversation);
    if (!entry) return undefined;
    this.local.delete(conversation);
    if (entry.expires <= this.now()) return undefined;
    this.local.set(conversation, entry); // most recently used last
    return entry.model;
  }

  /** Remembers that `model` answered the conversation, for `ttlSeconds` from now. */
  async remember(conversation: string, model: string, sticky: StickyConfig): Promise<void> {
    const expires = this.now() + sticky.ttlSeconds * 1000;
    if (this.store.shared) return this.store.putExpiring('affinity', conversation, model, expires).catch(() => undefined);
    remember(this.local, conversation, { model, expires }, MAX_LOCAL);
  }
}
