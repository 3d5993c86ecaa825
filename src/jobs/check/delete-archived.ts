import type { StepContext } from '../../runner/types.js';
import { archiveDependentRows } from './archive-dependents.js';
import { ARCHIVE_TABLE, USER_BATCH, type ArchivedSet } from './archive-users.js';

/** SPEC §2: rows that belong to a user and go with it, and the column that names the user. */
export const DEPENDENT_TABLES: readonly { table: string; column: string; by: 'id' | 'email' }[] = [
  { table: 'link', column: 'userid', by: 'id' },
  { table: 'login_ip', column: 'userid', by: 'id' },
  { table: 'ss_invite_code', column: 'user_id', by: 'id' },
  { table: 'user_token', column: 'user_id', by: 'id' },
  { table: 'ss_password_reset', column: 'email', by: 'email' },
  { table: 'bought', column: 'userid', by: 'id' },
  { table: 'code', column: 'userid', by: 'id' },
  { table: 'disconnect_ip', column: 'userid', by: 'id' },
  { table: 'radius_ban', column: 'userid', by: 'id' },
];

/**
 * Deletes the archived users' dependent rows (archived first, for `spanel user restore`), then the users, one statement per table per
 * batch of archived users (ids listed literally, so every server uses the tables' indexes).
 */
export async function deleteArchived(
  ctx: StepContext,
  archived: ArchivedSet,
): Promise<{ counts: Record<string, number>; skipped: string[] }> {
  const present = ctx.tables;
  const dependents = DEPENDENT_TABLES.filter((d) => present.has(d.table));
  const counts: Record<string, number> = Object.fromEntries([...dependents.map((d) => [d.table, 0]), ['user', 0]]);
  let last = 0;
  for (;;) {
    const batch: { id: unknown; user_id: unknown; email: string }[] = await ctx
      .trx(ARCHIVE_TABLE)
      .select('id', 'user_id', 'email')
      .where(archived())
      .where('id', '>', last)
      .orderBy('id', 'asc')
      .limit(USER_BATCH);
    if (batch.length === 0) break;
    const ids = batch.map((r) => Number(r.user_id));
    const emails = batch.map((r) => r.email).filter((e) => e !== '');
    const refs = batch.map((r) => ({ archiveId: Number(r.id), userId: Number(r.user_id), email: r.email }));
    for (const d of dependents) {
      const keys = d.by === 'id' ? ids : emails;
      if (keys.length === 0) continue;
      await archiveDependentRows(ctx, d, refs);
      counts[d.table]! += await ctx.trx(d.table).whereIn(d.column, keys).del();
    }
    counts.user! += await ctx.trx('user').whereIn('id', ids).del();
    last = Number(batch[batch.length - 1]!.id);
    ctx.progress?.({ done: counts.user!, what: 'accounts deleted' });
  }
  return { counts, skipped: DEPENDENT_TABLES.filter((d) => !present.has(d.table)).map((d) => d.table) };
}
