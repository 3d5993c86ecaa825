import type { StepContext } from '../../runner/types.js';

export const ARCHIVED_ROW_TABLE = 'spanel_archived_row';

/** Dependent rows read per query and written per INSERT: bounded memory and packet size. */
const ROW_BATCH = 500;

export interface ArchivedUserRef {
  archiveId: number;
  userId: number;
  email: string;
}

/**
 * Copies the dependent rows of a batch of archived users into spanel_archived_row, each row as
 * the panel holds it (JSON of every column), tied to its user's archive row, just before they
 * are deleted. `spanel user restore` puts them back. Keyset batches over the table's id keep
 * memory bounded for users with many login records.
 */
export async function archiveDependentRows(
  ctx: StepContext,
  dep: { table: string; column: string; by: 'id' | 'email' },
  users: ArchivedUserRef[],
): Promise<number> {
  const owner = new Map<string, ArchivedUserRef>();
  for (const u of users) {
    const key = dep.by === 'id' ? String(u.userId) : u.email;
    if (key !== '') owner.set(key, u);
  }
  if (owner.size === 0) return 0;
  const keys = dep.by === 'id' ? [...owner.keys()].map(Number) : [...owner.keys()];
  const hasId = 'id' in (await ctx.trx(dep.table).columnInfo());
  let archived = 0;
  let last: number | null = null;
  for (;;) {
    const q = ctx.trx(dep.table).select('*').whereIn(dep.column, keys);
    if (hasId) {
      q.orderBy('id', 'asc').limit(ROW_BATCH);
      if (last !== null) q.where('id', '>', last);
    }
    const rows: Record<string, unknown>[] = await q;
    if (rows.length === 0) break;
    const archive = rows.map((row) => {
      const u = owner.get(String(row[dep.column]))!;
      return { archive_id: u.archiveId, user_id: u.userId, table_name: dep.table, row_json: JSON.stringify(row) };
    });
    for (let i = 0; i < archive.length; i += ROW_BATCH) await ctx.trx(ARCHIVED_ROW_TABLE).insert(archive.slice(i, i + ROW_BATCH));
    archived += rows.length;
    if (!hasId || rows.length < ROW_BATCH) break;
    last = Number(rows[rows.length - 1]!.id);
  }
  return archived;
}
