import type { Knex } from 'knex';
import type { StepContext } from '../../runner/types.js';

export interface BatchedDelete {
  deleted: number;
  batches: number;
  longestBatchMs: number;
  /** A signal stopped it between batches: what was deleted stays deleted; the next run resumes. */
  stopped: boolean;
}

/**
 * Deletes `table` rows with `column` < `cutoff`, oldest ids first, at most `batchSize` per short
 * transaction of its own, so no lock is held for long and an interrupted run loses nothing.
 */
export async function deleteInBatches(
  ctx: StepContext,
  table: string,
  column: string,
  cutoff: number,
  batchSize: number,
): Promise<BatchedDelete> {
  const old = (qb: Knex.QueryBuilder) => qb.where(column, '<', cutoff);
  const result: BatchedDelete = { deleted: 0, batches: 0, longestBatchMs: 0, stopped: false };
  for (;;) {
    if (ctx.signal.aborted) return { ...result, stopped: true };
    const t0 = performance.now();
    const upper = await ctx.dialect.batchUpperId(ctx.db, table, old, batchSize);
    if (upper === null) return result;
    const n = await ctx.db.transaction((trx) => trx(table).where('id', '<=', upper).where(old).del());
    result.longestBatchMs = Math.max(result.longestBatchMs, Math.round(performance.now() - t0));
    result.batches += 1;
    result.deleted += n;
    ctx.log.debug({ table, batch: result.batches, deleted: n, upperId: upper }, 'dbclean batch');
  }
}
