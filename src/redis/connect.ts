import type { Redis } from 'ioredis';
import { OperationError } from '../errors.js';
import { maskSecrets, maskUrl } from '../util/mask.js';

const CONNECT_TIMEOUT_MS = 3000;

/**
 * A CLI run has nothing to wait for: no reconnect loop and no offline queue, so an unreachable
 * or stopped Redis fails the command at once instead of hanging on retries.
 */
export async function openRedis(url: string): Promise<Redis> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: 15_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    reconnectOnError: () => false,
  });
  // ioredis emits 'error' for connection problems; the awaited command below reports them.
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new OperationError(
      `cannot reach Redis at ${maskUrl(url)} (${maskSecrets((err as Error).message)}): is redis-server running, and is REDIS_URL right? (leave REDIS_URL empty to keep snapshots in the database)`,
    );
  }
  return redis;
}

export async function closeRedis(redis: Redis | null): Promise<void> {
  if (!redis) return;
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
