import { isIP } from 'node:net';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { OperationError } from '../errors.js';
import { maskSecrets, maskUrl } from '../util/mask.js';
import { parseRedisUrl, type RedisTopology } from './url.js';

const CONNECT_TIMEOUT_MS = 3000;
const COMMAND_TIMEOUT_MS = 15_000;
/** Cluster slot discovery or Sentinel master discovery included: a bound on the whole connect. */
const CONNECT_DEADLINE_MS = 10_000;
const QUIT_DEADLINE_MS = 2000;

export type RedisClient = Redis | Cluster;

export interface RedisConnection {
  client: RedisClient;
  topology: RedisTopology;
  /** REDIS_URL with the password masked, for messages. */
  safeUrl: string;
}

/**
 * Opens REDIS_URL's topology. A CLI run has nothing to wait for, so a single server gets no
 * reconnect loop and no offline queue: an unreachable or stopped Redis fails at once. A Cluster
 * and a Sentinel group exist to survive a failover, so their clients follow MOVED/ASK and
 * re-discover the master, each within a few seconds; callers bound their retries (SnapshotStore).
 */
export async function openRedis(url: string): Promise<RedisConnection> {
  const topology = parseRedisUrl(url);
  const safeUrl = maskUrl(url);
  const client = await createClient(topology);
  // ioredis emits 'error' for connection problems; the awaited commands report them.
  client.on('error', () => undefined);
  try {
    await withDeadline(client.connect(), CONNECT_DEADLINE_MS, 'connecting timed out');
    await withDeadline(client.ping(), CONNECT_DEADLINE_MS, 'PING timed out');
  } catch (err) {
    client.disconnect();
    throw new OperationError(
      `cannot reach Redis at ${safeUrl} (${describeRedisError(err)}): is redis-server running, and is REDIS_URL right? (leave REDIS_URL empty to keep snapshots in the database)`,
    );
  }
  return { client, topology, safeUrl };
}

async function createClient(t: RedisTopology): Promise<RedisClient> {
  const { Redis, Cluster } = await import('ioredis');
  const auth = { ...(t.username ? { username: t.username } : {}), ...(t.password ? { password: t.password } : {}) };
  // No CLIENT SETINFO on connect: two round trips before the first command, and inside the
  // bundled CLI ioredis would look for its version in a package.json that is not its own.
  const common: RedisOptions = { lazyConnect: true, connectTimeout: CONNECT_TIMEOUT_MS, commandTimeout: COMMAND_TIMEOUT_MS, disableClientInfo: true, ...auth };
  switch (t.kind) {
    case 'single':
      return new Redis({
        ...common,
        host: t.host,
        port: t.port,
        db: t.db,
        // SNI takes a host name only; an IP address is verified against the certificate without it.
        ...(t.tls ? { tls: isIP(t.host) ? {} : { servername: t.host } } : {}),
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        retryStrategy: () => null,
        reconnectOnError: () => false,
      });
    case 'sentinel':
      return new Redis({
        ...common,
        sentinels: t.sentinels,
        name: t.masterName,
        role: 'master',
        db: t.db,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        // Sentinels are asked again on every reconnect: that is how a failover is followed.
        sentinelRetryStrategy: (times) => (times > 3 ? null : 250),
        retryStrategy: (times) => (times > 20 ? null : Math.min(times * 100, 500)),
        // A demoted master answers READONLY: reconnect, which asks the sentinels for the new one.
        reconnectOnError: (err) => /^READONLY\b/.test(err.message),
      });
    case 'cluster':
      return new Cluster(t.seeds, {
        lazyConnect: true,
        scaleReads: 'master',
        clusterRetryStrategy: (times) => (times > 3 ? null : 250),
        retryDelayOnFailover: 200,
        retryDelayOnClusterDown: 200,
        retryDelayOnTryAgain: 200,
        slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
        redisOptions: { ...common, maxRetriesPerRequest: 0 },
      });
  }
}

export async function closeRedis(redis: RedisClient | null): Promise<void> {
  if (!redis) return;
  try {
    await withDeadline(redis.quit(), QUIT_DEADLINE_MS, 'QUIT timed out');
  } catch {
    redis.disconnect();
  }
}

/**
 * A Redis error as one line, with what to do when the cause is a wrong REDIS_URL form: a Sentinel
 * port answers `ERR unknown command` to data commands, a Cluster node answers MOVED/CROSSSLOT.
 */
export function describeRedisError(err: unknown): string {
  const msg = maskSecrets(String((err as Error)?.message ?? err)).split('\n')[0]!;
  if (/unknown command/i.test(msg)) {
    return `${msg}; is REDIS_URL a Sentinel's port? Name it redis+sentinel://HOST:PORT/MASTER_NAME`;
  }
  if (/^(MOVED|ASK|CROSSSLOT)\b/.test(msg)) {
    return `${msg}; this is a Redis Cluster: name its nodes as redis+cluster://HOST:PORT[,HOST:PORT…]`;
  }
  return msg;
}

export function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} after ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
