import type { Knex } from 'knex';
import type { Clock } from '../time/clock.js';
import { parseTotal, type Snapshot, type SnapshotKind, type SnapshotStore } from './store.js';

export const SNAPSHOT_TABLE = 'spanel_traffic_snapshot';

/**
 * Rows per upsert statement. Knex writes a multi-row SQLite insert as a compound SELECT, which
 * SQLite caps at 500 terms.
 */
const UPSERT_ROWS = 250;

/**
 * Snapshots in spanel_traffic_snapshot for installs without Redis, with Redis' semantics:
 * a row whose expires_at has passed is not a snapshot, and a write replaces the previous one.
 * "Now" is the run's clock, so `--now` moves expiry consistently with the rest of the job.
 */
export class TableSnapshotStore implements SnapshotStore {
  readonly backend = 'table' as const;

  constructor(
    private readonly db: Knex,
    private readonly clock: Clock,
  ) {}

  async read(kind: SnapshotKind, userIds: readonly number[], trx: Knex.Transaction): Promise<Map<number, bigint>> {
    const out = new Map<number, bigint>();
    if (userIds.length === 0) return out;
    const rows: { user_id: unknown; total: unknown }[] = await trx(SNAPSHOT_TABLE)
      .select('user_id', 'total')
      .where('kind', kind)
      .whereIn('user_id', userIds as number[])
      .where('expires_at', '>', this.clock.unix);
    for (const r of rows) {
      const total = parseTotal(r.total);
      if (total !== null) out.set(Number(r.user_id), total);
    }
    return out;
  }

  async write(kind: SnapshotKind, batch: readonly Snapshot[], ttlSeconds: number): Promise<void> {
    const expiresAt = this.clock.unix + ttlSeconds;
    for (let i = 0; i < batch.length; i += UPSERT_ROWS) {
      const rows = batch
        .slice(i, i + UPSERT_ROWS)
        .map((s) => ({ kind, user_id: s.userId, total: sqlInteger(s.total), expires_at: expiresAt }));
      await this.db(SNAPSHOT_TABLE).insert(rows).onConflict(['kind', 'user_id']).merge(['total', 'expires_at']);
    }
  }

  async prune(kind: SnapshotKind): Promise<void> {
    await this.db(SNAPSHOT_TABLE).where('kind', kind).where('expires_at', '<=', this.clock.unix).del();
  }

  ensureAvailable(): void {
    // The database is the runner's: if it is gone, the whole run fails anyway.
  }

  async close(): Promise<void> {
    // The database connection belongs to the runner.
  }
}

/** Safe integers as numbers (both drivers bind them exactly); larger ones as decimal strings. */
function sqlInteger(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
}
