/** The store a gateway config names: SQLite at `store.path`, or Redis at `store.url` (or its master found through `store.sentinel`). */
import { invalidArgument } from '../../core/errors.js';
import type { GatewayConfig } from '../config.js';
import { RedisStore, type RedisStoreOptions } from './redis-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { GatewayStore } from './store.js';

/** A Redis URL fit for messages and logs: its password replaced by `***`. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@');
  }
}

/** Where the config's store is, for messages: no password. */
export function describeStore(config: GatewayConfig['store']): string {
  if (config.backend === 'sqlite') return `sqlite at ${config.path}`;
  if (config.sentinel) return `redis master "${config.sentinel.name}" through the sentinels at ${config.sentinel.hosts.join(', ')}`;
  return config.cluster ? `redis cluster at ${config.cluster.nodes.join(', ')}` : `redis at ${redactedUrl(config.url)}`;
}

/** `host:port` (or `[v6]:port`) → its parts. */
function hostPort(h: string): { host: string; port: number } {
  const colon = h.lastIndexOf(':');
  return { host: h.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(h.slice(colon + 1)) };
}

/** `sharedFile`: several gateway processes on this host use the SQLite file at once (`server.workers`). */
export async function openStore(config: GatewayConfig['store'], env: Readonly<Record<string, string | undefined>> = process.env, sharedFile = false): Promise<GatewayStore> {
  if (config.backend === 'sqlite') return new SqliteStore(config.path, { commitMs: config.commitMs, shared: sharedFile });
  const s = config.sentinel;
  let sentinel: RedisStoreOptions['sentinel'];
  if (s) {
    const password = s.passwordEnv === undefined ? undefined : env[s.passwordEnv];
    if (s.passwordEnv !== undefined && !password) throw invalidArgument(`store.sentinel.passwordEnv: ${s.passwordEnv} is not set`);
    const hosts = s.hosts.map(hostPort);
    sentinel = { name: s.name, hosts, password };
  }
  const cluster = config.cluster ? { nodes: config.cluster.nodes.map(hostPort) } : undefined;
  const store = new RedisStore({ url: config.url, keyPrefix: config.keyPrefix, commandTimeoutMs: config.timeoutMs, ...(sentinel ? { sentinel } : {}), ...(cluster ? { cluster } : {}), ...(config.waitReplicas ? { waitReplicas: config.waitReplicas } : {}) });
  try {
    await store.ready();
  } catch (e) {
    await store.close();
    const where = s
      ? `store.sentinel: cannot reach the master "${s.name}" through the sentinels at ${s.hosts.join(', ')}`
      : config.cluster
        ? `store.cluster: cannot reach the cluster at ${config.cluster.nodes.join(', ')}`
        : `store.url: cannot reach Redis at ${redactedUrl(config.url)}`;
    throw invalidArgument(`${where}: ${(e as Error).message.replaceAll(config.url, redactedUrl(config.url))}`);
  }
  return store;
}
