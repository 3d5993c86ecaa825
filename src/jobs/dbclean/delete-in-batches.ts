import type { Knex } from 'knex';
import type { BatchedStepContext } from '../../runner/types.js';

export interface BatchedDelete {
  deleted: number;
  batches: number;
  longestBatchMs: number;
  /** The widest id range one batch covered (batches adapt to `targetMs`). */
  widestBatch: number;
  /** A signal stopped it between batches: what was deleted stays deleted; the next run resumes. */
  stopped: boolean;
}

export interface BatchPlan {
  /** Ids covered by the first batch (DBCLEAN_BATCH_SIZE). */
  size: number;
  /** Time one batch should take (DBCLEAN_BATCH_MS); 0 keeps every batch at `size`. */
  targetMs: number;
}

/** How far batches may drift from DBCLEAN_BATCH_SIZE, and how fast. */
const SMALLEST = 1 / 10;
const WIDEST = 20;
const MAX_STEP = 2;

/**
 * Deletes `table` rows with `column` < `cutoff`, walking the primary key in ranges of ids: each
 * range is one autocommitted DELETE, so no transaction holds more than one range and an
 * interrupted run loses nothing.
 *
 * Why ranges of ids and not "the oldest N matching rows": the log tables have no index on their
 * time column, so finding those rows means reading them once more before the DELETE reads them
 * again, and restarting each search from the lowest id walks over the delete-marked records
 * InnoDB has not purged yet. Both made a 10M-row clean up to three times slower than one bare
 * DELETE. Each range starts at the first id that exists past the previous one, so gaps in the
 * ids cost nothing; rows inserted after the run started are newer than the cutoff by definition.
 *
 * Like pt-online-schema-change's --chunk-time, the width of the next range follows how long the
 * last one took: a fast server gets fewer, larger transactions (each commit costs a log flush),
 * a slow or busy one smaller ones, so a batch stays near `targetMs` whatever the hardware.
 */
export async function deleteInBatches(
  ctx: BatchedStepContext,
  table: string,
  column: string,
  cutoff: number,
  plan: BatchPlan,
): Promise<BatchedDelete> {
  const result: BatchedDelete = { deleted: 0, batches: 0, longestBatchMs: 0, widestBatch: 0, stopped: false };
  const last = await idAfter(ctx.db, table, null, 'max');
  let from = await idAfter(ctx.db, table, null, 'min');
  const first = from ?? 0;
  let span = plan.size;
  while (from !== null && last !== null && from <= last) {
    if (ctx.signal.aborted) return { ...result, stopped: true };
    const to = from + span - 1;
    const t0 = performance.now();
    const n = await ctx.db(table).whereBetween('id', [from, to]).where(column, '<', cutoff).del();
    const ms = performance.now() - t0;
    result.longestBatchMs = Math.max(result.longestBatchMs, Math.round(ms));
    result.widestBatch = Math.max(result.widestBatch, span);
    result.batches += 1;
    result.deleted += n;
    ctx.log.debug({ table, batch: result.batches, deleted: n, from, to, ms: Math.round(ms) }, 'dbclean batch');
    ctx.progress?.({ done: result.deleted, fraction: (to - first + 1) / (last! - first + 1), what: `${table} rows deleted` });
    span = nextSpan(span, ms, plan);
    from = await idAfter(ctx.db, table, to, 'min');
  }
  return result;
}

/** The next range's width: scaled towards the target time, at most doubled or halved at a time. */
export function nextSpan(span: number, ms: number, plan: BatchPlan): number {
  if (plan.targetMs <= 0) return span;
  const factor = Math.min(MAX_STEP, Math.max(1 / MAX_STEP, plan.targetMs / Math.max(ms, 1)));
  const lo = Math.max(1, Math.ceil(plan.size * SMALLEST));
  return Math.min(plan.size * WIDEST, Math.max(lo, Math.round(span * factor)));
}

/** The lowest (or highest) id above `after`: one primary-key seek. */
async function idAfter(db: Knex, table: string, after: number | null, fn: 'min' | 'max'): Promise<number | null> {
  const qb = db(table)[fn]({ id: 'id' });
  if (after !== null) qb.where('id', '>', after);
  const row: { id?: unknown } | undefined = await qb.first();
  return row?.id == null ? null : Number(row.id);
}
