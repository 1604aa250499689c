/**
 * The gossip wire format between edge nodes (POST /edge/gossip, JSON). A `query` carries a client's
 * chat request out from the node that took it (its `origin`); every node that receives it answers
 * with its own model and pushes a `proposal` back — to the origin directly, and by gossip when the
 * origin cannot be reached directly. Each message names its last sender (`from`), which is how nodes
 * learn peers; `ttl` bounds the hops. Duplicates are recognised by (kind, id, node). A `feedback`
 * spreads a client's score of an answer to every node, so each node's learning router learns from
 * the whole swarm's feedback.
 */
import { z } from 'zod';

const Url = z.string().url();

/** What every gossip message carries: the request id, the node that took it, the last sender and the hops left. */
const Envelope = z.object({
  id: z.string().min(1).max(128),
  origin: Url,
  from: Url,
  ttl: z.number().int().min(0).max(16),
});

export const QueryMessageSchema = Envelope.extend({
  kind: z.literal('query'),
  /** Unix ms after which a proposal is of no use to the origin. */
  deadline: z.number(),
  /** The models the origin's router wants proposals from (absent: every node proposes); the others only pass the query on. */
  models: z.array(z.string().min(1)).max(64).optional(),
  /** The chat request (messages and sampling options) as the client sent it, minus streaming. */
  body: z.record(z.string(), z.unknown()).refine((b) => Array.isArray(b['messages']), 'body.messages: expected an array'),
});

export const ProposalMessageSchema = Envelope.extend({
  kind: z.literal('proposal'),
  /** The proposing node and its model. */
  node: z.string().min(1),
  model: z.string().min(1),
  text: z.string(),
  completion: z.record(z.string(), z.unknown()),
});

/** A score a client gave an answer of the swarm, spread so every node's learning router learns from it. */
export const FeedbackMessageSchema = Envelope.extend({
  kind: z.literal('feedback'),
  /** The node that answered and received the score. */
  node: z.string().min(1),
  /** The prompt (contextual bandits learn from it), the model whose answer was kept, the score. */
  prompt: z.string(),
  model: z.string().min(1),
  score: z.number().min(0).max(1),
});

export const GossipMessageSchema = z.discriminatedUnion('kind', [QueryMessageSchema, ProposalMessageSchema, FeedbackMessageSchema]);
export type QueryMessage = z.infer<typeof QueryMessageSchema>;
export type ProposalMessage = z.infer<typeof ProposalMessageSchema>;
export type FeedbackMessage = z.infer<typeof FeedbackMessageSchema>;
export type GossipMessage = z.infer<typeof GossipMessageSchema>;

export function messageKey(m: GossipMessage): string {
  return m.kind === 'query' ? `q:${m.id}` : m.kind === 'feedback' ? `f:${m.id}` : `p:${m.id}:${m.node}`;
}
