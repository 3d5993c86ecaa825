import type { Redis } from 'ioredis';
import { OperationError } from '../errors.js';
import { maskSecrets } from '../util/mask.js';
import { parseTotal, snapshotKey, type Snapshot, type SnapshotKind, type SnapshotStore } from './store.js';

/** Snapshots as Redis keys with a TTL, one MGET per read batch and one pipeline per write batch. */
export class RedisSnapshotStore implements SnapshotStore {
  readonly backend = 'redis' as const;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** REDIS_URL with the password masked, for messages. */
    private readonly safeUrl: string,
  ) {}

  async read(kind: SnapshotKind, userIds: readonly number[]): Promise<Map<number, bigint>> {
    const out = new Map<number, bigint>();
    if (userIds.length === 0) return out;
    let values: (string | null)[];
    try {
      values = await this.redis.mget(...userIds.map((id) => snapshotKey(this.prefix, kind, id)));
    } catch (err) {
      throw new OperationError(
        `reading ${kind} snapshots from Redis at ${this.safeUrl} failed (${maskSecrets((err as Error).message)}): nothing was changed; check that redis-server is running and run the job again`,
      );
    }
    values.forEach((v, i) => {
      const total = v === null ? null : parseTotal(v);
      if (total !== null) out.set(userIds[i]!, total);
    });
    return out;
  }

  async write(kind: SnapshotKind, batch: readonly Snapshot[], ttlSeconds: number): Promise<void> {
    if (batch.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const s of batch) pipeline.set(snapshotKey(this.prefix, kind, s.userId), s.total.toString(), 'EX', ttlSeconds);
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err) ?? (results ? null : [new Error('pipeline was discarded')]);
    if (failed) throw failed[0] as Error;
  }

  async prune(): Promise<void> {
    // Redis expires keys itself.
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
