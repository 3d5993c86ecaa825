import type { Knex } from 'knex';
import type { SkippedRow, StepContext } from '../../runner/types.js';

/** The largest value a BIGINT (signed) column holds. */
export const BIGINT_MAX = 9223372036854775807n;
/** The largest value an INT (signed) column holds. */
export const INT_MAX = 2147483647;

/** `COALESCE(col, 0)`: older panels allow NULL traffic counters, which count as 0 (SPEC §5). */
export const zeroIfNull = (k: Knex | Knex.Transaction, col: string): Knex.Raw => k.raw('COALESCE(??, 0)', [col]);

/**
 * SQL condition "u + d would overflow BIGINT", written without computing the sum (which is the
 * error it guards against). CASE fixes the order, so `max − d` is only evaluated for d > 0.
 */
export function sumOverflowsBigint(k: Knex | Knex.Transaction, a: string, b: string): Knex.Raw {
  return k.raw(`(CASE WHEN COALESCE(??, 0) > 0 THEN COALESCE(??, 0) > ${BIGINT_MAX} - COALESCE(??, 0) ELSE 0 END) = 1`, [b, a, b]);
}

/**
 * The rows of `table` that `where` selects and `poison` marks as impossible to process, listed
 * as skipped with `reason` (at most `limit`: the log and report name them; the count is exact
 * in the step's own note). Read in the step's transaction, so a dry run lists the same rows.
 */
export async function poisonRows(
  ctx: StepContext,
  table: string,
  where: (qb: Knex.QueryBuilder) => void,
  poison: (qb: Knex.QueryBuilder) => void,
  reason: (row: Record<string, unknown>) => string,
  columns: string[] = [],
  limit = 1000,
): Promise<SkippedRow[]> {
  const rows: Record<string, unknown>[] = await ctx.trx(table).select('id', ...columns).where(where).where(poison).orderBy('id').limit(limit);
  return rows.map((r) => ({ table, id: Number(r.id), reason: reason(r) }));
}
