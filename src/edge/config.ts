/**
 * edge.yaml: one edge node — where it listens and how peers reach it, its local model (any
 * OpenAI-compatible server: Ollama, llama.cpp, vLLM, LM Studio), its seed peers, the gossip
 * parameters and how the node that took a request merges the proposals. Validated with zod.
 */
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { readConfigFile, validateConfig } from '../core/config-file.js';
import { TlsConfigSchema, resolveTlsPaths } from '../core/tls.js';
import { MODEL_FIELDS, modelRules, type ModelConfig } from '../gateway/config.js';

export const EdgeConfigSchema = z.strictObject({
  node: z.strictObject({
    /** Unique in the swarm; proposals are told apart by it. */
    id: z.string().min(1).regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only'),
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(9100),
    /** The URL peers reach this node at (default http://host:port, https:// with `tls`). */
    advertise: z.string().url().optional(),
    bodyLimitBytes: z.number().int().positive().default(1 << 20),
    /**
     * Serve HTTPS, and gossip over it (core/tls.ts). With `caFile` peers' certificates are checked
     * against the swarm's CA; with `requireClientCert` only nodes holding a certificate that CA signed
     * can talk to this one (mutual TLS: encrypted and authenticated gossip).
     */
    tls: TlsConfigSchema.optional(),
  }),
  /** The node's local model: `id` names it in proposals; the rest is a gateway model entry (prices default to 0). */
  model: z.strictObject({ id: z.string().min(1), ...MODEL_FIELDS }).superRefine(modelRules),
  /** Seed peers (their advertised URLs); the node learns more from the messages it receives. */
  peers: z.array(z.string().url()).default([]),
  gossip: z
    .strictObject({
      /** Peers each message is pushed to. */
      fanout: z.number().int().min(1).max(64).default(3),
      /** Hops a message travels at most. */
      ttl: z.number().int().min(1).max(16).default(3),
      /** How long the node that took a request waits for proposals. */
      windowMs: z.number().int().positive().default(3000),
      /** It answers as soon as this many proposals (its own included) are in. */
      maxProposals: z.number().int().min(1).default(8),
      /** A peer that failed this many sends in a row leaves the view (it rejoins when it sends again). */
      dropAfterFailures: z.number().int().min(1).default(3),
      /** Gossip messages a second this node takes from one address (a burst of as many); more get 429 with retry-after. */
      maxPerSecond: z.number().int().min(1).default(1000),
    })
    .default({ fanout: 3, ttl: 3, windowMs: 3000, maxProposals: 8, dropAfterFailures: 3, maxPerSecond: 1000 }),
  aggregate: z
    .strictObject({
      /**
       * `scorer`: a response scorer file (`switchyard train-scorer`) picks the best proposal;
       * `local`: the node's own model writes the answer from the proposals (mixture-of-agents);
       * `first`: the first proposal in (the fastest node wins).
       */
      kind: z.enum(['scorer', 'local', 'first']).default('local'),
      scorer: z.string().min(1).optional(),
    })
    .refine((a) => a.kind !== 'scorer' || a.scorer !== undefined, { message: 'aggregate.kind "scorer" needs "scorer" (a response scorer file)', path: ['scorer'] })
    .default({ kind: 'local' }),
  /**
   * Routing inside the swarm: a router artifact (`switchyard train`, on data with the swarm's models)
   * picks the `k` models with the best utility at `lambda` for each request; only nodes running those
   * models propose, the others only pass the query on. Absent: every node proposes.
   */
  routing: z
    .strictObject({
      router: z.string().min(1),
      lambda: z.number().min(0).max(1).default(0.5),
      k: z.number().int().min(1).default(2),
      /** The swarm's models, when the router knows more (it then picks among these only). */
      models: z.array(z.string().min(1)).min(1).optional(),
      /**
       * Where a router that learns from feedback (a bandit: ucb1, thompson, linucb …) keeps what it
       * learned: loaded at start when the file exists (instead of `router`), written on shutdown.
       */
      learnedState: z.string().min(1).optional(),
      /** Spread the feedback this node receives to the swarm by gossip (and learn from what others receive). */
      shareFeedback: z.boolean().default(true),
    })
    .optional(),
  /**
   * Who may talk to the node. `secretEnv` names an environment variable holding a secret every node of
   * the swarm shares: gossip is then signed with it and unsigned gossip refused (signing.ts). `keys`:
   * client API keys (sha256 hex, as the gateway's: `switchyard keys hash KEY`) for /v1/chat/completions;
   * none: any client.
   */
  auth: z
    .strictObject({
      secretEnv: z.string().min(1).optional(),
      /** How far a gossip message's signing time may be from this node's clock. */
      maxSkewMs: z.number().int().positive().max(600_000).default(30_000),
      keys: z.array(z.strictObject({ name: z.string().min(1), sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 hex of the key (64 lowercase hex digits)') })).default([]),
    })
    .default({ maxSkewMs: 30_000, keys: [] }),
  timeouts: z
    .strictObject({ firstByteMs: z.number().int().positive().default(60_000), totalMs: z.number().int().positive().default(120_000), gossipMs: z.number().int().positive().default(2000) })
    .default({ firstByteMs: 60_000, totalMs: 120_000, gossipMs: 2000 }),
});
export type EdgeConfigInput = z.infer<typeof EdgeConfigSchema>;
export type EdgeConfig = Omit<EdgeConfigInput, 'model'> & { model: ModelConfig & { id: string } };

function withDefaults(c: EdgeConfigInput): EdgeConfig {
  return { ...c, model: { ...c.model, inputPricePerMTok: c.model.inputPricePerMTok ?? 0, outputPricePerMTok: c.model.outputPricePerMTok ?? 0 } };
}

export function parseEdgeConfig(raw: unknown, where = 'edge config'): EdgeConfig {
  return withDefaults(validateConfig(raw, EdgeConfigSchema, where));
}

/** Reads and validates an edge config file; a scorer path is resolved against the file's folder. */
export function readEdgeConfig(file: string): EdgeConfig {
  const c = withDefaults(readConfigFile(file, EdgeConfigSchema));
  if (c.aggregate.scorer) c.aggregate.scorer = resolve(dirname(resolve(file)), c.aggregate.scorer);
  if (c.routing) c.routing.router = resolve(dirname(resolve(file)), c.routing.router);
  if (c.routing?.learnedState) c.routing.learnedState = resolve(dirname(resolve(file)), c.routing.learnedState);
  if (c.node.tls) c.node.tls = resolveTlsPaths(c.node.tls, file);
  return c;
}
