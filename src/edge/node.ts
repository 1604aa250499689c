/**
 * An edge node of the distributed mixture-of-agents: a small local model behind an OpenAI-compatible
 * endpoint, and peers it gossips with. There is no central server: any node takes a client's chat
 * request (`POST /v1/chat/completions`, model `swarm`), answers it with its own model, pushes the
 * query to `fanout` random peers (who push it on, `ttl` hops at most), collects the proposals that
 * come back within `windowMs` (or until `maxProposals`), and merges them — by a response scorer's
 * pick, by its own model writing the answer from them (mixture-of-agents), or first-come. Peers
 * learn each other from the messages they receive (`from`), and drop peers that stop answering.
 * See docs/edge.md.
 */
import { remember } from '../core/lru.js';
import { randomUUID } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { fetch as undiciFetch, type Agent } from 'undici';
import { clientAgent, loadTls, serverOptions, type TlsMaterial } from '../core/tls.js';
import { listenOn } from '../core/listen.js';
import pino, { type Logger } from 'pino';
import { SwitchyardError } from '../core/errors.js';
import { createRng, hashString, type Rng } from '../core/random.js';
import { keyOf, UNKNOWN_KEY_MESSAGE } from '../gateway/auth.js';
import { ChatRequestSchema, FeedbackSchema, parseJsonBody, promptOf, readBody, sendError, sendJson, type ChatRequest } from '../gateway/http.js';
import { aggregateRequest, pickProposal, propose, type Proposal, type ProposalDeps } from '../gateway/mixture.js';
import { undiciPost, type HttpPost } from '../gateway/providers/openai-compatible.js';
import { sendCompletion } from '../gateway/stream.js';
import { costOf } from '../gateway/usage-cost.js';
import type { ResponseScorer } from '../routers/post-generation/response-scorer.js';
import type { Decision, Router } from '../spec/router.js';
import type { EdgeConfig } from './config.js';
import { Membership } from './membership.js';
import { EdgeMetrics, type GossipKind, type ReceivedOutcome } from './metrics.js';
import { GossipMessageSchema, messageKey, type FeedbackMessage, type GossipMessage, type ProposalMessage, type QueryMessage } from './messages.js';
import { SIGNATURE_HEADER, signBody, verifyBody } from './signing.js';

export interface EdgeNodeDeps {
  /** Transport for gossip between nodes (default: the global fetch). */
  readonly fetch?: typeof fetch;
  /** Transport to the local model (default: an undici pool). */
  readonly post?: HttpPost;
  /** Peer sampling (default: seeded by the node id, so a run is reproducible). */
  readonly rng?: Rng;
  readonly now?: () => number;
  readonly logger?: Logger;
  /** The response scorer for `aggregate.kind: scorer` (default: loaded from the config's file). */
  readonly scorer?: ResponseScorer;
  /** The router for `routing` (default: loaded from the config's artifact). */
  readonly router?: Router;
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The model name a client asks for to get the swarm's merged answer (the node's own model name gets its model alone). */
export const SWARM_MODEL = 'swarm';
/** How long a message is remembered as seen: past the signing window on both sides, so a replayed message is a duplicate. */
const seenMs = (maxSkewMs: number): number => Math.max(60_000, 2 * maxSkewMs + 5_000);
/** Answered requests remembered for feedback. */
const RECENT_LIMIT = 10_000;

interface OpenQuery {
  readonly proposals: Proposal[];
  readonly nodes: string[];
  /** It answers as soon as this many proposals are in. */
  readonly enough: number;
  wake: (() => void) | undefined;
}

/** A decision's first `k` models among `allowed` (default: any): its choice, then the rest of its candidates by utility. */
export function topModels(d: Decision, k: number, allowed?: readonly string[]): string[] {
  const ranked = [...(d.candidates ?? [])].sort((a, b) => (b.utility ?? 0) - (a.utility ?? 0)).map((c) => c.model);
  return [...new Set([...d.models, ...ranked])].filter((m) => !allowed || allowed.includes(m)).slice(0, k);
}

export class EdgeNode {
  private server: Server | undefined;
  private self = '';
  private readonly membership: Membership;
  private readonly seen = new Map<string, number>();
  private readonly open = new Map<string, OpenQuery>();
  /** Answered requests (their prompt and the model whose answer was kept), for feedback. */
  private readonly recent = new Map<string, { readonly prompt: string; readonly model: string }>();
  private learned = false;
  /** Gossip admitted per sending address (admitGossip). */
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly background = new Set<Promise<void>>();
  private readonly fetchFn: typeof fetch;
  /** Prometheus metrics (GET /metrics). */
  readonly metrics: EdgeMetrics;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly proposalDeps: ProposalDeps;
  /** The swarm's shared secret (auth.secretEnv): gossip is signed with it and unsigned gossip refused. */
  private readonly secret: string | undefined;
  /** node.tls: HTTPS, and the client that gossips with peers over it (both replaced by `reloadTls`). */
  private tls: TlsMaterial | undefined;
  private agent: Agent | undefined;

  private constructor(
    readonly config: EdgeConfig,
    private readonly scorer: ResponseScorer | undefined,
    private readonly router: Router | undefined,
    deps: EdgeNodeDeps,
  ) {
    const rng = deps.rng ?? createRng(hashString(config.node.id, 0));
    this.tls = config.node.tls ? loadTls(config.node.tls, 'node.tls') : undefined;
    this.agent = this.tls ? clientAgent(this.tls) : undefined;
    // over TLS, gossip trusts the swarm's CA and presents this node's certificate
    this.fetchFn = deps.fetch ?? (this.agent ? ((input, init) => undiciFetch(input as string, { ...(init as object), dispatcher: this.agent as Agent }) as unknown as Promise<Response>) : fetch);
    this.now = deps.now ?? Date.now;
    this.log = deps.logger ?? pino({ level: 'info' });
    this.self = config.node.advertise ?? `${this.tls ? 'https' : 'http'}://${config.node.host}:${config.node.port}`;
    this.membership = new Membership(this.self, config.peers, rng, config.gossip.dropAfterFailures);
    this.metrics = new EdgeMetrics(() => this.membership.peers.length);
    this.secret = swarmSecret(config, deps.env ?? process.env);
    const post = deps.post ?? undiciPost(5000);
    this.proposalDeps = { post: () => post, env: deps.env ?? process.env, cost: costOf, retry: { maxRetries: 1, rng, now: this.now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) } };
  }

  static async create(config: EdgeConfig, deps: EdgeNodeDeps = {}): Promise<EdgeNode> {
    let scorer = deps.scorer;
    if (!scorer && config.aggregate.kind === 'scorer') {
      const { readFileSync } = await import('node:fs');
      const { ResponseScorer } = await import('../routers/post-generation/response-scorer.js');
      scorer = ResponseScorer.fromArtifact(JSON.parse(readFileSync(config.aggregate.scorer as string, 'utf8')), config.aggregate.scorer);
    }
    let router = deps.router;
    if (!router && config.routing) {
      const [{ existsSync }, { readArtifactFile }, { routerFromArtifact }] = await Promise.all([import('node:fs'), import('../routers/artifact.js'), import('../routers/registry.js')]);
      const learned = config.routing.learnedState;
      router = await routerFromArtifact(readArtifactFile(learned && existsSync(learned) ? learned : config.routing.router));
    }
    return new EdgeNode(config, scorer, router, deps);
  }

  /** The URL peers reach this node at. */
  get url(): string {
    return this.self;
  }

  get peers(): string[] {
    return this.membership.peers;
  }

  async listen(): Promise<string> {
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.handle(req, res).catch((e: unknown) => {
        this.log.error({ err: e }, 'edge request failed');
        if (!res.headersSent) sendError(res, 500, 'internal_error', 'internal error');
        else res.destroy();
      });
    };
    const server = this.tls ? createHttpsServer(serverOptions(this.tls), handler) : createServer(handler);
    this.server = server;
    const port = await listenOn(server, this.config.node.port, this.config.node.host, 'node.port');
    if (!this.config.node.advertise) this.self = `${this.tls ? 'https' : 'http'}://${this.config.node.host}:${port}`;
    if (!this.secret && !this.tls?.requireClientCert) this.log.warn({ node: this.config.node.id }, 'edge: no auth.secretEnv — any host that reaches this port can send queries to its model, inject proposals and add peers; set a shared secret outside a trusted network');
    return this.self;
  }

  /**
   * Reads `node.tls`'s files again (`edge serve` does on SIGHUP): a renewed certificate, a new CA
   * bundle or revocation list count for connections made from now on, served and gossiped alike; a
   * file that cannot be read is thrown and the running material stays. False without `node.tls`.
   */
  reloadTls(): boolean {
    const tls = this.config.node.tls;
    if (!tls) return false;
    const material = loadTls(tls, 'node.tls');
    (this.server as HttpsServer | undefined)?.setSecureContext(serverOptions(material));
    const old = this.agent;
    this.tls = material;
    this.agent = clientAgent(material);
    void old?.close().catch(() => undefined); // its gossip in flight finishes first
    return true;
  }

  /** Stops listening; requests waiting for proposals answer with what they have; gossip in flight gets a second to finish. */
  async close(): Promise<void> {
    for (const q of this.open.values()) q.wake?.();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.background]), new Promise<void>((r) => (timer = setTimeout(r, 1000)))]);
    clearTimeout(timer);
    const server = this.server;
    if (server) await new Promise<void>((r) => server.close(() => r()));
    server?.closeAllConnections();
    this.saveLearned();
  }

  /** Writes what the router learned from feedback to `routing.learnedState` (atomically: a temporary file renamed). */
  private saveLearned(): void {
    const file = this.config.routing?.learnedState;
    if (!file || !this.router || !this.learned) return;
    writeFileSync(`${file}.tmp`, JSON.stringify(this.router.toArtifact()));
    renameSync(`${file}.tmp`, file);
  }

  /** POST /v1/feedback {request_id, score}: a score for an answer this node gave; a router that learns (a bandit) learns from it. */
  private async feedback(res: ServerResponse, id: string, score: number): Promise<void> {
    const answered = this.recent.get(id);
    if (!answered) return sendError(res, 404, 'request_not_found', `no answer of this node has request id ${id} (it remembers the last ${RECENT_LIMIT})`);
    const learns = await this.learn(answered.prompt, answered.model, score);
    this.metrics.feedback.inc({ learned: String(learns) });
    if (this.config.routing?.shareFeedback) {
      // the swarm learns from it too: every node's learning router gets the score
      const message: FeedbackMessage = { kind: 'feedback', id: randomUUID(), origin: this.self, from: this.self, ttl: this.config.gossip.ttl, node: this.config.node.id, prompt: answered.prompt, model: answered.model, score };
      this.markSeen(messageKey(message));
      this.spawn(this.push(message, this.config.gossip.fanout, []));
    }
    return sendJson(res, 200, { request_id: id, recorded: true, router_updated: learns });
  }

  /** A token bucket per sending address: `gossip.maxPerSecond` a second, bursts of as many. */
  private admitGossip(address: string): boolean {
    const rate = this.config.gossip.maxPerSecond;
    const now = this.now();
    const bucket = this.buckets.get(address) ?? { tokens: rate, at: now };
    bucket.tokens = Math.min(rate, bucket.tokens + ((now - bucket.at) / 1000) * rate);
    bucket.at = now;
    remember(this.buckets, address, bucket, RECENT_LIMIT);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Teaches a router that learns (a bandit) an outcome; false when there is none. */
  private async learn(prompt: string, model: string, score: number): Promise<boolean> {
    if (this.router?.update === undefined) return false;
    await this.router.update([{ prompt: { text: prompt }, model, score }]);
    this.learned = true;
    return true;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = (req.url ?? '').split('?')[0];
    if (req.method === 'GET' && url === '/health') return sendJson(res, 200, { status: 'ok', node: this.config.node.id, model: this.config.model.id, peers: this.peers.length });
    if (req.method === 'GET' && url === '/metrics') {
      const text = await this.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': this.metrics.registry.contentType });
      res.end(text);
      return;
    }
    if (req.method === 'GET' && url === '/edge/peers') return sendJson(res, 200, { node: this.config.node.id, url: this.self, peers: this.peers });
    if (req.method === 'GET' && url === '/v1/models') {
      return sendJson(res, 200, { object: 'list', data: [SWARM_MODEL, this.config.model.id].map((id) => ({ id, object: 'model', created: 0, owned_by: 'switchyard-edge' })) });
    }
    if (req.method !== 'POST' || (url !== '/edge/gossip' && url !== '/v1/chat/completions' && url !== '/v1/feedback')) return sendError(res, 404, 'not_found', `no route for ${req.method} ${url}`);
    // one sender (a buggy or hostile node, or a client posing as one) cannot flood this node: refused before its body is read
    const refused = (outcome: ReceivedOutcome): void => void this.metrics.gossipReceived.inc({ kind: 'unknown', outcome });
    if (url === '/edge/gossip' && !this.admitGossip(req.socket.remoteAddress ?? '')) {
      refused('rate_limited');
      req.resume();
      return sendError(res, 429, 'rate_limited', `more than ${this.config.gossip.maxPerSecond} gossip messages a second from ${req.socket.remoteAddress ?? 'this address'}`, { 'retry-after': '1' });
    }
    const text = await readBody(req, this.config.node.bodyLimitBytes);
    if (text === undefined) return sendError(res, 413, 'invalid_request', `request body over ${this.config.node.bodyLimitBytes} bytes`);
    if (url === '/edge/gossip') {
      if (this.secret) {
        const header = req.headers[SIGNATURE_HEADER];
        const verdict = verifyBody(this.secret, typeof header === 'string' ? header : undefined, text, this.now(), this.config.auth.maxSkewMs);
        if (!verdict.ok) {
          refused('bad_signature');
          return sendError(res, 401, 'invalid_signature', `gossip refused: ${verdict.why}`);
        }
      }
      const message = parseJsonBody(res, text, GossipMessageSchema);
      if (!message) return refused('invalid');
      const fresh = this.receive(message);
      this.metrics.gossipReceived.inc({ kind: message.kind, outcome: fresh ? 'accepted' : 'duplicate' });
      return sendJson(res, 202, { accepted: fresh });
    }
    const keys = this.config.auth.keys;
    if (keys.length > 0 && !keyOf(req.headers.authorization, keys)) return sendError(res, 401, 'invalid_api_key', UNKNOWN_KEY_MESSAGE);
    if (url === '/v1/feedback') {
      const fb = parseJsonBody(res, text, FeedbackSchema);
      return fb ? this.feedback(res, fb.request_id, fb.score) : undefined;
    }
    const body = parseJsonBody(res, text, ChatRequestSchema);
    if (!body) return;
    if (body.model !== SWARM_MODEL && body.model !== this.config.model.id) {
      return sendError(res, 404, 'model_not_found', `"${body.model}" is not served here: ask for "${SWARM_MODEL}" (the swarm's merged answer) or "${this.config.model.id}" (this node's model)`);
    }
    return this.answer(body, res);
  }

  /** A client's request: propose, gossip the query, collect, merge, answer. */
  private async answer(body: ChatRequest, res: ServerResponse): Promise<void> {
    const id = randomUUID();
    const swarm = body.model === SWARM_MODEL;
    const asked = swarm ? 'swarm' : 'own';
    const timer = this.metrics.requestSeconds.startTimer({ asked });
    res.once('finish', () => {
      timer();
      this.metrics.requests.inc({ asked, status: String(res.statusCode) });
    });
    const { stream, stream_options: streamOptions, ...rest } = body;
    const request: Record<string, unknown> = { ...rest, model: this.config.model.id };
    const g = this.config.gossip;
    const prompt = promptOf(body.messages);
    // routing inside the swarm: only the nodes running the models the router picks propose
    const wanted = swarm ? await this.wanted(prompt) : undefined;
    const ownWanted = !wanted || wanted.includes(this.config.model.id);
    const open: OpenQuery = { proposals: [], nodes: [], enough: Math.max(1, Math.min(g.maxProposals, wanted?.length ?? g.maxProposals)), wake: undefined };
    if (swarm) {
      this.open.set(id, open);
      this.markSeen(`q:${id}`);
      const query: QueryMessage = { kind: 'query', id, origin: this.self, from: this.self, ttl: g.ttl, deadline: this.now() + g.windowMs, ...(wanted ? { models: wanted } : {}), body: request };
      this.spawn(this.push(query, g.fanout, []));
    }
    const waited = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, swarm ? g.windowMs : 0);
      open.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    const own = ownWanted
      ? this.propose(request).then((p) => {
          if (p) this.accept(open, this.config.node.id, p);
          if (!swarm) open.wake?.();
        })
      : Promise.resolve();
    await Promise.all([waited, swarm ? Promise.race([own, waited]) : own]);
    this.open.delete(id);
    if (open.proposals.length === 0 && !ownWanted) {
      // no node with a wanted model answered in time: this node's own model answers
      const p = await this.propose(request);
      if (p) this.accept(open, this.config.node.id, p);
    }
    const proposals = [...open.proposals];
    if (proposals.length === 0) return sendError(res, 502, 'upstream_unavailable', swarm ? `no node proposed an answer within ${g.windowMs} ms (this node's model failed too)` : `${this.config.model.id} did not answer`, { 'x-request-id': id });
    const { answer, how } = await this.merge(prompt, request, proposals);
    if (swarm) {
      this.metrics.proposals.observe(proposals.length);
      this.metrics.aggregate.inc({ how });
    }
    const headers = {
      'x-request-id': id,
      'x-switchyard-model': answer.model,
      'x-switchyard-proposers': open.nodes.join(','),
      'x-switchyard-aggregate': how,
      ...(wanted ? { 'x-switchyard-wanted': wanted.join(',') } : {}),
    };
    this.log.info({ requestId: id, proposals: open.nodes.length, how, model: answer.model }, 'edge request');
    remember(this.recent, id, { prompt, model: answer.model }, RECENT_LIMIT);
    return sendCompletion(res, { ...answer.completion, model: answer.model }, headers, stream === true, streamOptions?.include_usage === true, async () => undefined, false);
  }

  /** Merges the proposals into one answer by the configured aggregator. */
  private async merge(prompt: string, request: Record<string, unknown>, proposals: readonly Proposal[]): Promise<{ answer: Proposal; how: string }> {
    if (proposals.length === 1) return { answer: proposals[0] as Proposal, how: 'single' };
    const kind = this.config.aggregate.kind;
    if (kind === 'scorer' && this.scorer) return { answer: await pickProposal(this.scorer, prompt, proposals), how: 'scorer' };
    if (kind === 'local') {
      const merged = await this.propose(aggregateRequest(request as ChatRequest, proposals));
      if (merged) return { answer: merged, how: 'local' };
    }
    return { answer: proposals[0] as Proposal, how: 'first' };
  }

  /**
   * The `routing.k` models with the best utility for this prompt by the swarm's router (undefined: no
   * routing). A router that fails (its encoder's service down) leaves the request unrouted — every
   * node may propose — rather than failing it.
   */
  private async wanted(prompt: string): Promise<string[] | undefined> {
    const routing = this.config.routing;
    if (!this.router || !routing) return undefined;
    try {
      const [d] = await this.router.route([{ text: prompt }], { lambda: routing.lambda, ...(routing.models ? { candidates: routing.models } : {}) });
      return d ? topModels(d, routing.k, routing.models) : undefined;
    } catch (e) {
      this.metrics.routerErrors.inc();
      this.log.warn({ err: (e as Error).message }, 'edge: the swarm router failed; this request is not routed (every node may propose)');
      return undefined;
    }
  }

  /** The local model's answer (non-streaming, one retry), or undefined. */
  private async propose(request: Record<string, unknown>): Promise<Proposal | undefined> {
    const t = this.config.timeouts;
    const timer = this.metrics.modelSeconds.startTimer();
    const [p] = await propose([this.config.model.id], { [this.config.model.id]: this.config.model }, request as ChatRequest, { firstByteMs: t.firstByteMs, totalMs: t.totalMs }, this.proposalDeps);
    timer();
    this.metrics.modelCalls.inc({ outcome: p ? 'ok' : 'failed' });
    return p;
  }

  private accept(open: OpenQuery, node: string, p: Proposal): void {
    if (open.nodes.includes(node)) return;
    open.nodes.push(node);
    open.proposals.push(p);
    if (open.proposals.length >= open.enough) open.wake?.();
  }

  /** A gossip message: false when seen before. Queries are answered and passed on; proposals reach their origin. */
  private receive(m: GossipMessage): boolean {
    this.membership.heard(m.from);
    const key = messageKey(m);
    if (this.seen.has(key)) return false;
    this.markSeen(key);
    if (m.kind === 'query') {
      this.membership.heard(m.origin);
      this.spawn(this.onQuery(m));
      return true;
    }
    if (m.kind === 'feedback') {
      // passed on (ttl permitting); learned from when this node routes with feedback shared
      const forward = m.ttl > 1 ? this.push({ ...m, from: this.self, ttl: m.ttl - 1 }, this.config.gossip.fanout, [m.from, m.origin]) : Promise.resolve();
      const learn = this.config.routing?.shareFeedback ? this.learn(m.prompt, m.model, m.score).then(() => undefined) : Promise.resolve();
      this.spawn(Promise.all([forward, learn]).then(() => undefined));
      return true;
    }
    const open = this.open.get(m.id);
    if (open && m.origin === this.self) {
      this.accept(open, m.node, { model: m.model, text: m.text, costUsd: 0, completion: m.completion });
      return true;
    }
    if (m.origin !== this.self) this.spawn(this.deliver({ ...m, from: this.self }));
    return true;
  }

  /** A query: passed on (ttl permitting) while this node's model answers it; the proposal then goes back. */
  private async onQuery(q: QueryMessage): Promise<void> {
    const forward = q.ttl > 1 ? this.push({ ...q, from: this.self, ttl: q.ttl - 1 }, this.config.gossip.fanout, [q.from, q.origin]) : Promise.resolve();
    await Promise.all([forward, this.answerQuery(q)]);
  }

  private async answerQuery(q: QueryMessage): Promise<void> {
    if (this.now() >= q.deadline || (q.models && !q.models.includes(this.config.model.id))) return; // not asked: pass it on only
    const p = await this.propose(q.body);
    if (!p || this.now() >= q.deadline) return;
    const proposal: ProposalMessage = { kind: 'proposal', id: q.id, origin: q.origin, from: this.self, ttl: this.config.gossip.ttl, node: this.config.node.id, model: p.model, text: p.text, completion: p.completion };
    this.markSeen(messageKey(proposal));
    await this.deliver(proposal);
  }

  /** A proposal goes to its origin directly; when that fails, it is gossiped on for others to relay. */
  private async deliver(p: ProposalMessage): Promise<void> {
    if (await this.send(p.origin, p)) return;
    if (p.ttl > 1) await this.push({ ...p, ttl: p.ttl - 1 }, this.config.gossip.fanout, [p.origin]);
  }

  private async push(m: GossipMessage, fanout: number, exclude: readonly string[]): Promise<void> {
    await Promise.all(this.membership.sample(fanout, exclude).map((peer) => this.send(peer, m)));
  }

  private async send(peer: string, m: GossipMessage): Promise<boolean> {
    const kind: GossipKind = m.kind;
    try {
      const body = JSON.stringify(m);
      const headers: Record<string, string> = { 'content-type': 'application/json', ...(this.secret ? { [SIGNATURE_HEADER]: signBody(this.secret, body, this.now()) } : {}) };
      const r = await this.fetchFn(new URL('/edge/gossip', peer), { method: 'POST', headers, body, signal: AbortSignal.timeout(this.config.timeouts.gossipMs) });
      await r.arrayBuffer();
      if (r.status === 429) {
        this.metrics.gossipSent.inc({ kind, outcome: 'busy' });
        return false; // the peer is busy: not delivered, but it stays in the view
      }
      if (r.status >= 500 || r.status === 401) throw new Error(`status ${r.status}`); // 401: the peer is not of this swarm (another secret)
      this.membership.succeeded(peer);
      this.metrics.gossipSent.inc({ kind, outcome: 'delivered' });
      return true;
    } catch {
      this.membership.failed(peer);
      this.metrics.gossipSent.inc({ kind, outcome: 'failed' });
      return false;
    }
  }

  private markSeen(key: string): void {
    const now = this.now();
    this.seen.set(key, now + seenMs(this.config.auth.maxSkewMs));
    if (this.seen.size % 256 === 0) for (const [k, until] of this.seen) if (until < now) this.seen.delete(k);
  }

  private spawn(work: Promise<void>): void {
    const p = work.catch((e: unknown) => this.log.warn({ err: e }, 'edge gossip failed')).finally(() => this.background.delete(p));
    this.background.add(p);
  }
}

/** The swarm secret named by `auth.secretEnv` (undefined when none is configured); a named but unset or short one is an error. */
export function swarmSecret(config: EdgeConfig, env: Readonly<Record<string, string | undefined>>): string | undefined {
  const name = config.auth.secretEnv;
  if (name === undefined) return undefined;
  const secret = env[name];
  if (!secret) throw new SwitchyardError('invalid_argument', `auth.secretEnv: the environment variable ${name} is not set (it holds the secret every node of the swarm shares)`);
  if (secret.length < 16) throw new SwitchyardError('invalid_argument', `auth.secretEnv: the secret in ${name} has ${secret.length} characters; use at least 16 (e.g. openssl rand -hex 32)`);
  return secret;
}
