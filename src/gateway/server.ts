/**
 * The routing gateway (issue #6): an OpenAI-compatible `POST /v1/chat/completions` whose `model`
 * names a route (a trained router + λ, routes.ts) or a configured model. The router picks the model;
 * the call goes out with retries (pure policy) and falls back along the router's ranking on a
 * retryable failure before the first byte; a circuit breaker guards each upstream. JSON or SSE
 * (passed through; a stream that breaks after bytes were sent ends with an error event).
 * Responses carry x-switchyard-model, -route, -lambda, -cost-usd (JSON), -overhead-ms and
 * x-request-id. Every decision is recorded in the store; POST /v1/feedback updates routers that learn
 * online and persists their state; API keys (sha256) with daily/monthly budgets gate requests. Also:
 * /v1/embeddings passed through, /health and /ready, graceful shutdown, and cancellation of the
 * upstream calls of a client that went away (in-flight.ts).
 */
import { remember } from '../core/lru.js';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { loadTls, serverOptions, type TlsMaterial } from '../core/tls.js';
import type { Server as HttpsServer } from 'node:https';
import { listen, type Listening } from './listeners.js';
import { z } from 'zod';
import { createRng, type Rng } from '../core/random.js';
import pino, { type Logger } from 'pino';
import { endUserId, keyOf } from './auth.js';
import { Admission, sendRefusal } from './admission.js';
import { ConversationAffinity } from './affinity.js';
import { serveChat, type ChatHost, type RecentRequest } from './chat.js';
import { serveAdmin } from './admin-api.js';
import { KeyTable } from './key-table.js';
import { GatewayMetrics } from './metrics.js';
import type { GatewayConfig } from './config.js';
import type { Repriced } from '../routers/artifact.js';
import { loadRoute, type LoadedRoute } from './routes.js';
import { FeedbackSchema, errorCodeOf, parseJsonBody, readBody, sendError, sendJson } from './http.js';
import { InFlight, SHUTDOWN } from './in-flight.js';
import { fetchPost, undiciPost, type CallSignal, type HttpPost } from './providers/openai-compatible.js';
import type { ModelCallDeps, RetryDeps } from './model-call.js';
import { EmbeddingsRequestSchema, serveEmbeddings } from './embeddings.js';
import { loadModelSet, modelChanges, upstreamsFor, type ModelChanges, type ModelSet } from './model-set.js';
import type { SharedLimits } from './deployments.js';
import { SharedSlots } from './shared-slots.js';
import { modelStatus } from './model-status.js';
import { Connections } from './connections.js';
import { applyCors } from './cors.js';
import { serveModelList } from './model-list.js';
import { runUseLiteInWorker } from '../encoders/use-lite.js';
import { serveCountTokens, serveMessages } from './messages-api.js';
import { serveCompletions } from './completions-api.js';
import { serveResponses, serveStoredResponse } from './responses-api.js';
import { StoredResponses } from './responses-store.js';
import type { PlanDeps } from './routing-plan.js';
import { openStore } from './store/open-store.js';
import { SqliteStore } from './store/sqlite-store.js';
import type { ClusterLink } from './worker-link.js';
import { endRequestSpan, startRequestSpan, type RequestSpan } from './tracing.js';
import { ResilientStore, StoreUnavailableError } from './store/resilient-store.js';
import { RedisStore } from './store/redis-store.js';
import { EncryptedStore } from './store/encrypted-store.js';
import { createCipher } from './store/encryption.js';
import { CompletionCache } from './completion-cache.js';
import { CostModel } from '../routers/cost-model.js';
import { costOf } from './usage-cost.js';
import { requestIds } from './request-id.js';
import { SPEND_KEEP_MS, type DecisionRecord, type GatewayStore } from './store/store.js';

export interface GatewayDeps {
  /** An injected fetch for upstream calls (default: undici pools). */
  readonly fetch?: typeof fetch;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly now?: () => number;
  readonly rng?: Rng;
  readonly sleep?: (ms: number) => Promise<void>;
  /** Defaults to the store the config names (SQLite at store.path, or Redis at store.url). */
  readonly store?: GatewayStore;
  /** Structured JSON logs (default: pino to stderr). Never given API keys; prompts only with logging.prompts. */
  readonly logger?: Logger;
  /** Leave the store as it is — records a previous process left in the outbox, and old decisions (retention) — for a later start (`serve --check` only looks). */
  readonly leaveOutbox?: boolean;
  /** Reads the config again (its file): what `reloadConfig` — SIGHUP, `POST /v1/admin/reload` — applies. */
  readonly readConfig?: () => GatewayConfig;
  /** One of several worker processes (`server.workers`): its supervisor sums /metrics and spreads reloads; the SQLite file is shared. */
  readonly cluster?: ClusterLink;
}

/** What a reload changed: the routes now served, models added/removed/changed, sections that need a restart. */
export interface ReloadResult {
  readonly routes: string[];
  readonly models: ModelChanges;
  readonly ignored: string[];
  /** `server.tls`'s files were read again (renewed certificates, a new revocation list) for new connections. */
  readonly tlsReloaded: boolean;
}

const RECENT_LIMIT = 10_000;
/** How long a request is remembered as learned from (its feedback's marker). */
const LEARNED_KEEP_MS = 30 * 86_400_000;
const READY_TIMEOUT_MS = 1000;
/** At a stop, how long a client that connected but has not sent its request yet is given to send it (at most `drainMs`). */
const FRESH_GRACE_MS = 1000;
/** How long a served prompt stays in a shared store for feedback arriving at another replica. */
const PENDING_PROMPT_MS = 24 * 3600_000;

export class Gateway {
  private server: Server | undefined;
  /** The public listener and how the gateway reaches itself (listeners.ts). */
  private listening: Listening | undefined;
  /** How the Responses, Messages and completions APIs call /v1/chat/completions. */
  private ownPost: HttpPost;
  /** server.tls, read at start (a file that cannot be read stops it, `serve --check` included). */
  private tls: TlsMaterial | undefined;
  private readonly routes = new Map<string, LoadedRoute>();
  /**
   * Each model's deployments and circuit breakers, and its own transport when not plain HTTP
   * (Anthropic, the in-process replay provider). Replaced whole on reload: a request keeps the set it
   * started with.
   */
  private models: ModelSet;
  private readonly post: HttpPost;
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly now: () => number;
  private readonly readConfig: (() => GatewayConfig) | undefined;
  private readonly cluster: ClusterLink | undefined;
  private readonly rng: Rng;
  private readonly sleep: (ms: number) => Promise<void>;
  /** The configured store, outage-tolerant (resilient-store.ts). */
  readonly store: ResilientStore;
  readonly metrics: GatewayMetrics;
  private readonly log: Logger;
  private readonly recent = new Map<string, RecentRequest>();

  /** Requests in flight, each with the signal that cancels its upstream calls when its client goes away. */
  private readonly inFlight = new InFlight();
  /** This gateway's own origin, once listening. */
  private origin = '';
  private closing: Promise<void> | undefined;
  private syncTimer: NodeJS.Timeout | undefined;
  private logFlushTimer: NodeJS.Timeout | undefined;
  private readonly nextRequestId: () => string;
  /** The retry policy's dependencies, for routed calls and proposers alike. */
  private retry: RetryDeps;
  /** The Responses API's stored responses. */
  private stored: StoredResponses;
  /** The exact-match answer cache, when enabled. */
  private cache: CompletionCache | undefined;
  /** Keys, budgets, rate limits and the models a key may name. */
  private readonly admission: Admission;
  /** The API keys in force: the config's and those made through the admin API. */
  readonly keys: KeyTable;
  private keysTimer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  /** Where an end user's spend and requests are counted (auth.endUsers). */
  private readonly endUserId: (key: string | null, user: string) => string;

  /** What the chat pipeline reads of this gateway (chat.ts), current after a reload. */
  private readonly chatHost: ChatHost;
  /** The model each conversation of a sticky route stays on (affinity.ts). */
  private readonly affinity: ConversationAffinity;

  /** The config in force (routes and keys change on reload). */
  get config(): GatewayConfig {
    return this.current;
  }

  private constructor(
    private current: GatewayConfig,
    deps: GatewayDeps,
    store: GatewayStore,
  ) {
    const config = current;
    this.post = deps.fetch ? fetchPost(deps.fetch) : undiciPost(config.timeouts.connectMs, config.server.upstreamBodyLimitBytes);
    this.ownPost = this.post;
    this.env = deps.env ?? process.env;
    this.now = deps.now ?? Date.now;
    this.readConfig = deps.readConfig;
    this.cluster = deps.cluster;
    this.rng = deps.rng ?? createRng(0);
    this.sleep = deps.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.models = { config: config.models, posts: new Map(), upstreams: upstreamsFor(config.models, undefined, this.now) }; // transports loaded in create()
    this.metrics = new GatewayMetrics(() => this.models.upstreams, () => this.keys.keys(), this.now);
    // an outage of the store (a Redis restart) never fails an answered request: its records wait in memory
    this.tls = config.server.tls ? loadTls(config.server.tls, 'server.tls') : undefined;
    // user text encrypted at rest when configured (a missing or malformed key stops the start here)
    const cipher = config.store.encryption ? createCipher(config.store.encryption, this.env) : undefined;
    if (store instanceof RedisStore) {
      let warned = 0;
      store.onUnreplicated = (got, wanted) => {
        this.metrics.storeUnreplicated.of().value++;
        // at most once a minute: with a replica away, every write is counted
        if (this.now() - warned < 60_000) return;
        warned = this.now();
        this.log.warn({ got, wanted }, 'store: a write reached fewer Redis replicas than store.waitReplicas asks, within its timeout');
      };
    }
    this.store = new ResilientStore(cipher ? new EncryptedStore(store, cipher) : store, {
      onError: (operation, e) => {
        this.metrics.storeErrors.of(operation).value++;
        this.log.warn({ operation, err: (e as Error).message }, 'store operation failed');
      },
      onPending: (n) => this.metrics.storePending.set(n),
      ...(config.store.outbox === false ? {} : { outbox: resolve(config.store.outbox) }),
      // Redis: a command left waiting (a cluster master away) fails a little after store.timeoutMs, which a single Redis applies itself (SQLite answers at once, shared or not)
      ...(store.shared && !(store instanceof SqliteStore) ? { deadlineMs: config.store.timeoutMs + 500 } : {}),
      ...(cipher ? { cipher } : {}),
    });
    this.nextRequestId = requestIds(this.now);
    this.retry = { maxRetries: config.retries, rng: this.rng, now: this.now, sleep: this.sleep };
    this.keys = new KeyTable(() => this.current.auth.keys, this.store);
    // an end user's spend id holds no user id in clear when the store is encrypted
    this.endUserId = (key, user) => endUserId(key, cipher ? cipher.pseudonym(user) : user);
    // after a key rotation, spend counted under the earlier keys' pseudonyms still counts against the limits
    const endUserIds = (key: string | null, user: string): string[] => [this.endUserId(key, user), ...(cipher?.earlierPseudonyms(user).map((p) => endUserId(key, p)) ?? [])];
    this.admission = new Admission(() => this.current, this.store, this.now, () => this.keys.keys(), endUserIds);
    this.cache = config.cache.enabled ? new CompletionCache(config.cache, this.store, this.now) : undefined;
    this.stored = new StoredResponses(this.store, config.responses.store, config.responses.ttlDays * 86_400_000, this.now);
    this.affinity = new ConversationAffinity(this.store, this.now);
    this.chatHost = this.hostForChat();
    if (deps.logger) this.log = deps.logger;
    else {
      // lines are written 32 KB at a time (a write is a costly syscall a request), and at least every second
      const dest = pino.destination({ dest: 2, sync: false, minLength: 32_768, maxWrite: 65_536 });
      this.log = pino({ base: { service: 'switchyard' } }, dest);
      this.logFlushTimer = setInterval(() => {
        try {
          dest.flush();
        } catch {
          // a destination that is not writable (closing) keeps its lines for the next try
        }
      }, 1000);
      this.logFlushTimer.unref();
    }
  }

  /**
   * Loads every route's router — the state it learned from feedback if the store has it (a restart
   * resumes where it stopped), else the artifact file — and checks that its models are configured.
   */
  static async create(config: GatewayConfig, deps: GatewayDeps = {}): Promise<Gateway> {
    const g = new Gateway(config, deps, deps.store ?? (await openStore(config.store, deps.env ?? process.env, deps.cluster !== undefined)));
    const back = deps.leaveOutbox ? { restored: 0, invalid: 0 } : g.store.restore(); // what a previous process could not write before it stopped
    if (back.restored > 0) g.log.info({ records: back.restored, outbox: config.store.outbox }, 'writing the records a previous process left in the outbox');
    if (back.invalid > 0) g.log.warn({ lines: back.invalid, outbox: config.store.outbox }, 'outbox lines that are not valid records were skipped');
    // keys made through the admin API; with a shared store read again every store.syncMs (another
    // replica may change them; this one re-reads them after its own changes)
    await g.keys.refresh().catch((e: unknown) => g.log.warn({ err: (e as Error).message }, 'admin-made API keys could not be read; only the config keys count until the store answers'));
    if (g.store.shared) {
      g.keysTimer = setInterval(() => void g.keys.refresh().catch(() => undefined), config.store.syncMs);
      g.keysTimer.unref();
    }
    // retention: decisions and feedback older than store.retentionDays go, at start and every hour (not when only checking)
    if (!deps.leaveOutbox) {
      void g.forgetOld();
      g.retentionTimer = setInterval(() => void g.forgetOld(), 3_600_000);
      g.retentionTimer.unref();
    }
    runUseLiteInWorker(config.server.encoderWorker); // a use-lite route's encoding off the event loop
    g.models = await loadModelSet(config.models, g.post, g.now, undefined, g.sharedLimits(), g.env);
    for (const [name, rc] of Object.entries(config.routes)) g.routes.set(name, g.noteRepriced(await loadRoute(name, rc, config, g.store)));
    g.startSync();
    return g;
  }

  /** Logs the models a route's router now prices at the config's prices (routes.X.prices). */
  private noteRepriced(route: LoadedRoute): LoadedRoute {
    const fmt = (p: { inputPricePerMTok: number; outputPricePerMTok: number }): string => `$${p.inputPricePerMTok} / $${p.outputPricePerMTok}`;
    if (route.repriced.length > 0) this.log.info({ route: route.name, repriced: route.repriced.map((r) => `${r.model}: ${fmt(r.from)} → ${fmt(r.to)}`) }, 'the router predicts costs at the config\'s prices');
    return route;
  }

  /** Each route's models whose prices in the config differ from its router's (serve --check). */
  repricedRoutes(): Array<{ readonly route: string; readonly repriced: readonly Repriced[] }> {
    return [...this.routes.values()].map((r) => ({ route: r.name, repriced: r.repriced }));
  }

  /** Deletes decisions and feedback older than `store.retentionDays`, and spend older than that or 40 days (monthly budgets need a month); a failure is logged and retried in an hour. */
  private async forgetOld(): Promise<void> {
    const now = this.now();
    const keep = this.config.store.retentionDays * 86_400_000;
    try {
      const deleted = await this.store.forget(now - keep, now - Math.max(keep, SPEND_KEEP_MS));
      if (deleted > 0) this.log.info({ decisions: deleted, before: new Date(now - keep).toISOString(), retentionDays: this.config.store.retentionDays }, 'retention: deleted old decisions and their feedback');
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'retention: old decisions could not be deleted (retried in an hour)');
    }
  }

  /** With a shared store, models' `maxInFlight` slots (one set per process, kept across reloads). */
  private slots: SharedSlots | undefined;

  /**
   * With a shared store, models' minute limits (leases of the store's counters; minute-limit.ts) and
   * `maxInFlight` (slots in the store; shared-slots.ts) are shared by the replicas.
   */
  private sharedLimits(): SharedLimits | undefined {
    if (!this.store.shared) return undefined;
    this.slots ??= new SharedSlots(this.store, (e) => {
      if (!this.warnNow('slots', 60_000)) return;
      this.log.warn({ err: (e as Error).message }, "a model's shared maxInFlight could not be counted in the store: this replica counts its own calls against the whole limit until the store answers");
    });
    return {
      minutes: {
        reserve: (id, window, amount) => this.store.countInWindow('model', id, window, amount),
        onError: (e) => this.log.warn({ err: (e as Error).message }, "a model's shared minute limit could not be reserved: this replica counts the minute alone, against the whole limit"),
      },
      slots: this.slots,
    };
  }

  /** With a shared store, routes that learn apply other replicas' feedback every `store.syncMs`. */
  private startSync(): void {
    if (this.syncTimer || !this.store.shared || ![...this.routes.values()].some((r) => r.learning.learns)) return;
    this.syncTimer = setInterval(() => void this.syncLearning(), this.current.store.syncMs);
    this.syncTimer.unref();
  }

  /**
   * Reads the config again (`deps.readConfig`) and applies it (`reload`), one reload at a time: a
   * config that does not parse or load is thrown, and the running one stays.
   */
  reloadConfig(): Promise<ReloadResult> {
    const read = this.readConfig;
    if (!read) return Promise.reject(new Error('this gateway was not started from a config file: nothing to read again'));
    const run = this.reloading.then(() => this.reload(read()));
    this.reloading = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private reloading: Promise<void> = Promise.resolve();

  /**
   * Applies a new config without a restart (`switchyard serve` does on SIGHUP): the models — added,
   * removed, prices, endpoints, deployments — the routes — router artifacts, λ, schedules, budgets,
   * aggregators, shadows — the API keys, timeouts (but the connect timeout), retries, the answer
   * cache (emptied when its settings change), stored responses' settings, logging and tracing. Routes that learn save their state first and resume from it.
   * Every model transport and route is loaded before anything is swapped in, so a bad artifact or a
   * route naming a model no longer configured leaves the running config untouched (the error is
   * thrown); requests in flight finish with the models and routes they started with; a model whose
   * config did not change keeps its circuit breakers. Sections that need a restart are returned as
   * `ignored` when they changed.
   */
  async reload(next: GatewayConfig): Promise<ReloadResult> {
    const before = this.current;
    // server.tls's files (and their paths) change with a reload; turning TLS on or off, like the rest of server, needs a restart
    const withoutTls = (c: GatewayConfig): unknown => ({ ...c.server, tls: c.server.tls !== undefined });
    const ignored: string[] = [...(JSON.stringify(withoutTls(next)) !== JSON.stringify(withoutTls(before)) ? ['server'] : []), ...(JSON.stringify(next.store) !== JSON.stringify(before.store) ? ['store'] : [])];
    if (next.timeouts.connectMs !== before.timeouts.connectMs) ignored.push('timeouts.connectMs'); // the connection pools keep theirs
    const models = modelChanges(before.models, next.models);
    for (const r of this.routes.values()) await r.learning.snapshot().catch((e: unknown) => this.log.warn({ route: r.name, err: (e as Error).message }, 'snapshot before reload failed'));
    const tlsConfig = before.server.tls && next.server.tls ? next.server.tls : before.server.tls;
    const config: GatewayConfig = { ...next, server: { ...before.server, ...(tlsConfig ? { tls: tlsConfig } : {}) }, store: before.store, timeouts: { ...next.timeouts, connectMs: before.timeouts.connectMs } };
    // TLS files are read again, for connections made from now on (renewed certificates, a new revocation list)
    const tls = tlsConfig ? loadTls(tlsConfig, 'server.tls') : undefined;
    const modelsChanged = models.added.length + models.removed.length + models.changed.length > 0;
    const set = modelsChanged ? await loadModelSet(next.models, this.post, this.now, this.models, this.sharedLimits(), this.env) : this.models;
    const loaded = new Map<string, LoadedRoute>();
    for (const [name, rc] of Object.entries(next.routes)) loaded.set(name, this.noteRepriced(await loadRoute(name, rc, config, this.store)));
    this.current = config;
    this.models = set;
    if (tls) {
      this.tls = tls;
      (this.server as HttpsServer | undefined)?.setSecureContext(serverOptions(tls));
    }
    this.retry = { ...this.retry, maxRetries: config.retries };
    if (JSON.stringify(config.cache) !== JSON.stringify(before.cache)) this.cache = config.cache.enabled ? new CompletionCache(config.cache, this.store, this.now) : undefined;
    if (JSON.stringify(config.responses) !== JSON.stringify(before.responses)) this.stored = new StoredResponses(this.store, config.responses.store, config.responses.ttlDays * 86_400_000, this.now);
    this.routes.clear();
    for (const [name, route] of loaded) this.routes.set(name, route);
    this.startSync();
    this.log.info({ routes: [...loaded.keys()], keys: config.auth.keys.length, models, ignored }, 'config reloaded');
    return { routes: [...loaded.keys()], models, ignored, tlsReloaded: tls !== undefined };
  }

  async listen(): Promise<string> {
    this.listening = await listen((req, res) => void this.serve(req, res), this.config.server.host, this.config.server.port, this.tls);
    this.server = this.listening.server;
    this.origin = this.listening.origin;
    this.ownPost = this.listening.ownPost(this.post);
    return this.listening.url;
  }

  /** Applies feedback other replicas received (shared stores); errors are logged, never thrown. */
  async syncLearning(): Promise<void> {
    for (const r of this.routes.values()) {
      if (!r.learning.learns) continue;
      await r.learning.sync().catch((e: unknown) => this.log.warn({ route: r.name, err: (e as Error).message }, 'feedback sync failed'));
    }
  }

  /**
   * Shuts down gracefully: stops accepting connections (idle keep-alive ones close at once; one that
   * connected but has not sent its request gets up to a second to send it, and is answered), lets the
   * requests in flight finish for up to `server.drainMs` (their responses close their connections),
   * cuts the rest (recorded as 503, their upstream calls cancelled), then saves the routers' learned
   * state and closes the store. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    if (this.syncTimer) clearInterval(this.syncTimer);
    if (this.logFlushTimer) clearInterval(this.logFlushTimer);
    if (this.keysTimer) clearInterval(this.keysTimer);
    if (this.retentionTimer) clearInterval(this.retentionTimer);
    this.slots?.close();
    const server = this.server;
    const connections = this.listening?.connections;
    const closed = new Promise<void>((r) => (server ? Connections.stopListening(server, r) : r()));
    this.inFlight.drain(); // answers from now on close their connections
    connections?.closeIdle();
    // a client that connected just before the stop has its request answered, not its connection cut
    const drainMs = this.config.server.drainMs;
    const started = Date.now();
    await connections?.settleFresh(Math.min(FRESH_GRACE_MS, drainMs));
    if (this.inFlight.size > 0) this.log.info({ requests: this.inFlight.size, drainMs }, 'draining');
    await this.inFlight.settled(Math.max(0, drainMs - (Date.now() - started)));
    this.inFlight.cut(SHUTDOWN);
    server?.closeAllConnections();
    await this.inFlight.settled(2000); // the cut requests record themselves
    await closed;
    await this.listening?.closeLoopback(); // the drained requests are answered: the gateway's calls to itself are over too
    for (const r of this.routes.values()) await r.learning.snapshot().catch((e: unknown) => this.log.warn({ route: r.name, err: (e as Error).message }, 'snapshot on close failed'));
    await this.store.close();
    if (this.store.spilled > 0) this.log.warn({ records: this.store.spilled, outbox: this.config.store.outbox }, 'the store was still down at shutdown: these records wait in the outbox for the next start');
    if (this.store.pendingWrites > 0) this.log.error({ records: this.store.pendingWrites }, 'the store was still down at shutdown: these records were not written');
    try {
      this.log.flush();
    } catch {
      // nothing more can be written
    }
  }

  /**
   * Readiness: 200 when the store answers within a second, else 503 (a replica that lost Redis leaves
   * the load balancer). While draining the listener is closed, so probes are refused.
   */
  private async ready(res: ServerResponse): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer within 1 s')), READY_TIMEOUT_MS)));
    try {
      await Promise.race([this.store.ready(), timeout]);
      sendJson(res, 200, { status: 'ok' });
    } catch (e) {
      sendJson(res, 503, { status: 'store_unavailable', error: (e as Error).message });
    } finally {
      clearTimeout(timer);
    }
  }

  /** One request, tracked while in flight; its signal fires when the client goes away before the answer is complete. */
  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const cors = this.current.server.cors;
    if (cors && applyCors(req, res, cors)) return; // a preflight, answered (its headers also on a 503 below: the page can read it)
    const cap = this.current.server.maxInFlight;
    if (cap !== undefined && this.inFlight.size >= cap && req.url?.startsWith('/v1/')) {
      // shed load early (probes and metrics still answer): the SDKs retry a 503 after retry-after
      this.metrics.errors.of('overloaded', '503').value++;
      return sendError(res, 503, 'overloaded', `the gateway is answering ${this.inFlight.size} requests, its server.maxInFlight; retry shortly`, { 'retry-after': '1' });
    }
    const client = this.inFlight.track(res);
    const span = this.current.tracing ? startRequestSpan(req.method ?? '', (req.url ?? '').split('?')[0] as string, req.headers) : undefined;
    try {
      await this.handle(req, res, client, span);
    } catch (e) {
      if (res.headersSent) res.destroy();
      else if (e instanceof StoreUnavailableError) sendError(res, 503, 'store_unavailable', e.message, { 'retry-after': '1' });
      else sendError(res, 500, 'internal_error', `internal error: ${(e as Error).message}`);
    } finally {
      this.inFlight.done(res);
      const code = errorCodeOf(res);
      if (code) this.metrics.errors.of(code, String(res.statusCode)).value++;
      if (span) endRequestSpan(span, res.statusCode, code);
    }
  }

  private remember(requestId: string, r: RecentRequest): void {
    remember(this.recent, requestId, r, RECENT_LIMIT);
  }

  /** POST /v1/feedback {request_id, score}: recorded, and fed to the route's router if it learns online. */
  private async feedback(fb: z.infer<typeof FeedbackSchema>, res: ServerResponse, requestId: string, keyName: string | null): Promise<void> {
    const { request_id: id, score } = fb;
    const decision = await this.store.getDecision(id);
    if (!decision) return sendError(res, 404, 'request_not_found', `no decision recorded for request ${id}`);
    // auth.feedback: own — another key's request is as unknown to this key (its id says nothing more)
    if (this.config.auth.feedback === 'own' && keyName !== null && decision.keyId !== null && decision.keyId !== keyName) {
      return sendError(res, 404, 'request_not_found', `no decision recorded for request ${id} made with this API key (auth.feedback: any lets a key score every key's requests)`);
    }
    await this.store.recordFeedback(id, score, this.now());
    const route = this.routes.get(decision.route);
    let updated = false;
    // a router learns from a request's first feedback only: a client's retry or a second score counts once (the summaries keep the latest score)
    if (route?.learning.learns && decision.answered && (await this.store.claimExpiring('learned', id, this.now() + LEARNED_KEEP_MS))) {
      // the prompt: from this replica's memory, the decision log (keepPrompts), or the shared store
      const prompt = this.recent.get(id)?.prompt ?? decision.prompt ?? (this.store.shared ? await this.store.getExpiring('prompt', id) : undefined);
      if (prompt !== null && prompt !== undefined) {
        await route.learning.learn({ prompt, model: decision.answered, score, costUsd: decision.costUsd });
        updated = true;
      }
    }
    const text = JSON.stringify({ request_id: id, recorded: true, router_updated: updated });
    res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': requestId });
    res.end(text);
  }

  private async record(d: DecisionRecord, recent: RecentRequest | undefined, upstreamMs = 0, overheadMs = 0): Promise<void> {
    const controller = this.routes.get(d.route)?.lambda;
    if (controller && d.costUsd > 0) {
      controller.observe(d.costUsd, d.time);
      this.metrics.lambda.set({ route: d.route }, controller.lambda(d.time));
    }
    if (d.keyId && d.costUsd > 0) this.metrics.keyCost.of(d.keyId).value += d.costUsd;
    this.metrics.observeRequest({ route: d.route, chosen: d.chosen, answered: d.answered, status: d.status, costUsd: d.costUsd, latencyMs: d.latencyMs, upstreamMs, overheadMs });
    this.log.info({ requestId: d.requestId, route: d.route, key: d.keyId, chosen: d.chosen, model: d.answered, status: d.status, costUsd: d.costUsd, latencyMs: Number(d.latencyMs.toFixed(3)), ...(this.config.logging.prompts && recent ? { prompt: recent.prompt } : {}) }, 'request');
    await this.store.recordDecision(d);
    if (d.keyId && d.costUsd > 0) await this.store.addSpend(d.keyId, d.costUsd, d.time, d.requestId);
    const user = d.tags?.['user'];
    if (user !== undefined && this.config.auth.endUsers && d.costUsd > 0) await this.store.addSpend(this.endUserId(d.keyId, user), d.costUsd, d.time, `${d.requestId}/user`);
    if (recent) this.remember(d.requestId, recent);
    if (recent && this.store.shared && this.routes.get(d.route)?.learning.learns) {
      await this.store.putExpiring('prompt', d.requestId, recent.prompt, d.time + PENDING_PROMPT_MS);
    }
  }

  /** The chat pipeline's view of this gateway: getters, since a reload replaces the config, models, cache and retry settings. */
  private hostForChat(): ChatHost {
    const g = this; // the getters read the gateway's state at each request
    return {
      get config() {
        return g.current;
      },
      get models() {
        return g.models;
      },
      get cache() {
        return g.cache;
      },
      get retry() {
        return g.retry;
      },
      routes: g.routes,
      admission: g.admission,
      metrics: g.metrics,
      sharedStore: g.store.shared,
      now: g.now,
      post: g.post,
      env: g.env,
      planDeps: (client, models) => g.planDeps(client, models),
      record: (d, recent, upstreamMs, overheadMs) => g.record(d, recent, upstreamMs, overheadMs),
      affinity: g.affinity,
      unpricedTier: (modelId, tier) => {
        if (g.warnNow(`tier:${modelId}/${tier}`, 3_600_000)) g.log.warn({ model: modelId, serviceTier: tier }, `${modelId} answered at service tier "${tier}", which models.${modelId}.serviceTiers does not price: billed at the standard prices`);
      },
    };
  }

  /** When each kind of repeated warning was last logged. */
  private readonly lastWarned = new Map<string, number>();
  /** True at most once every `ms` per `key`: an outage is logged now and then, not once a request (metrics count every one). */
  private warnNow(key: string, ms: number): boolean {
    const now = this.now();
    if (now - (this.lastWarned.get(key) ?? -Infinity) < ms) return false;
    this.lastWarned.set(key, now);
    return true;
  }

  private readonly onRouterError = (route: string, router: 'main' | 'canary' | 'shadow', e: unknown): void => {
    this.metrics.routerErrors.of(route, router).value++;
    if (!this.warnNow(`router:${route}/${router}`, 10_000)) return;
    const what = router === 'main' ? "its requests go to the route's fallback model" : router === 'canary' ? 'the live router decides instead' : 'no shadow choice is recorded';
    this.log.warn({ route, router, err: (e as Error).message ?? String(e) }, `route ${route}: the ${router} router failed (${what})`);
  };

  /** What planning a routed request needs: the models, timeouts and call dependencies of a cascade's or soft routing's calls. */
  private planDeps(client: CallSignal, models: ModelSet): PlanDeps {
    return {
      models: models.config,
      timeouts: this.config.timeouts,
      calls: () => ({ post: (id: string) => models.posts.get(id) ?? this.post, env: this.env, cost: costOf, upstreams: (id: string) => models.upstreams.get(id), retry: this.retry, cancel: client }),
      countStep: (r, m, outcome) => void this.metrics.cascadeSteps.of(r, m, outcome).value++,
      onRouterError: this.onRouterError,
      draw: () => this.rng.next(),
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse, client: CallSignal, span?: RequestSpan): Promise<void> {
    const started = performance.now();
    const requestId = this.nextRequestId();
    const url = (req.url ?? '').split('?')[0];
    // liveness: the process answers (one of several workers says which)
    if (req.method === 'GET' && url === '/health') return sendJson(res, 200, this.cluster ? { status: 'ok', worker: this.cluster.worker } : { status: 'ok' });
    if (req.method === 'GET' && url === '/ready') return this.ready(res);
    if (req.method === 'GET' && url === '/metrics') {
      // one of several workers: every worker's, summed by the supervisor (this one's alone if it does not answer)
      const all = await this.cluster?.metrics();
      res.writeHead(200, { 'content-type': all?.contentType ?? this.metrics.registry.contentType });
      res.end(all?.text ?? (await this.metrics.registry.metrics()));
      return;
    }
    if (req.method === 'GET' && url?.startsWith('/v1/models')) {
      return serveModelList(res, url, { routes: this.routes, models: this.config.models, key: keyOf(req.headers.authorization, this.keys.keys()), requestId });
    }
    if (req.method === 'GET' && url === '/v1/usage') return this.admission.usage(res, req.headers.authorization, requestId);
    if (url?.startsWith('/v1/admin/')) {
      const { auth, server, models } = this.config;
      const known = (id: string): boolean => this.routes.has(id) || id in models;
      const audit = (action: string, name: string, admin: string): void => this.log.info({ action, key: name, admin }, 'admin');
      return serveAdmin(req, res, url, { adminKeys: auth.adminKeys, keys: this.keys, store: this.store, now: this.now, known, bodyLimitBytes: server.bodyLimitBytes, requestId, audit, reload: this.readConfig ? () => this.reloadConfig().then((r) => (this.cluster?.reloaded(), r)) : undefined, modelStatus: () => modelStatus(this.models.config, this.models.upstreams, this.routes, this.now()) });
    }
    if (req.method === 'POST' && (url === '/v1/responses' || url === '/v1/messages' || url === '/v1/completions')) {
      // the Responses, Anthropic Messages and legacy completions APIs go through /v1/chat/completions, which authenticates, routes and records them
      const deps = { post: this.ownPost, origin: this.origin, bodyLimitBytes: this.config.server.bodyLimitBytes, now: this.now, requestId };
      if (url === '/v1/completions') return serveCompletions(req, res, deps);
      return url === '/v1/responses' ? serveResponses(req, res, { ...deps, stored: this.stored, keyName: this.admission.keyName }) : serveMessages(req, res, deps);
    }
    const stored = /^\/v1\/responses\/([A-Za-z0-9_-]{1,128})(\/input_items)?$/.exec(url ?? '');
    if (stored?.[1] && (req.method === 'GET' || (req.method === 'DELETE' && !stored[2]))) {
      return serveStoredResponse(req, res, stored[1], stored[2] ? 'input_items' : 'response', { stored: this.stored, keyName: this.admission.keyName, requestId });
    }
    if (req.method === 'POST' && url === '/v1/messages/count_tokens') {
      return serveCountTokens(req, res, { bodyLimitBytes: this.config.server.bodyLimitBytes, requestId, keyKnown: (h) => this.admission.keyName(h) !== undefined });
    }
    if (req.method !== 'POST' || (url !== '/v1/chat/completions' && url !== '/v1/feedback' && url !== '/v1/embeddings')) return sendError(res, 404, 'not_found', `no route for ${req.method} ${url}`);
    const auth = await this.admission.authorize(req.headers.authorization);
    if (!auth.ok) return sendRefusal(res, auth, requestId);
    const text = await readBody(req, this.config.server.bodyLimitBytes);
    if (text === undefined) return sendError(res, 413, 'invalid_request', `request body over ${this.config.server.bodyLimitBytes} bytes`);
    if (url === '/v1/feedback') {
      const fb = parseJsonBody(res, text, FeedbackSchema, { 'x-request-id': requestId });
      return fb ? this.feedback(fb, res, requestId, auth.key?.name ?? null) : undefined;
    }
    if (url === '/v1/embeddings') {
      const body = parseJsonBody(res, text, EmbeddingsRequestSchema, { 'x-request-id': requestId });
      if (!body) return;
      if (this.admission.refuseModel(res, auth.key, body.model, requestId)) return;
      if (auth.key?.tokensPerMinute !== undefined) {
        // input: a string, strings, token ids, or lists of token ids
        const inputs: unknown[] = Array.isArray(body.input) ? body.input : [body.input];
        const tokens = inputs.reduce<number>((sum, x) => sum + (typeof x === 'string' ? CostModel.countTokens(x) : Array.isArray(x) ? x.length : 1), 0);
        if (await this.admission.refuseTokens(res, auth.key, tokens, requestId)) return;
      }
      const record = (modelId: string, status: number, costUsd: number): Promise<void> =>
        this.record({ requestId, time: this.now(), route: modelId, keyId: auth.key?.name ?? null, lambda: 0, chosen: modelId, answered: status === 200 ? modelId : null, reason: 'embeddings', candidates: [], costUsd, latencyMs: performance.now() - started, status, prompt: null }, undefined);
      const { upstreams } = this.models;
      const deps = (modelId: string): ModelCallDeps => ({ post: this.post, env: this.env, upstreams: upstreams.get(modelId), retry: this.retry, cancel: client });
      return serveEmbeddings({ res, body, models: this.config.models, routes: [...this.routes.keys()], timeouts: this.config.timeouts, deps, headers: { 'x-request-id': requestId }, record });
    }
    return serveChat(this.chatHost, { req, res, client, span, started, requestId, auth, text });
  }
}
