/** The Redis store's own connection handling, against a redis-server the test starts. */
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { hasRedis, startRedis, type Running } from '../../../test/helpers/processes.js';
import { RedisStore } from './redis-store.js';

if (!hasRedis) console.warn('SKIP: redis-server is not installed (apt-get install -y redis-server), so the Redis store cannot be tested');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!hasRedis)('the Redis store connection', () => {
  let redis: Running | undefined;
  afterAll(async () => redis?.stop());

  it('connects again when ioredis gives its connection up (a failover announced while it reconnects, ioredis #1683), but not once closed', async () => {
    redis = await startRedis();
    const store = new RedisStore({ url: redis.ready, keyPrefix: 'revive:' });
    await store.ready();
    // what ioredis does in that race: its connection ends, and every command then fails
    const client = (store as unknown as { redis: Redis }).redis;
    client.disconnect();
    await expect(store.ready()).rejects.toThrow(/Connection is closed/);
    let back = false;
    for (let k = 0; k < 40 && !back; k++) {
      await sleep(50);
      back = await store.ready().then(
        () => true,
        () => false,
      );
    }
    expect(back).toBe(true);
    await store.close();
    await sleep(400);
    expect(client.status).toBe('end'); // closed by us: it stays closed
  });
});
