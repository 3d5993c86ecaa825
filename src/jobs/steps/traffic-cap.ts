import type { Settings } from '../../config/settings.js';
import { InterruptedError } from '../../errors.js';
import { diffRow } from '../../runner/changes.js';
import type { RowChange, SkippedRow, Step, StepContext, StepOutcome } from '../../runner/types.js';
import { snapshotStoreOf, spoolDirectoryOf } from '../../snapshots/services.js';
import type { SnapshotSpool } from '../../snapshots/spool.js';
import type { Snapshot, SnapshotKind, SnapshotStore } from '../../snapshots/store.js';
import { BIGINT_MAX } from './poison.js';
import { writeSpooled } from '../../snapshots/write-spooled.js';
import { unlessStoreFails } from './store-outage.js';

const GIB = 1024n ** 3n;
export const DEFAULT_BATCH_SIZE = 5000;
/**
 * Snapshots per write call (one script call, or a pipeline where scripts are refused). Smaller
 * than the scan page on purpose: a pipelined command is a handful of objects that live until the
 * reply, and 5000 of them outlived V8's young generation, so a 1M-user run's heap climbed to
 * 150 MB of garbage between collections.
 */
export const WRITE_BATCH_SIZE = 1000;
/** Over-cap users per disabling UPDATE (an id list, so bounded like the pages). */
export const DISABLE_BATCH_SIZE = 5000;

export interface TrafficCapConfig {
  name: string;
  title: string;
  /** Word used in the warning: "daily traffic over 32 GB". */
  period: 'daily' | 'hourly';
  kind: SnapshotKind;
  /** Only users with traffic within this many seconds are scanned. */
  windowSeconds: number;
  /** Snapshot lifetime in seconds. */
  ttlSeconds: number;
  groups(settings: Settings): number[];
  capGiB(settings: Settings): number;
  /** Users per keyset page, MGET and UPDATE (and per snapshot write batch). */
  batchSize?: number;
  /** Over-cap users per disabling UPDATE. */
  disableBatchSize?: number;
}

interface Scan {
  scanned: number;
  unrecorded: number;
  disabled: number;
  changes: RowChange[];
  /** Users whose u + d no snapshot can hold: neither judged nor recorded (SPEC §5). */
  skippedRows: SkippedRow[];
}

/**
 * SPEC §3 daily step 3 / hourly step 1: a user whose total traffic grew by more than the cap
 * since the last snapshot is disabled; every scanned user's snapshot then becomes the current
 * total. The scan walks the users by id in pages, so memory does not grow with their number,
 * and the new snapshots wait on disk until the transaction has committed.
 */
export function trafficCapStep(cfg: TrafficCapConfig): Step {
  const batchSize = cfg.batchSize ?? DEFAULT_BATCH_SIZE;
  return {
    name: cfg.name,
    title: cfg.title,
    async run(ctx) {
      const store = snapshotStoreOf(ctx);
      return unlessStoreFails(ctx, cfg, store, () => capUsers(ctx, cfg, store, batchSize));
    },
  };
}

async function capUsers(ctx: StepContext, cfg: TrafficCapConfig, store: SnapshotStore, batchSize: number): Promise<StepOutcome> {
  const capGiB = cfg.capGiB(ctx.settings);
  const spool = ctx.dryRun ? null : await spoolDirectoryOf(ctx).create(cfg.kind);
  const scan = await scanUsers(ctx, cfg, store, spool, batchSize, {
    capBytes: BigInt(capGiB) * GIB,
    warning: `${ctx.clock.warningStamp()} ${cfg.period} traffic over ${capGiB} GB: account disabled`,
  });
  if (spool && spool.count > 0) {
    ctx.afterCommit({
      label: `${cfg.title.toLowerCase()} snapshots`,
      run: () => writeSnapshots(ctx, store, spool, cfg, Math.min(batchSize, WRITE_BATCH_SIZE)),
    });
  } else {
    await spool?.discard();
  }
  return outcome(ctx, cfg, store, scan);
}

async function scanUsers(
  ctx: StepContext,
  cfg: TrafficCapConfig,
  store: SnapshotStore,
  spool: SnapshotSpool | null,
  batchSize: number,
  rule: { capBytes: bigint; warning: string },
): Promise<Scan> {
  const scan: Scan = { scanned: 0, unrecorded: 0, disabled: 0, changes: [], skippedRows: [] };
  const groups = cfg.groups(ctx.settings);
  const since = ctx.clock.unix - cfg.windowSeconds;
  // Only a watching terminal pays for this one primary-key seek (the percent of the scan).
  const top = ctx.progress ? Number((await ctx.trx('user').max({ id: 'id' }).first())?.id ?? 0) : 0;
  type Row = { id: unknown; u: unknown; d: unknown };
  // A Promise, not the builder: a knex builder runs its query again on every then().
  const page = (afterId: number): Promise<Row[]> =>
    Promise.resolve(
      ctx
        .trx('user')
        // NULL counters (older panels allow them) count as 0.
        .select('id', ctx.trx.raw('COALESCE(??, 0) AS ??', ['u', 'u']), ctx.trx.raw('COALESCE(??, 0) AS ??', ['d', 'd']))
        .where('enable', 1)
        .whereIn('node_group', groups)
        .where('t', '>', since)
        .where('id', '>', afterId)
        .orderBy('id', 'asc')
        .limit(batchSize),
    );
  // Over-cap users wait here and are disabled many pages' worth at a time: an UPDATE per page
  // cost a round trip per page for the few users a page has over the cap.
  const disableBatch = cfg.disableBatchSize ?? DISABLE_BATCH_SIZE;
  let over: number[] = [];
  let next: Promise<Row[]> | null = page(0);
  while (next) {
    if (ctx.signal.aborted) throw new InterruptedError(ctx.signal.reason as NodeJS.Signals);
    const rows: Row[] = await next;
    if (rows.length === 0) break;
    const all: Snapshot[] = rows.map((r) => ({ userId: Number(r.id), total: BigInt(String(r.u)) + BigInt(String(r.d)) }));
    const lastId = all[all.length - 1]!.userId;
    // The next page's SELECT runs while this page's snapshots are read from Redis: the database
    // scan is then the only thing the step waits for.
    next = rows.length < batchSize ? null : page(lastId);
    next?.catch(() => undefined); // awaited on the next turn; an error is thrown there, not lost
    const batch = all.some((s) => s.total > BIGINT_MAX) ? all.filter((s) => s.total <= BIGINT_MAX) : all;
    if (batch !== all) for (const s of all) if (s.total > BIGINT_MAX) scan.skippedRows.push({ table: 'user', id: s.userId, reason: 'u + d exceeds the BIGINT range: no snapshot can hold it' });
    const previous = await store.read(cfg.kind, batch.map((s) => s.userId), ctx.trx);
    for (const s of batch) {
      const before = previous.get(s.userId);
      if (before === undefined) scan.unrecorded++;
      else if (s.total - before > rule.capBytes) over.push(s.userId);
    }
    if (over.length >= disableBatch) {
      await disable(ctx, over, rule.warning, scan);
      over = [];
    }
    await spool?.append(batch);
    scan.scanned += batch.length;
    ctx.progress?.({ done: scan.scanned, what: 'users scanned', ...(top > 0 ? { fraction: lastId / top } : {}) });
  }
  if (over.length) await disable(ctx, over, rule.warning, scan);
  return scan;
}

/** One UPDATE for a batch of over-cap users; the first of them (up to sampleSize) are reported. */
async function disable(ctx: StepContext, ids: number[], warning: string, scan: Scan): Promise<void> {
  const room = Math.max(0, ctx.sampleSize - scan.changes.length);
  const sampled: Record<string, unknown>[] = room > 0 ? await ctx.trx('user').select('id', 'enable', 'warming').whereIn('id', ids.slice(0, room)).orderBy('id') : [];
  const set = { enable: 0, warming: warning };
  scan.disabled += await ctx.trx('user').whereIn('id', ids).update(set);
  for (const row of sampled) scan.changes.push(diffRow('user', row, { id: row.id, ...set }, ['enable', 'warming']));
}

async function writeSnapshots(
  ctx: StepContext,
  store: SnapshotStore,
  spool: SnapshotSpool,
  cfg: TrafficCapConfig,
  batchSize: number,
): Promise<void> {
  let written = 0;
  try {
    await writeSpooled(store, cfg.kind, spool, cfg.ttlSeconds, batchSize, (n) => (written = n));
  } catch (err) {
    throw new Error(`${cfg.kind} snapshots for ${spool.count - written} users were not written (${(err as Error).message})`);
  } finally {
    await spool.discard();
  }
  // Expired rows are already ignored by reads; removing them only keeps the table small.
  await store.prune(cfg.kind).catch((err: unknown) => ctx.log.warn({ err, kind: cfg.kind }, 'could not prune expired snapshots'));
}

function outcome(ctx: StepContext, cfg: TrafficCapConfig, store: SnapshotStore, scan: Scan): StepOutcome {
  const notes = [
    `scanned ${scan.scanned} user${scan.scanned === 1 ? '' : 's'}, ${scan.unrecorded} without a ${cfg.kind} snapshot (recorded only)`,
  ];
  if (ctx.dryRun && scan.scanned > 0) notes.push(`snapshots not written (dry run)`);
  return {
    count: scan.disabled,
    changes: scan.changes,
    ...(scan.skippedRows.length ? { skippedRows: scan.skippedRows } : {}),
    notes,
    data: { scanned: scan.scanned, withoutSnapshot: scan.unrecorded, disabled: scan.disabled, snapshotStore: store.backend, kind: cfg.kind },
  };
}
