/** The store a gateway config names: SQLite at `store.path`, or Redis at `store.url`. */
import { invalidArgument } from '../../core/errors.js';
import type { GatewayConfig } from '../config.js';
import { RedisStore } from './redis-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { GatewayStore } from './store.js';

export async function openStore(config: GatewayConfig['store']): Promise<GatewayStore> {
  if (config.backend === 'sqlite') return new SqliteStore(config.path, { commitMs: config.commitMs });
  const store = new RedisStore({ url: config.url, keyPrefix: config.keyPrefix, commandTimeoutMs: config.timeoutMs });
  try {
    await store.ready();
  } catch (e) {
    await store.close();
    throw invalidArgument(`store.url: cannot reach Redis at ${config.url}: ${(e as Error).message}`);
  }
  return store;
}
