import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { REDIS_URL } from './services.js';

export interface TestRedis {
  url: string;
  /** A key prefix of this test file's own: give it as REDIS_KEY_PREFIX. */
  prefix: string;
  client: Redis;
}

/** A Redis client and a unique key prefix per test file; its keys are deleted afterwards. */
export function useTestRedis(): TestRedis {
  const holder = { url: REDIS_URL, prefix: `spanel-test:${randomBytes(5).toString('hex')}:` } as TestRedis;
  beforeAll(async () => {
    holder.client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    const keys = await holder.client.keys(`${holder.prefix}*`);
    if (keys.length) await holder.client.del(...keys);
    await holder.client.quit();
  });
  return holder;
}
