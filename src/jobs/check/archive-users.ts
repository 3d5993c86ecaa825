import type { Knex } from 'knex';
import { normaliseValue } from '../../runner/changes.js';
import type { RowChange, StepContext } from '../../runner/types.js';
import { matchedRules, type DeletionRule } from './deletion-rules.js';

export const ARCHIVE_TABLE = 'spanel_archived_user';
/** Users per statement batch: bounded memory, and a multi-row INSERT well under packet limits. */
export const USER_BATCH = 500;

/**
 * Selects the archive rows this run wrote, which are the run's frozen set of users to delete;
 * `alias` qualifies the columns when the archive table is joined under that alias.
 */
export type ArchivedSet = (alias?: string) => (qb: Knex.QueryBuilder) => void;

/**
 * Archives every candidate user (JSON of the whole row, the matched rules as reason) in keyset
 * batches, before anything else changes. The archive rows written here then define exactly
 * whom the rest of the step recovers rewards for and deletes, so a balance the recovery lowers
 * cannot pull further users into this run.
 */
export async function archiveCandidates(
  ctx: StepContext,
  rules: DeletionRule[],
  candidate: (qb: Knex.QueryBuilder) => void,
  /** Stop after the batch that takes the count past this (the step then refuses the run). */
  stopAbove = Infinity,
): Promise<{ count: number; changes: RowChange[]; archived: ArchivedSet }> {
  const firstArchiveId = await nextArchiveId(ctx);
  const changes: RowChange[] = [];
  let count = 0;
  let last = 0;
  for (;;) {
    const rows: Record<string, unknown>[] = await ctx.dialect.forUpdate(
      ctx.trx('user').select('*').where(candidate).where('id', '>', last).orderBy('id', 'asc').limit(USER_BATCH),
    );
    if (rows.length === 0) break;
    const ids = rows.map((r) => Number(r.id));
    const matched = await matchedRules(ctx, rules, ids);
    await ctx.trx(ARCHIVE_TABLE).insert(
      rows.map((row) => ({
        user_id: Number(row.id),
        email: String(row.email ?? ''),
        reason: reasonOf(matched.get(Number(row.id))),
        row_json: JSON.stringify(row),
        run_id: ctx.runId,
        deleted_at: ctx.clock.unix,
      })),
    );
    for (const row of rows.slice(0, Math.max(0, ctx.sampleSize - changes.length))) {
      changes.push({ table: 'user', id: Number(row.id), action: 'delete', before: summary(row, reasonOf(matched.get(Number(row.id)))) });
    }
    count += rows.length;
    last = ids[ids.length - 1]!;
    ctx.progress?.({ done: count, what: 'accounts archived' });
    if (count > stopAbove) break;
  }
  // A dry run has no run id; its archive rows are the ones above the id it started from.
  const archived: ArchivedSet = (alias) => (qb) => {
    const col = (c: string) => (alias ? `${alias}.${c}` : c);
    qb.where(col('id'), '>=', firstArchiveId);
    if (ctx.runId === null) qb.whereNull(col('run_id'));
    else qb.where(col('run_id'), ctx.runId);
  };
  return { count, changes, archived };
}

async function nextArchiveId(ctx: StepContext): Promise<number> {
  const row = await ctx.trx(ARCHIVE_TABLE).max({ id: 'id' }).first();
  return Number(row?.id ?? 0) + 1;
}

function reasonOf(rules: string[] | undefined): string {
  return `rule ${(rules ?? []).join(',')}`;
}

/** What a report shows of a deleted user: who, why, and the values the rules looked at. */
function summary(row: Record<string, unknown>, reason: string): Record<string, unknown> {
  const keep = ['email', 'money', 'class', 'expire_in', 'reg_date', 't', 'last_check_in_time', 'ref_by'];
  return { reason, ...Object.fromEntries(keep.map((k) => [k, normaliseValue(row[k])])) };
}
