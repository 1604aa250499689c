/**
 * switchyard.yaml: models (how to reach each, what it costs), routes (a trained router artifact and
 * its λ), and the server. Validated with zod; an invalid file lists every problem with its path.
 */
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { usableCores } from '../core/cpu-limit.js';
import { SupportsSchema } from './capabilities.js';
import { LatencyConfigSchema } from './latency.js';
import { readConfigFile } from '../core/config-file.js';
import { BudgetControlSchema, ScheduleSchema } from './dynamic-lambda.js';
import { DEFAULT_SERVICE_TIERS, resolvePrices } from './prices.js';
import { StickySchema } from './affinity.js';
import { UPSTREAM_BODY_LIMIT } from './providers/openai-compatible.js';
import { TlsConfigSchema, resolveTlsPaths } from '../core/tls.js';

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A model's fields (the edge config's `model` adds its `id`). */
export const MODEL_FIELDS = {
  /**
   * `openai-compatible` (OpenAI, Together, Groq, vLLM, Ollama, LM Studio, replay-upstream …),
   * `anthropic` (Messages API, baseURL e.g. https://api.anthropic.com/v1) or
   * `replay` (recorded answers from a routing-matrix dataset folder, in process).
   */
  provider: z.enum(['openai-compatible', 'anthropic', 'replay']).default('openai-compatible'),
  baseURL: z.string().url().default('http://replay.invalid/v1'),
  /** For `replay`: the dataset folder (relative to the config file). */
  data: z.string().min(1).optional(),
  /** The model name the upstream expects (default: the key). */
  upstreamModel: z.string().min(1).optional(),
  /** Environment variable holding the API key (never the key itself), sent as `Authorization: Bearer`. */
  apiKeyEnv: z.string().optional(),
  /** Query parameters on every call (Azure OpenAI's classic endpoints: `api-version`). */
  query: z.record(z.string(), z.string()).optional(),
  /** Extra request headers, not secret (OpenRouter's `HTTP-Referer`, `X-Title`, a tenant id …). */
  headers: z.record(z.string().regex(HEADER_NAME, 'expected an HTTP header name'), z.string()).optional(),
  /** Headers whose values are read from environment variables (Azure OpenAI's `api-key: AZURE_OPENAI_KEY`). */
  headerEnv: z.record(z.string().regex(HEADER_NAME, 'expected an HTTP header name'), z.string().min(1)).optional(),
  /** USD per million tokens; when absent, looked up in @pydantic/genai-prices (see prices.ts). */
  inputPricePerMTok: z.number().nonnegative().optional(),
  outputPricePerMTok: z.number().nonnegative().optional(),
  /** Input tokens read from / written to the provider's prompt cache, USD per million (default: the table's, else the input price). */
  cachedInputPricePerMTok: z.number().nonnegative().optional(),
  cacheWritePricePerMTok: z.number().nonnegative().optional(),
  /**
   * Audio tokens in and out (`prompt_tokens_details.audio_tokens`, `completion_tokens_details.audio_tokens`),
   * USD per million (default: the table's — gpt-audio $32 / $64 — at the configured prices' ratio
   * when the config sets prices; none there: the text prices).
   */
  audioInputPricePerMTok: z.number().nonnegative().optional(),
  audioOutputPricePerMTok: z.number().nonnegative().optional(),
  /**
   * Long-context prices: a request whose prompt has more than `aboveInputTokens` tokens is billed at
   * these for all its tokens (default: the price table's tiers, at the configured prices' ratio when
   * the config sets prices; `[]`: none). Cache prices default to the tier's input price.
   */
  priceTiers: z
    .array(
      z.strictObject({
        aboveInputTokens: z.number().int().positive(),
        inputPricePerMTok: z.number().nonnegative(),
        outputPricePerMTok: z.number().nonnegative(),
        cachedInputPricePerMTok: z.number().nonnegative().optional(),
        cacheWritePricePerMTok: z.number().nonnegative().optional(),
      }),
    )
    .refine((tiers) => tiers.every((t, i) => i === 0 || t.aboveInputTokens > (tiers[i - 1] as { aboveInputTokens: number }).aboveInputTokens), { message: 'tiers must go by ascending aboveInputTokens' })
    .transform((tiers) => tiers.map((t) => ({ ...t, cachedInputPricePerMTok: t.cachedInputPricePerMTok ?? t.inputPricePerMTok, cacheWritePricePerMTok: t.cacheWritePricePerMTok ?? t.inputPricePerMTok })))
    .optional(),
  /**
   * Processing tiers billed at a multiple of the model's prices (input, cached, output and
   * long-context tiers alike), by the `service_tier` the answer reports: OpenAI's `flex` and
   * `priority`, Gemini's, Anthropic's `priority`. `flex` defaults to 0.5 (OpenAI's and Google's price);
   * another tier an answer reports without a multiple here is billed at the standard prices, with a
   * warning in the log (usage-cost.ts).
   */
  serviceTiers: z.record(z.string().regex(/^[a-z][a-z0-9_-]*$/, 'expected a tier name as providers report it (lower case), e.g. flex, priority'), z.number().nonnegative()).optional(),
  /**
   * The most tokens (prompt + completion) the model takes; a routed request that would not fit is
   * not sent to it (default: the price table's figure when it knows the model; unknown: no limit).
   */
  contextWindow: z.number().int().positive().optional(),
  /**
   * The most tokens the model writes in one answer (its provider's output limit). A request asking for
   * more (`max_completion_tokens` / `max_tokens`) is sent asking for this many — the client allowed up
   * to that many, and a route mixes models whose limits differ, where the provider would refuse the
   * request with a 400. The `anthropic` provider also asks for this many when the request sets no limit
   * (the Messages API requires one): default 4096, what every Claude model since Claude 3 can write.
   */
  maxOutputTokens: z.number().int().positive().optional(),
  /**
   * Request fields this model's API refuses, left out of the calls to it (e.g. `reasoning_effort` for a
   * model that does not reason, `temperature` for one that takes only its default): a route mixing
   * models then sends each what it accepts, where the provider would answer 400. Not `model`, `messages`
   * or `stream` (the call needs them).
   */
  /**
   * How an `anthropic` model thinks, where it does: `budget` (extended thinking with a token budget:
   * Claude 3.7 Sonnet to the 4.5 models) or `adaptive` (adaptive thinking with an effort: Claude 4.6 and
   * later). A request's `reasoning_effort` then turns thinking on (providers/anthropic-thinking.ts). Unset:
   * as the model's name says (a Claude 3.7 to 4.5 with a budget, 4.6 and later adaptively); `none`, or a
   * name without a known version: `reasoning_effort` is dropped for the model.
   */
  thinking: z.enum(['budget', 'adaptive', 'none']).optional(),
  /**
   * An `anthropic` model: mark requests that carry no prompt-cache mark of their own for Claude's
   * prompt cache — the tools and system prompt, and a conversation's last message once it has an
   * assistant turn (providers/anthropic-cache.ts). Marks a client sends (`cache_control`) pass either way.
   */
  promptCache: z.boolean().optional(),
  /**
   * How an `anthropic` model answers `response_format: json_schema`: `native` (Claude's structured
   * outputs, `output_config.format`, Claude 4.5 and later; strict tools stay strict, thinking stays on)
   * or `tool` (a tool the model must call; every Claude). Unset: as the model's name says
   * (providers/anthropic-structured.ts).
   */
  structuredOutputs: z.enum(['native', 'tool']).optional(),
  /**
   * Where an `anthropic` model is served: `anthropic` (default; baseURL https://api.anthropic.com/v1),
   * `bedrock` (Amazon Bedrock; baseURL https://bedrock-runtime.REGION.amazonaws.com, upstreamModel the
   * Bedrock model or inference profile id; a Bedrock API key in apiKeyEnv, else the process's AWS
   * credentials sign) or `vertex` (Google Vertex AI; baseURL
   * https://REGION-aiplatform.googleapis.com/v1/projects/PROJECT/locations/REGION; an access token in
   * apiKeyEnv, else the metadata server's). providers/anthropic-platform.ts.
   */
  platform: z.enum(['anthropic', 'bedrock', 'vertex']).optional(),
  /** The AWS region a `bedrock` model's requests are signed for (default: the one in its baseURL's host). */
  awsRegion: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d+$/, 'expected an AWS region, e.g. us-east-1').optional(),
  dropParams: z
    .array(z.string().min(1).refine((f) => !['model', 'messages', 'stream'].includes(f), { message: 'the call needs this field' }))
    .min(1)
    .optional(),
  /**
   * What the model can do — `tools`, `vision` (image input), `json_schema` (structured outputs),
   * `audio`, `multiple_choices` (`n` > 1), `logprobs` — where it cannot (`false`): a routed request
   * that needs it is not sent to it, and one naming it is refused with 400 `unsupported_capability`
   * (capabilities.ts). Unset: supported.
   */
  supports: SupportsSchema.optional(),
  /** The genai-prices provider id to look the model up under (openai, anthropic, groq, …). */
  priceProvider: z.string().optional(),
  /**
   * At most this many calls in flight to the model (to each of its deployments; a deployment may set
   * its own): a routed request finding it full goes to its next-best model, as with an open circuit
   * (a self-hosted server's capacity spills over to a hosted one); one naming it gets 429 with
   * `retry-after`. Shared by replicas on a Redis store (a slot per call; shared-slots.ts). Default: no limit.
   */
  maxInFlight: z.number().int().positive().optional(),
  /**
   * With `maxInFlight`: how long a call may wait for one of the model's calls to end when it is full,
   * before it spills over to the next-best model (or, named directly, gets 429). Waiting calls are
   * served in order. Default 0: no wait.
   */
  queueMs: z.number().int().min(0).max(600_000).optional(),
  /**
   * At most this many calls a minute (UTC minute windows; shared by replicas on a Redis store) to the
   * model — to each of its deployments, which may set their own: the provider's rate limit, kept
   * before the provider answers 429. Full, it is skipped like a model at its `maxInFlight`.
   */
  requestsPerMinute: z.number().int().positive().optional(),
  /**
   * At most this many tokens a minute (like `requestsPerMinute`) to the model — to each of its
   * deployments, which may set their own: a call counts its prompt's tokens and the completion tokens
   * it asks for (`max_completion_tokens` / `max_tokens`) when it starts, as providers do, and what
   * the answer used beyond that when it ends. Full, it is skipped like a model at its `maxInFlight`.
   */
  tokensPerMinute: z.number().int().positive().optional(),
  /**
   * Models that answer, in this order, a request naming this model directly when it cannot: a
   * retryable failure or timeout before the first byte (after its retries), an open circuit, or full
   * (`maxInFlight`, minute limits) — as a route falls back along its router's ranking. Only those the
   * request's API key may name; the answer says which model gave it (`x-switchyard-fallback-from`).
   */
  fallbacks: z.array(z.string().min(1)).min(1).optional(),
  /** This model's own first-byte, total and idle timeouts (a reasoning model thinks long before its first token), over the config's `timeouts`. */
  timeouts: z.strictObject({ firstByteMs: z.number().int().positive().optional(), totalMs: z.number().int().positive().optional(), idleMs: z.number().int().positive().optional() }).optional(),
  /**
   * Several endpoints serving this model (regions, accounts, Azure deployments): each call goes to
   * one, drawn by `weight` among those whose circuit is closed, and a retry to another
   * (deployments.ts). Each overrides `baseURL`, and `apiKeyEnv` / `upstreamModel` / `query` /
   * `headerEnv` where given.
   */
  deployments: z
    .array(
      z.strictObject({
        baseURL: z.string().url(),
        apiKeyEnv: z.string().optional(),
        upstreamModel: z.string().min(1).optional(),
        query: z.record(z.string(), z.string()).optional(),
        headerEnv: z.record(z.string().regex(HEADER_NAME, 'expected an HTTP header name'), z.string().min(1)).optional(),
        weight: z.number().positive().default(1),
        maxInFlight: z.number().int().positive().optional(),
        requestsPerMinute: z.number().int().positive().optional(),
        tokensPerMinute: z.number().int().positive().optional(),
      }),
    )
    .min(1)
    .optional(),
  /**
   * How a call picks among `deployments`: `weighted` (default) draws by weight; `least-busy` goes to
   * one with the fewest calls in flight for its weight (a slow or overloaded region gets fewer);
   * `fastest` to one among the fastest lately — median time to first byte over the last minute,
   * within a quarter of the best; one with fewer than 3 calls in that minute is tried first.
   */
  balance: z.enum(['weighted', 'least-busy', 'fastest']).optional(),
};

/** What a model's fields must agree on. */
export function modelRules(
  m: { readonly provider: string; readonly data?: string | undefined; readonly thinking?: string | undefined; readonly promptCache?: boolean | undefined; readonly structuredOutputs?: string | undefined; readonly platform?: string | undefined; readonly awsRegion?: string | undefined; readonly deployments?: ReadonlyArray<{ readonly maxInFlight?: number | undefined }> | undefined; readonly maxInFlight?: number | undefined; readonly queueMs?: number | undefined },
  ctx: z.RefinementCtx,
): void {
  if (m.provider === 'replay' && m.data === undefined) ctx.addIssue({ code: 'custom', message: 'a replay model needs "data" (a routing-matrix folder)', path: ['data'] });
  if (m.provider === 'replay' && m.deployments !== undefined) ctx.addIssue({ code: 'custom', message: 'a replay model answers in process: it has no deployments', path: ['deployments'] });
  // a setting that would do nothing is refused, as a misspelt one is
  if (m.promptCache !== undefined && m.provider !== 'anthropic') ctx.addIssue({ code: 'custom', message: 'promptCache is for anthropic models (OpenAI-compatible APIs cache prompts by themselves)', path: ['promptCache'] });
  if (m.structuredOutputs !== undefined && m.provider !== 'anthropic') ctx.addIssue({ code: 'custom', message: 'structuredOutputs is for anthropic models (an OpenAI-compatible model takes response_format as it is)', path: ['structuredOutputs'] });
  if (m.platform !== undefined && m.provider !== 'anthropic') ctx.addIssue({ code: 'custom', message: 'platform is where an anthropic model is served (anthropic, bedrock, vertex): set provider: anthropic', path: ['platform'] });
  if (m.awsRegion !== undefined && m.platform !== 'bedrock') ctx.addIssue({ code: 'custom', message: 'awsRegion is for platform: bedrock', path: ['awsRegion'] });
  if (m.thinking !== undefined && m.provider !== 'anthropic') ctx.addIssue({ code: 'custom', message: 'thinking is for anthropic models (an OpenAI-compatible model takes reasoning_effort as it is)', path: ['thinking'] });
  if (m.queueMs !== undefined && m.maxInFlight === undefined && !(m.deployments ?? []).some((d) => d.maxInFlight !== undefined)) {
    ctx.addIssue({ code: 'custom', message: 'queueMs waits for a slot under maxInFlight: set maxInFlight (on the model or a deployment) too', path: ['queueMs'] });
  }
}

export const ModelConfigSchema = z.strictObject(MODEL_FIELDS).superRefine(modelRules);
export type ModelConfigInput = z.infer<typeof ModelConfigSchema>;
/** A model with its prices resolved. */
export type ModelConfig = ModelConfigInput & { inputPricePerMTok: number; outputPricePerMTok: number };

export const RouteConfigSchema = z.strictObject({
  /** Path of a router artifact (`switchyard train --out`), relative to the config file. */
  router: z.string().min(1),
  lambda: z.number().min(0).max(1).default(0.5),
  /** Models to consider (default: every model the router knows that is configured). */
  models: z.array(z.string().min(1)).optional(),
  /** λ by hour of day (UTC), first match wins. */
  schedule: ScheduleSchema.default([]),
  /** A controller that raises or lowers λ to hold a target spend rate. */
  budget: BudgetControlSchema.optional(),
  /**
   * A candidate router artifact run beside the route's own, in shadow: it decides every request too,
   * its choice is recorded with the decision and never called — `decisions --summary` compares the
   * two before you switch (relative to the config file).
   */
  shadow: z.string().min(1).optional(),
  /**
   * A candidate router artifact that really routes a `share` of the route's requests (drawn per
   * request): its answers are served and recorded as the canary's, so feedback and cost compare the
   * two routers by outcomes (`decisions --summary`) before it replaces the live one.
   */
  canary: z.strictObject({ router: z.string().min(1), share: z.number().gt(0).max(1) }).optional(),
  /**
   * Soft routing (needed by a router with soft=k > 1): `model`, an aggregator model that writes the
   * answer from the proposers' answers, or `scorer`, a response scorer file (`switchyard
   * train-scorer`) that picks the best proposer's answer.
   */
  aggregate: z
    .strictObject({ model: z.string().min(1).optional(), scorer: z.string().min(1).optional() })
    .refine((a) => (a.model === undefined) !== (a.scorer === undefined), 'give exactly one of "model" or "scorer"')
    .optional(),
  /**
   * When the router fails or takes longer than `routerTimeoutMs` (an embeddings service down or slow,
   * a use-lite worker swamped), the request is not refused: this model answers (one of the route's;
   * default: the one the router chose most often so far, else the route's first), its fallbacks after it.
   */
  fallbackModel: z.string().min(1).optional(),
  /**
   * The prices the router trades quality against cost at: `config` (default), the models' prices here
   * — what the gateway pays and bills, so a price changed in the config moves traffic without
   * retraining — or `router`, the prices in its artifact (those of the data it was trained on).
   */
  prices: z.enum(['config', 'router']).default('config'),
  routerTimeoutMs: z.number().int().positive().max(600_000).default(2000),
  /**
   * Conversation affinity (`true`, or `{ ttlSeconds }`, default 3600): a conversation's later turns
   * go to the model that answered its earlier ones rather than being routed afresh (its prompt cache,
   * voice and thinking blocks stay with it); the conversation is the client's
   * `x-switchyard-conversation`, else its system prompt and first user message (affinity.ts).
   */
  sticky: StickySchema.optional(),
  /**
   * Slow models: one whose recent time to first byte (`quantile`, default p90, of its calls in the
   * last `windowS`, at least `minCalls`) is above `maxFirstByteMs` is left out of the router's choice
   * and tried only after the others, until its slow calls are older than the window (latency.ts).
   */
  latency: LatencyConfigSchema.optional(),
});
export type RouteConfig = z.infer<typeof RouteConfigSchema>;

export const GatewayConfigSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(8080),
      /** The largest request body taken (16 MiB: room for images sent inline as data URLs); larger ones get 413. */
      bodyLimitBytes: z.number().int().positive().default(16 << 20),
      /** The longest answer taken from an upstream (64 MiB): a longer JSON answer counts as broken (the next model is tried), a longer stream ends with an error event. */
      upstreamBodyLimitBytes: z.number().int().positive().default(UPSTREAM_BODY_LIMIT),
      /** On SIGTERM/SIGINT: how long requests in flight may take to finish before their connections are cut. */
      drainMs: z.number().int().min(0).default(30_000),
      /**
       * Run the `use-lite` encoder on worker threads, so a new prompt's 12–60 ms do not hold the event
       * loop: `true` one thread per usable core (a container CPU quota counted) but one, from 1 to 4 (a second thread starts only when the
       * first is busy), a number that many, `false` none.
       */
      encoderWorker: z.union([z.boolean(), z.number().int().min(1).max(64)]).default(true),
      /**
       * Gateway processes serving the port together (node:cluster), to use more than one core: `auto`
       * one per core. With more than one, a supervisor starts them, restarts one that dies and sends
       * signals on; they share the store as replicas do (a SQLite file or Redis), and any of them
       * answers /metrics for all. Default 1 (this process serves).
       */
      workers: z.union([z.literal('auto'), z.number().int().min(1).max(64)]).default(1),
      /** Serve HTTPS (certificate and key files; `caFile` + `requireClientCert`: mutual TLS). Default: plain HTTP (TLS at a load balancer). */
      tls: TlsConfigSchema.optional(),
      /**
       * At most this many API requests answered at once; more get 503 `overloaded` with `retry-after`
       * (the official SDKs retry it), instead of queueing until every request is slow. Default: no limit.
       */
      maxInFlight: z.number().int().positive().optional(),
      /**
       * Browser applications on these origins may call the gateway directly (preflights answered, the
       * `x-switchyard-*` headers exposed to their scripts); `*` allows any. Default: off.
       */
      cors: z
        .strictObject({
          origins: z.array(z.union([z.literal('*'), z.string().regex(/^https?:\/\/[^/\s]+$/, 'expected an origin: scheme://host[:port], no path')])).min(1),
          maxAgeS: z.number().int().min(0).default(600),
        })
        .optional(),
    })
    .default({ host: '127.0.0.1', port: 8080, bodyLimitBytes: 16 << 20, upstreamBodyLimitBytes: UPSTREAM_BODY_LIMIT, drainMs: 30_000, encoderWorker: true, workers: 1 }),
  timeouts: z
    .strictObject({
      connectMs: z.number().int().positive().default(5000),
      firstByteMs: z.number().int().positive().default(30_000),
      totalMs: z.number().int().positive().default(120_000),
      /** After the first byte: the longest wait for the next piece of the answer (a stream that stalls midway ends with an error event). Default: none (only totalMs). */
      idleMs: z.number().int().positive().optional(),
    })
    .default({ connectMs: 5000, firstByteMs: 30_000, totalMs: 120_000 }),
  retries: z.number().int().min(0).max(10).default(2),
  store: z
    .strictObject({
      /** `sqlite` (embedded, one process) or `redis` (shared by replicas). */
      backend: z.enum(['sqlite', 'redis']).default('sqlite'),
      path: z.string().min(1).default('switchyard.db'),
      url: z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL').default('redis://127.0.0.1:6379'),
      keyPrefix: z.string().default('switchyard:'),
      /**
       * Redis Sentinel (high availability): the master is found through the sentinels — and found again
       * after a failover — instead of at `url`'s host, which then gives only the password, user,
       * database and TLS (`rediss://`). `name`: the master group the sentinels watch;
       * `passwordEnv`: the variable holding the sentinels' own password, if they need one.
       */
      sentinel: z
        .strictObject({
          name: z.string().min(1),
          hosts: z.array(z.string().regex(/^\[?[^\s]+\]?:\d{1,5}$/, 'expected host:port')).min(1),
          passwordEnv: z.string().min(1).optional(),
        })
        .optional(),
      /**
       * Redis Cluster: some of its nodes (host:port; the others are found from them). `url` then
       * gives only the password, user and TLS. Not with `sentinel`.
       */
      cluster: z.strictObject({ nodes: z.array(z.string().regex(/^\[?[^\s]+\]?:\d{1,5}$/, 'expected host:port')).min(1) }).optional(),
      /**
       * Redis with replicas (Sentinel): a durable write — a decision, feedback, spend, a router snapshot,
       * a stored response, an API key — counts as done (and a request whose records are written before
       * its answer is answered) only once `replicas` replicas hold it, or after `timeoutMs` (Redis
       * `WAIT`). Without it, Redis replicates asynchronously: a failover can lose the writes of the
       * master's last moments. Not with `cluster`.
       */
      waitReplicas: z.strictObject({ replicas: z.number().int().min(1), timeoutMs: z.number().int().positive().default(100) }).optional(),
      /** How often a replica applies feedback that other replicas received (shared stores only). */
      syncMs: z.number().int().positive().default(1000),
      /**
       * Redis: a command not answered within this many ms fails, so a Redis that hangs (a stopped
       * process, a network dropping packets) counts as down — as one refusing connections does —
       * instead of holding the requests that need it.
       */
      timeoutMs: z.number().int().positive().default(2000),
      /**
       * Decisions and feedback older than this many days are deleted (hourly), spend older than this
       * or 40 days — so a Redis store's memory and a SQLite file stop growing. Export what you keep
       * for retraining (`switchyard decisions --export`) within it.
       */
      retentionDays: z.number().int().min(1).max(3650).default(30),
      keepPrompts: z.boolean().default(false),
      /**
       * SQLite: writes (decisions, spend, feedback) commit together every this many ms — one commit
       * per batch, not per request; a killed process loses at most this much. 0: each commits at once.
       */
      commitMs: z.number().int().min(0).max(1000).default(25),
      /**
       * While the store does not answer: `serve` checks API keys but not budgets and rate limits
       * (they need the store); `refuse` answers 503 store_unavailable. Records wait in memory either way.
       */
      whenDown: z.enum(['serve', 'refuse']).default('serve'),
      /**
       * Where records the store still refuses at shutdown are kept (JSON Lines, relative to the config
       * file), to be written at the next start; `false`: they are lost with the process.
       */
      outbox: z.union([z.string().min(1), z.literal(false)]).default('switchyard-outbox.jsonl'),
      /**
       * Encrypt the user text the store keeps (kept prompts, stored responses, cached answers, the
       * learning log's prompts, the outbox) with AES-256-GCM: `keyEnv` names the variable holding a
       * 32-byte key (base64 or hex); `previousKeyEnvs` keys still open what they sealed (rotation).
       */
      encryption: z.strictObject({ keyEnv: z.string().min(1), previousKeyEnvs: z.array(z.string().min(1)).default([]) }).optional(),
    })
    .refine((s) => !(s.sentinel && s.cluster), { message: 'give sentinel or cluster, not both (a cluster fails over by itself)', path: ['cluster'] })
    .refine((s) => !(s.waitReplicas && (s.backend !== 'redis' || s.cluster)), { message: 'waits for the replicas of a Redis master (backend: redis, with or without sentinel; not a cluster)', path: ['waitReplicas'] })
    .refine((s) => !(s.waitReplicas && s.waitReplicas.timeoutMs >= s.timeoutMs), { message: 'must be below store.timeoutMs (a write waiting longer would count as failed)', path: ['waitReplicas', 'timeoutMs'] })
    .default({ backend: 'sqlite', path: 'switchyard.db', url: 'redis://127.0.0.1:6379', keyPrefix: 'switchyard:', syncMs: 1000, timeoutMs: 2000, retentionDays: 30, keepPrompts: false, commitMs: 25, whenDown: 'serve', outbox: 'switchyard-outbox.jsonl' }),
  auth: z
    .strictObject({
      keys: z
        .array(
          z.strictObject({
            name: z.string().min(1),
            /** sha256 hex of the key (`switchyard keys hash KEY`); keys are never stored in clear. */
            sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 hex characters (sha256 of the key)'),
            dailyBudgetUsd: z.number().positive().optional(),
            monthlyBudgetUsd: z.number().positive().optional(),
            /** At most this many requests a minute (UTC minute windows; shared by replicas on a Redis store). */
            requestsPerMinute: z.number().int().positive().optional(),
            /** At most this many tokens a minute: prompt + requested completion tokens, counted on admission (shared by replicas on Redis). */
            tokensPerMinute: z.number().int().positive().optional(),
            /**
             * The least λ this key's routed requests use (a free tier routed cheaper): the route's λ,
             * schedule, budget controller or the request's own λ is raised to it, never lowered.
             */
            minLambda: z.number().min(0).max(1).optional(),
            /** The routes and models this key may name (default: all); others get 403 model_not_allowed. */
            models: z.array(z.string().min(1)).min(1).optional(),
          }),
        )
        .default([]),
      /**
       * Keys of the admin API (`/v1/admin/keys`: make, change, rotate and revoke API keys at run time,
       * kept in the store); sha256 like `keys`. None: the admin API is off. They call nothing else.
       * `role: read` may only read (the keys with their spend, the summaries and decisions: a finance
       * or monitoring dashboard's key); `manage` (the default) may do everything.
       */
      adminKeys: z
        .array(
          z.strictObject({
            name: z.string().min(1),
            sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 hex characters (sha256 of the key)'),
            role: z.enum(['manage', 'read']).default('manage'),
          }),
        )
        .default([]),
      /**
       * Limits for each end user — the requests' `user` (or `safety_identifier`, or the `user` tag of
       * x-switchyard-tags) — per API key: one abusive user of an application cannot spend its key's
       * budget. Requests naming no user are not limited by these.
       */
      endUsers: z
        .strictObject({
          dailyBudgetUsd: z.number().positive().optional(),
          monthlyBudgetUsd: z.number().positive().optional(),
          requestsPerMinute: z.number().int().positive().optional(),
        })
        .optional(),
      /**
       * Whose requests a key may score with POST /v1/feedback: `own` (default) — only those it made
       * (another key's request id is answered 404, as if unknown, so one tenant cannot steer the
       * routers another's traffic trains); `any` — every request (an evaluation service with a key of
       * its own scoring the applications' answers). Without `keys`, anyone may score any request.
       */
      feedback: z.enum(['own', 'any']).default('own'),
    })
    .default({ keys: [], adminKeys: [], feedback: 'own' }),
  logging: z.strictObject({ prompts: z.boolean().default(false) }).default({ prompts: false }),
  /** OpenTelemetry spans per request and model call, through @opentelemetry/api (tracing.ts); the application registers the SDK. */
  tracing: z.boolean().default(false),
  /**
   * The Responses API's stored responses (previous_response_id, GET/DELETE /v1/responses/{id}), kept in
   * the store: `store: false` keeps none (a request's own `store: false` opts out too); `ttlDays`: how long.
   */
  responses: z.strictObject({ store: z.boolean().default(true), ttlDays: z.number().positive().max(3650).default(30) }).default({ store: true, ttlDays: 30 }),
  /**
   * The exact-match answer cache (completion-cache.ts): a request its model already answered within
   * `ttlSeconds` gets that answer again, free. Per API key unless `sharedAcrossKeys`.
   */
  cache: z
    .strictObject({
      enabled: z.boolean().default(false),
      ttlSeconds: z.number().int().positive().default(3600),
      /** Answers each process keeps (least recently used go first); a Redis store also shares them between replicas. */
      maxEntries: z.number().int().positive().default(10_000),
      sharedAcrossKeys: z.boolean().default(false),
    })
    .default({ enabled: false, ttlSeconds: 3600, maxEntries: 10_000, sharedAcrossKeys: false }),
  models: z
    .record(z.string(), ModelConfigSchema)
    .refine((m) => Object.keys(m).length > 0, 'at least one model is required')
    .superRefine((models, ctx) => {
      for (const [id, m] of Object.entries(models)) {
        (m.fallbacks ?? []).forEach((f, k) => {
          if (f === id) ctx.addIssue({ code: 'custom', message: 'a model is not its own fallback', path: [id, 'fallbacks', k] });
          else if (!(f in models)) ctx.addIssue({ code: 'custom', message: `"${f}" is not a configured model`, path: [id, 'fallbacks', k] });
        });
      }
    }),
  routes: z.record(z.string(), RouteConfigSchema).default({}),
}).superRefine((c, ctx) => {
  if (c.server.workers !== 1 && c.store.backend === 'sqlite' && c.store.path === ':memory:') {
    ctx.addIssue({ code: 'custom', message: 'several workers share the store: give store.path a file (not :memory:) or use Redis', path: ['server', 'workers'] });
  }
});
export type GatewayConfigInput = z.infer<typeof GatewayConfigSchema>;
export type GatewayConfig = Omit<GatewayConfigInput, 'models'> & { models: Record<string, ModelConfig> };

/** How many gateway processes `server.workers` asks for (`auto`: one per usable core, a container's CPU quota counted). */
export function workerCount(workers: GatewayConfig['server']['workers'], cores: () => number = usableCores): number {
  return workers === 'auto' ? Math.max(1, cores()) : workers;
}

/** Fills every model's missing prices from @pydantic/genai-prices (or fails naming the model). */
export function withPrices(config: GatewayConfigInput): GatewayConfig {
  const models: Record<string, ModelConfig> = {};
  for (const [id, m] of Object.entries(config.models)) {
    // Claude on Bedrock or Vertex is priced as those clouds list it (their model ids, their regional prices)
    const p = resolvePrices(id, { ...m, priceProvider: m.priceProvider ?? (m.platform === 'bedrock' ? 'aws' : m.platform === 'vertex' ? 'google' : undefined) });
    const contextWindow = m.contextWindow ?? p.contextWindow;
    // every price resolved (the table's where the config sets none); the source and the table's context window are not the model's config
    const { source: _source, contextWindow: _window, priceTiers, ...prices } = p;
    models[id] = { ...m, ...prices, ...(priceTiers ? { priceTiers: [...priceTiers] } : {}), serviceTiers: { ...DEFAULT_SERVICE_TIERS, ...m.serviceTiers }, ...(contextWindow !== undefined ? { contextWindow } : {}) };
  }
  return { ...config, models };
}

/** Parses a config object (as the file would hold it) into a ready GatewayConfig. */
export function parseGatewayConfig(raw: unknown): GatewayConfig {
  return withPrices(GatewayConfigSchema.parse(raw));
}

/** Reads and validates a config file; router paths are resolved against the file's folder. */
export function readGatewayConfig(file: string): GatewayConfig {
  const config = withPrices(readConfigFile(file, GatewayConfigSchema));
  const base = dirname(resolve(file));
  for (const route of Object.values(config.routes)) {
    route.router = resolve(base, route.router);
    if (route.aggregate?.scorer) route.aggregate.scorer = resolve(base, route.aggregate.scorer);
    if (route.shadow) route.shadow = resolve(base, route.shadow);
    if (route.canary) route.canary.router = resolve(base, route.canary.router);
  }
  if (config.store.path !== ':memory:') config.store.path = resolve(base, config.store.path);
  if (config.store.outbox !== false) config.store.outbox = resolve(base, config.store.outbox);
  if (config.server.tls) config.server.tls = resolveTlsPaths(config.server.tls, file);
  for (const m of Object.values(config.models)) if (m.data) m.data = resolve(base, m.data);
  return config;
}
