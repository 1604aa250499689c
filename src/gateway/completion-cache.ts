/**
 * An exact-match cache of chat completions (`cache` in the config; off by default). A request whose
 * model (the routed choice, or the model named) already answered the same request — the same messages,
 * tools, sampling options and response format, key order aside — within `ttlSeconds` gets that answer
 * again without calling the model: free (`x-switchyard-cost-usd: 0`), marked `x-switchyard-cache: hit`,
 * recorded in the decision log like any answer. Entries are per API key unless `sharedAcrossKeys`.
 * Each process keeps an LRU of `maxEntries`; with a shared store (Redis) the replicas also share
 * entries through it. A client opts out per request with `x-switchyard-cache: bypass` (or
 * `cache-control: no-store`): neither read nor written; `refresh` (or `cache-control: no-cache`)
 * skips the read and stores the new answer. See docs/gateway.md, "Cache".
 */
import { remember } from '../core/lru.js';
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { GatewayConfig } from './config.js';
import type { ChatRequest } from './http.js';
import type { GatewayStore } from './store/store.js';

export type CacheMode = 'use' | 'refresh' | 'bypass';

/** Fields that do not change the answer: the route or model (keyed apart), streaming, and bookkeeping. */
const IGNORED = new Set(['model', 'stream', 'stream_options', 'user', 'metadata', 'store']);

/** JSON with object keys sorted at every level, so key order does not split entries. */
function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** What the client asked of the cache for this request. */
export function cacheMode(headers: IncomingHttpHeaders): CacheMode {
  const h = headers['x-switchyard-cache'];
  if (h === 'bypass' || h === 'refresh') return h;
  const cc = headers['cache-control'] ?? '';
  if (/\bno-store\b/.test(cc)) return 'bypass';
  if (/\bno-cache\b/.test(cc)) return 'refresh';
  return 'use';
}

export class CompletionCache {
  private readonly lru = new Map<string, { completion: Record<string, unknown>; expires: number }>();
  private readonly ttlMs: number;

  constructor(
    private readonly config: GatewayConfig['cache'],
    private readonly store: GatewayStore,
    private readonly now: () => number,
  ) {
    this.ttlMs = config.ttlSeconds * 1000;
  }

  /** The entry key of `modelId`'s answer to `body` for the API key `keyName`. */
  key(modelId: string, body: ChatRequest, keyName: string | null): string {
    const request = Object.fromEntries(Object.entries(body).filter(([k]) => !IGNORED.has(k)));
    const scope = this.config.sharedAcrossKeys ? '' : (keyName ?? '');
    return createHash('sha256').update(stableJson({ scope, model: modelId, request })).digest('hex');
  }

  async get(key: string): Promise<Record<string, unknown> | undefined> {
    const now = this.now();
    const entry = this.lru.get(key);
    if (entry && entry.expires > now) {
      remember(this.lru, key, entry, this.config.maxEntries); // most recently used last
      return entry.completion;
    }
    if (entry) this.lru.delete(key);
    if (!this.store.shared) return undefined;
    const text = await this.store.getExpiring('cache', key).catch(() => undefined); // a store that does not answer: a miss
    if (text === undefined) return undefined;
    const completion = JSON.parse(text) as Record<string, unknown>;
    remember(this.lru, key, { completion, expires: now + this.ttlMs }, this.config.maxEntries); // the store knows the exact expiry; this copy may live up to a TTL longer at most
    return completion;
  }

  async put(key: string, completion: Record<string, unknown>): Promise<void> {
    const expires = this.now() + this.ttlMs;
    remember(this.lru, key, { completion, expires }, this.config.maxEntries);
    if (this.store.shared) await this.store.putExpiring('cache', key, JSON.stringify(completion), expires);
  }
}

interface ChunkLike {
  id?: string;
  created?: number;
  model?: string;
  system_fingerprint?: string;
  choices?: Array<{ index?: number; delta?: { role?: string; content?: string | null; refusal?: string | null; tool_calls?: Array<{ index?: number; id?: string; type?: string; function?: { name?: string; arguments?: string } }> }; finish_reason?: string | null }>;
  usage?: unknown;
}

/** Rebuilds a chat.completion from a stream's chunks (one choice), to cache a streamed answer. */
export class CompletionAssembler {
  private head: Record<string, unknown> | undefined;
  private content = '';
  private hasContent = false;
  private finish: string | null = null;
  private usage: unknown;
  private readonly calls = new Map<number, { id: string; type: string; function: { name: string; arguments: string } }>();
  /** False once a chunk could not be read or had several choices: the answer is then not cached. */
  ok = true;

  /** One data event's JSON text. */
  push(data: string): void {
    let c: ChunkLike;
    try {
      c = JSON.parse(data) as ChunkLike;
    } catch {
      this.ok = false;
      return;
    }
    this.head ??= { id: c.id, created: c.created, model: c.model, ...(c.system_fingerprint ? { system_fingerprint: c.system_fingerprint } : {}) };
    if (c.usage) this.usage = c.usage;
    for (const choice of c.choices ?? []) {
      if ((choice.index ?? 0) !== 0) this.ok = false;
      const d = choice.delta;
      if (typeof d?.content === 'string') {
        this.content += d.content;
        this.hasContent = true;
      }
      for (const [k, t] of (d?.tool_calls ?? []).entries()) {
        const index = t.index ?? k;
        const call = this.calls.get(index) ?? { id: t.id ?? '', type: t.type ?? 'function', function: { name: '', arguments: '' } };
        if (t.id) call.id = t.id;
        call.function.name += t.function?.name ?? '';
        call.function.arguments += t.function?.arguments ?? '';
        this.calls.set(index, call);
      }
      if (choice.finish_reason) this.finish = choice.finish_reason;
    }
  }

  /** The completion, or undefined when the stream did not finish cleanly. */
  completion(): Record<string, unknown> | undefined {
    if (!this.ok || this.finish === null) return undefined;
    const tools = [...this.calls.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c);
    const message = { role: 'assistant', content: this.hasContent || tools.length === 0 ? this.content : null, ...(tools.length > 0 ? { tool_calls: tools } : {}) };
    return { ...this.head, object: 'chat.completion', choices: [{ index: 0, message, logprobs: null, finish_reason: this.finish }], ...(this.usage ? { usage: this.usage } : {}) };
  }
}
