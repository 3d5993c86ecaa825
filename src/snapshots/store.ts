import type { Knex } from 'knex';
import { OperationError } from '../errors.js';

/** The two traffic snapshots SPEC §3 keeps: one per user per cap period. */
export type SnapshotKind = 'traffic_lastday' | 'traffic_lasthour';

/** A user's total traffic (u + d, bytes) at the moment of a cap scan. */
export interface Snapshot {
  userId: number;
  total: bigint;
}

/**
 * Where traffic snapshots live: Redis (shared with the PHP panel) or, without REDIS_URL, the
 * spanel_traffic_snapshot table. Both honour expiry the same way: an expired snapshot is absent.
 */
export interface SnapshotStore {
  readonly backend: 'redis' | 'table';
  /**
   * Unexpired snapshots of `userIds` (absent users are missing from the map). The table store
   * reads through `trx`: SQLite has a single connection, which the transaction holds.
   */
  read(kind: SnapshotKind, userIds: readonly number[], trx: Knex.Transaction): Promise<Map<number, bigint>>;
  /** Writes one batch, each snapshot expiring `ttlSeconds` from now. Only ever called after commit. */
  write(kind: SnapshotKind, batch: readonly Snapshot[], ttlSeconds: number): Promise<void>;
  /** Drops expired snapshots where the backend does not expire them itself. */
  prune(kind: SnapshotKind): Promise<void>;
  /**
   * Throws SnapshotStoreError when the store could not be opened, so that a cap step with no
   * user to scan still reports that it did not run.
   */
  ensureAvailable(): void;
  /**
   * Starts a pass of writes whose landing can be checked afterwards (a Sentinel group, whose
   * master can change under a run): a pass that did not settle is written again (writeSpooled).
   * Absent or null: nothing to check.
   */
  beginWrites?(): Promise<WritePass | null>;
  close(): Promise<void>;
}

export interface WritePass {
  /** True when the pass's writes are known to be on the current master (and its replicas). */
  settled(): Promise<boolean>;
}

/**
 * The snapshot store cannot be used (Redis unreachable, failing or timing out). A cap step that
 * meets it does not run, and the rest of the job still commits (SPEC §3): a Redis outage must
 * never cost users their renewal.
 */
export class SnapshotStoreError extends OperationError {}

/** Keys as the PHP panel names them: `<prefix>user:<id>:traffic_lastday`. */
export function snapshotKey(prefix: string, kind: SnapshotKind, userId: number): string {
  return `${prefix}user:${userId}:${kind}`;
}

/**
 * A stored total as an integer, or null when it is not one (a key some other tool wrote): such a
 * snapshot counts as absent, so the user is recorded afresh rather than judged on garbage.
 */
export function parseTotal(v: unknown): bigint | null {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : null;
  if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) return BigInt(v.trim());
  return null;
}
