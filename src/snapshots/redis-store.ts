import type { Cluster, Redis } from 'ioredis';
import calculateSlot from 'cluster-key-slot';
import { closeRedis, describeRedisError, withDeadline, type RedisConnection } from '../redis/connect.js';
import type { RedisTopology } from '../redis/url.js';
import { readByScript, SCRIPTS_REFUSED, writeByScript } from './redis-scripts.js';
import { parseTotal, snapshotKey, SnapshotStoreError, type Snapshot, type SnapshotKind, type SnapshotStore, type WritePass } from './store.js';

/** Reads happen inside the job's transaction: give a failover a little time, not the run's. */
const READ_DEADLINE_MS = 10_000;
/** Writes happen after commit, where waiting costs no locks: room for a Sentinel failover. */
const WRITE_DEADLINE_MS = 30_000;
const RETRY_PAUSE_MS = 250;
/** How long a Sentinel master may take to have its replicas acknowledge a pass of writes. */
const WAIT_REPLICAS_MS = 2000;
/** How long a pass of writes waits for a Sentinel group in the middle of a failover to settle. */
const STEADY_WAIT_MS = 15_000;

/**
 * Errors a failover or a reconnect produces, worth another attempt on a Cluster or a Sentinel
 * group (a single server's client never reconnects, so for it every error is final).
 */
const TRANSIENT =
  /^(READONLY|LOADING|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|MOVED|ASK)\b|Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|None of startup nodes|Failed to refresh slots|sentinels are unreachable|Too many Cluster redirections|timed out|ended/i;

/**
 * Snapshots as Redis keys with a TTL, named as the PHP panel names them. On a single server or a
 * Sentinel-managed master: one MGET per read batch and one pipeline per write batch. On a Cluster
 * neither may span hash slots (CROSSSLOT), so keys are grouped by slot: one MGET per slot, and
 * SET EX commands that the Cluster client routes (and re-routes on MOVED/ASK) one by one.
 */
export class RedisSnapshotStore implements SnapshotStore {
  readonly backend = 'redis' as const;
  private readonly redis: Redis | Cluster;
  private readonly topology: RedisTopology;
  private readonly safeUrl: string;
  /** False once the server refused a script (an ACL without @scripting): MGET and SET pipelines then. */
  private scripts = true;

  constructor(
    connection: RedisConnection,
    private readonly prefix: string,
  ) {
    this.redis = connection.client;
    this.topology = connection.topology;
    this.safeUrl = connection.safeUrl;
  }

  ensureAvailable(): void {}

  async read(kind: SnapshotKind, userIds: readonly number[]): Promise<Map<number, bigint>> {
    const out = new Map<number, bigint>();
    if (userIds.length === 0) return out;
    const values = await this.attempt(`reading ${kind} snapshots`, READ_DEADLINE_MS, () => this.readValues(kind, userIds));
    values.forEach((total, i) => {
      if (total !== null) out.set(userIds[i]!, total);
    });
    return out;
  }

  private async readValues(kind: SnapshotKind, userIds: readonly number[]): Promise<(bigint | null)[]> {
    if (this.topology.kind !== 'cluster' && this.scripts) {
      try {
        return await readByScript(this.redis as Redis, `${this.prefix}user:`, `:${kind}`, userIds);
      } catch (err) {
        this.refusesScripts(err);
      }
    }
    const keys = userIds.map((id) => snapshotKey(this.prefix, kind, id));
    const values = this.topology.kind === 'cluster' ? await this.mgetBySlot(keys) : await (this.redis as Redis).mget(...keys);
    return values.map((v) => (v === null ? null : parseTotal(v)));
  }

  /** Rethrows anything but the server's refusal to run scripts, after which commands are used. */
  private refusesScripts(err: unknown): void {
    if (!SCRIPTS_REFUSED.test((err as Error)?.message ?? '')) throw err;
    this.scripts = false;
  }

  async write(kind: SnapshotKind, batch: readonly Snapshot[], ttlSeconds: number): Promise<void> {
    if (batch.length === 0) return;
    await this.attempt(`writing ${kind} snapshots`, WRITE_DEADLINE_MS, async () => {
      if (this.topology.kind === 'cluster') {
        const cluster = this.redis as Cluster;
        await Promise.all(batch.map((s) => cluster.set(snapshotKey(this.prefix, kind, s.userId), s.total.toString(), 'EX', ttlSeconds)));
        return;
      }
      if (this.scripts) {
        try {
          await writeByScript(this.redis as Redis, `${this.prefix}user:`, `:${kind}`, batch, ttlSeconds);
          return;
        } catch (err) {
          this.refusesScripts(err);
        }
      }
      const pipeline = (this.redis as Redis).pipeline();
      for (const s of batch) pipeline.set(snapshotKey(this.prefix, kind, s.userId), s.total.toString(), 'EX', ttlSeconds);
      const results = await pipeline.exec();
      const failed = results?.find(([err]) => err) ?? (results ? null : [new Error('pipeline was discarded')]);
      if (failed) throw failed[0] as Error;
    });
  }

  /**
   * On a Sentinel group, a pass of writes is checked afterwards: a master demoted by a failover
   * accepts writes until it learns of it, and loses them when it becomes a replica. So a pass
   * waits (boundedly) for a steady group: the master the sentinels name, reached by the client,
   * with every replica they know connected. It counts as written only if afterwards the sentinels
   * still name that master, it still is one, and every replica acknowledged the writes (WAIT): a
   * replica promoted meanwhile no longer acknowledges, even before the switch is announced.
   * Otherwise writeSpooled writes the spool again.
   */
  async beginWrites(): Promise<WritePass | null> {
    if (this.topology.kind !== 'sentinel') return null;
    const redis = this.redis as Redis;
    const view = await this.steadyView(redis);
    const replicas =
      view?.replicas ??
      (await this.attempt('asking the master for its replicas', READ_DEADLINE_MS, async () => connectedReplicas(redis)));
    return {
      settled: async () => {
        try {
          const acked = replicas > 0 ? Number(await redis.call('WAIT', replicas, WAIT_REPLICAS_MS)) : 0;
          if (acked < replicas || (await masterRole(redis)) !== 'master') return false;
          return view === null || (await this.sentinelView())?.master === view.master;
        } catch {
          return false;
        }
      },
    };
  }

  /** The sentinels' view once the client is on the master they name and its replicas are back. */
  private async steadyView(redis: Redis): Promise<{ master: string; replicas: number } | null> {
    const until = Date.now() + STEADY_WAIT_MS;
    // Once: the sentinels may announce an address the socket spells differently.
    let reconnected = false;
    for (;;) {
      const view = await this.sentinelView();
      if (view === null) return null;
      const here = `${redis.stream?.remoteAddress?.replace(/^::ffff:/, '')}:${redis.stream?.remotePort}`;
      if (redis.status === 'ready' && here !== view.master && !reconnected) {
        // A reconnect asks the sentinels for the master again.
        redis.disconnect(true);
        reconnected = true;
      }
      try {
        const onMaster = redis.status === 'ready' && (here === view.master || reconnected);
        if (onMaster && (await masterRole(redis)) === 'master' && (await connectedReplicas(redis)) >= view.replicas) return view;
      } catch {
        // reconnecting: look again
      }
      if (Date.now() > until) return view;
      await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
    }
  }

  /** The master, and how many replicas are not down, as the first answering sentinel sees them. */
  private async sentinelView(): Promise<{ master: string; replicas: number } | null> {
    if (this.topology.kind !== 'sentinel') return null;
    const { Redis } = await import('ioredis');
    for (const s of this.topology.sentinels) {
      const sentinel = new Redis({ ...s, lazyConnect: true, connectTimeout: 2000, commandTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
      sentinel.on('error', () => undefined);
      try {
        await sentinel.connect();
        const name = this.topology.masterName;
        const addr = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', name)) as [string, string] | null;
        if (!addr) continue;
        const replicas = (await sentinel.call('SENTINEL', 'replicas', name)) as string[][];
        const healthy = replicas.filter((r) => {
          const flags = r[r.indexOf('flags') + 1] ?? '';
          return !/s_down|o_down/.test(flags);
        });
        return { master: `${addr[0]}:${addr[1]}`, replicas: healthy.length };
      } catch {
        // the next sentinel
      } finally {
        sentinel.disconnect();
      }
    }
    return null;
  }

  async prune(): Promise<void> {
    // Redis expires keys itself.
  }

  async close(): Promise<void> {
    await closeRedis(this.redis);
  }

  /** One MGET per hash slot, all in flight at once; values in the order of `keys`. */
  private async mgetBySlot(keys: string[]): Promise<(string | null)[]> {
    const bySlot = new Map<number, number[]>();
    keys.forEach((k, i) => {
      const slot = calculateSlot(k);
      const group = bySlot.get(slot);
      if (group) group.push(i);
      else bySlot.set(slot, [i]);
    });
    const values: (string | null)[] = new Array(keys.length).fill(null);
    const cluster = this.redis as Cluster;
    await Promise.all(
      [...bySlot.values()].map(async (idx) => {
        const got = await cluster.mget(...idx.map((i) => keys[i]!));
        idx.forEach((i, j) => (values[i] = got[j] ?? null));
      }),
    );
    return values;
  }

  /**
   * Runs an idempotent operation (MGET, SET EX) until it succeeds, retrying what a failover or a
   * reconnect explains until `deadlineMs`; anything else, or the deadline, is a SnapshotStoreError.
   */
  private async attempt<T>(what: string, deadlineMs: number, op: () => Promise<T>): Promise<T> {
    const until = Date.now() + deadlineMs;
    const retries = this.topology.kind !== 'single';
    for (;;) {
      try {
        if (retries && (this.redis.status === 'end' || this.redis.status === 'close')) {
          await withDeadline(this.redis.connect(), Math.max(1, until - Date.now()), 'reconnecting timed out');
        }
        return await withDeadline(op(), Math.max(1, until - Date.now()), 'timed out');
      } catch (err) {
        const message = (err as Error)?.message ?? String(err);
        if (!retries || !TRANSIENT.test(message) || Date.now() + RETRY_PAUSE_MS >= until) {
          throw new SnapshotStoreError(`${what} from Redis at ${this.safeUrl} failed (${describeRedisError(err)})`);
        }
        await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS));
      }
    }
  }
}

async function masterRole(redis: Redis): Promise<string> {
  return String(((await redis.call('ROLE')) as unknown[])[0]);
}

async function connectedReplicas(redis: Redis): Promise<number> {
  return Number(/^connected_slaves:(\d+)/m.exec(await redis.info('replication'))?.[1] ?? 0);
}

/** The store of a run whose Redis could not be reached: every cap step reports it did not run. */
export class UnreachableSnapshotStore implements SnapshotStore {
  readonly backend = 'redis' as const;

  constructor(private readonly reason: string) {}

  ensureAvailable(): void {
    throw new SnapshotStoreError(this.reason);
  }

  async read(): Promise<Map<number, bigint>> {
    throw new SnapshotStoreError(this.reason);
  }

  async write(): Promise<void> {
    throw new SnapshotStoreError(this.reason);
  }

  async prune(): Promise<void> {}

  async close(): Promise<void> {}
}
