import { OperationError } from '../../errors.js';
import type { Step, StepContext } from '../../runner/types.js';
import { ARCHIVE_TABLE, USER_BATCH, archiveCandidates, type ArchivedSet } from './archive-users.js';
import { deleteArchived } from './delete-archived.js';
import { candidateWhere, deletionRules } from './deletion-rules.js';
import { emptyTally, recoverInto, recoveryNotes, type RecoveryTally } from './reward-recovery.js';

/** A referrer below this score loses the registration reward of a referred user that is deleted. */
const RECOVER_BELOW_SCORE = 32;

/**
 * SPEC §3 check step 3: count the users rules a–d select (refusing above MAX_DELETE_PER_RUN
 * unless --force), archive them, recover their referrers' registration rewards, then delete
 * their dependent rows and the users. Every recovery happens before any user row is deleted,
 * so whether a referrer that is itself deleted still pays back does not depend on batching.
 */
export const expiredAccounts: Step = {
  name: 'expired-accounts',
  title: 'Expired accounts (deletion)',
  async run(ctx) {
    const rules = deletionRules(ctx);
    const candidate = candidateWhere(rules);
    // Archiving stops one batch past the cap: the run is refused then, and only that refusal pays
    // for counting every candidate (a second scan of the user table no normal run needs).
    const archive = await archiveCandidates(ctx, rules, candidate, ctx.force ? Infinity : ctx.settings.maxDeletePerRun);
    if (overCap(ctx, archive.count)) refuseOverCap(ctx, Number((await ctx.trx('user').where(candidate).count({ n: '*' }).first())?.n ?? 0));
    const tally = emptyTally();
    await recoverReferred(ctx, archive.archived, tally);
    const deleted = await deleteArchived(ctx, archive.archived);
    const notes = recoveryNotes(tally);
    return {
      count: deleted.counts.user ?? 0,
      counts: { ...deleted.counts, [ARCHIVE_TABLE]: archive.count, 'rewards recovered': tally.count },
      changes: [...archive.changes, ...tally.changes],
      notes,
      ...(deleted.skipped.length ? { skipped: deleted.skipped } : {}),
      ...(tally.skippedRows.length ? { skippedRows: tally.skippedRows } : {}),
      data: { qualifying: archive.count, cap: ctx.settings.maxDeletePerRun },
    };
  },
};

const overCap = (ctx: StepContext, n: number): boolean => n > ctx.settings.maxDeletePerRun && !ctx.force;

function capMessage(ctx: StepContext, n: number): string {
  const cap = ctx.settings.maxDeletePerRun;
  return `${n} accounts qualify for deletion, more than MAX_DELETE_PER_RUN=${cap}: nothing was changed; list them with --dry-run --force, then rerun with --force or raise MAX_DELETE_PER_RUN`;
}

/**
 * Refuses (the runner rolls back every step). A dry run refuses too, so that it predicts the
 * real run exactly; `--dry-run --force` lists what --force would delete.
 */
function refuseOverCap(ctx: StepContext, n: number): void {
  if (overCap(ctx, n)) throw new OperationError(capMessage(ctx, n));
}

/** Archived users with a referrer whose score is below 32, in keyset batches of the archive. */
async function recoverReferred(ctx: StepContext, archived: ArchivedSet, tally: RecoveryTally): Promise<void> {
  let last = 0;
  for (;;) {
    const rows: { aid: unknown; uid: unknown }[] = await ctx
      .trx({ a: ARCHIVE_TABLE })
      .join({ u: 'user' }, 'u.id', 'a.user_id')
      .join({ r: 'user' }, 'r.id', 'u.ref_by')
      .select({ aid: 'a.id', uid: 'a.user_id' })
      .where(archived('a'))
      .where('a.id', '>', last)
      .where('u.ref_by', '<>', 0)
      .where('r.score', '<', RECOVER_BELOW_SCORE)
      .orderBy('a.id', 'asc')
      .limit(USER_BATCH);
    if (rows.length === 0) return;
    await recoverInto(ctx, tally, rows.map((r) => Number(r.uid)), 'check: account deleted');
    last = Number(rows[rows.length - 1]!.aid);
  }
}
