import type { BatchedStep, BatchedStepContext } from '../../runner/types.js';
import { deleteInBatches } from './delete-in-batches.js';
import { LOG_TABLES } from './log-tables.js';

interface TableResult {
  deleted: number;
  batches: number;
  longestBatchMs: number;
  widestBatch: number;
}

/**
 * SPEC §3 dbclean: log rows older than LOG_RETENTION_DAYS go, table by table, in bounded
 * batches (this step runs in the runner's batched mode: there is no transaction).
 * A dry run only counts, one COUNT per table.
 */
export const logRetention: BatchedStep = {
  name: 'log-retention',
  title: 'Old log rows',
  async run(ctx) {
    const cutoff = ctx.clock.unix - ctx.settings.logRetentionDays * 86_400;
    const present = ctx.tables;
    const tables: Record<string, TableResult> = {};
    let stopped = false;
    for (const { table, column } of LOG_TABLES.filter((t) => present.has(t.table))) {
      if (ctx.dryRun) {
        tables[table] = { deleted: await countOld(ctx, table, column, cutoff), batches: 0, longestBatchMs: 0, widestBatch: 0 };
        continue;
      }
      const r = await deleteInBatches(ctx, table, column, cutoff, { size: ctx.settings.dbcleanBatchSize, targetMs: ctx.settings.dbcleanBatchMs });
      tables[table] = { deleted: r.deleted, batches: r.batches, longestBatchMs: r.longestBatchMs, widestBatch: r.widestBatch };
      ctx.log.info({ table, ...tables[table] }, 'dbclean table done');
      if (r.stopped) {
        stopped = true;
        break;
      }
    }
    const counts = Object.fromEntries(Object.entries(tables).map(([t, r]) => [t, r.deleted]));
    const skipped = LOG_TABLES.map((t) => t.table).filter((t) => !present.has(t));
    const results = Object.values(tables);
    return {
      count: results.reduce((n, r) => n + r.deleted, 0),
      counts,
      changes: [],
      ...(skipped.length ? { skipped } : {}),
      notes: [
        `rows older than ${ctx.settings.logRetentionDays} days (before Unix ${cutoff})`,
        ...(stopped ? ['stopped by a signal between batches: what was deleted stays deleted, the next run resumes'] : []),
      ],
      data: {
        cutoff,
        batchSize: ctx.settings.dbcleanBatchSize,
        batchTargetMs: ctx.settings.dbcleanBatchMs,
        widestBatch: results.reduce((m, r) => Math.max(m, r.widestBatch), 0),
        batches: results.reduce((n, r) => n + r.batches, 0),
        longestBatchMs: results.reduce((m, r) => Math.max(m, r.longestBatchMs), 0),
        tables,
        stopped,
      },
    };
  },
};

async function countOld(ctx: BatchedStepContext, table: string, column: string, cutoff: number): Promise<number> {
  const row = await ctx.db(table).where(column, '<', cutoff).count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}
