import type { Knex } from 'knex';
import type { RowChange, StepContext } from './types.js';

type Where = (qb: Knex.QueryBuilder) => void;

export interface UpdateSpec {
  table: string;
  where: Where;
  set: Record<string, unknown>;
  /** Columns shown before → after in the report (those `set` touches). */
  columns: string[];
}

/**
 * One set-based UPDATE, reported: the first `sampleSize` matching rows are read under a row lock
 * (so they are exactly rows the UPDATE then changes), the UPDATE runs over the whole table, and
 * the sampled rows are read again for their new values.
 *
 * Rows the UPDATE would leave as they are never match: MySQL's client (FOUND_ROWS) and SQLite's
 * changes() both count matched rows, and a report must count rows whose values changed.
 */
export async function reportedUpdate(
  ctx: StepContext,
  spec: UpdateSpec,
): Promise<{ count: number; changes: RowChange[] }> {
  const changing = wouldChange(ctx, spec.set);
  const where: Where = (qb) => qb.where(spec.where).where(changing);
  const before = await sampleRows(ctx, spec.table, where, spec.columns);
  const count = await ctx.trx(spec.table).where(where).update(spec.set);
  if (before.length === 0) return { count, changes: [] };
  const after = await ctx
    .trx(spec.table)
    .select('id', ...spec.columns)
    .whereIn('id', before.map((r) => r.id as number));
  const afterById = new Map(after.map((r) => [String(r.id), r]));
  return { count, changes: before.map((b) => diffRow(spec.table, b, afterById.get(String(b.id)) ?? {}, spec.columns)) };
}

/**
 * True for a row where at least one assigned column would get a different value (NULL-safe).
 * Evaluated on the row as it is: when every assignment keeps its column's value, MySQL's
 * left-to-right SET sees unchanged values too, so this is exact for both dialects.
 */
export function wouldChange(ctx: Pick<StepContext, 'dialect'>, set: Record<string, unknown>): Where {
  const same = ctx.dialect.name === 'mysql' ? '<=>' : 'IS';
  return (qb) =>
    qb.where((w) => {
      for (const [column, value] of Object.entries(set)) w.orWhereRaw(`NOT (?? ${same} ?)`, [column, value as Knex.RawBinding]);
    });
}

/** One set-based DELETE, reported with the sampled rows' shown columns as "before". */
export async function reportedDelete(
  ctx: StepContext,
  spec: { table: string; where: Where; columns: string[] },
): Promise<{ count: number; changes: RowChange[] }> {
  const before = await sampleRows(ctx, spec.table, spec.where, spec.columns);
  const count = await ctx.trx(spec.table).where(spec.where).del();
  const changes = before.map<RowChange>((b) => {
    const { id, ...rest } = b;
    return { table: spec.table, id: id as number, action: 'delete', before: normalise(rest) };
  });
  return { count, changes };
}

export async function sampleRows(
  ctx: StepContext,
  table: string,
  where: Where,
  columns: string[],
  limit = ctx.sampleSize,
): Promise<Record<string, unknown>[]> {
  if (limit <= 0) return [];
  const qb = ctx.trx(table).select('id', ...columns).where(where).orderBy('id', 'asc').limit(limit);
  return ctx.dialect.forUpdate(qb);
}

/** Only the columns whose value changed appear in before/after. */
export function diffRow(
  table: string,
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  columns: string[],
): RowChange {
  const b: Record<string, unknown> = {};
  const a: Record<string, unknown> = {};
  for (const c of columns) {
    const x = normaliseValue(before[c]);
    const y = normaliseValue(after[c]);
    if (x !== y) {
      b[c] = x;
      a[c] = y;
    }
  }
  return { table, id: before.id as number, action: 'update', before: b, after: a };
}

/** Values as strings or numbers that compare equal across MySQL (strings) and SQLite (numbers). */
export function normaliseValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v.toString();
  if (v instanceof Date) return v.toISOString();
  return v;
}

function normalise(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, normaliseValue(v)]));
}
