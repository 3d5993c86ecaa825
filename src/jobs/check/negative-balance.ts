import type { Knex } from 'knex';
import { reportedUpdate } from '../../runner/changes.js';
import type { RowChange, Step } from '../../runner/types.js';
import { USER_BATCH } from './archive-users.js';
import { emptyTally, recoverInto, recoveryNotes } from './reward-recovery.js';

/** A disabled user left with a score below this loses its referral link and its reward. */
const KEEP_REFERRAL_MIN_SCORE = 64;

/**
 * SPEC §3 check step 4, in two phases so that "those of them" is exactly the users this step
 * disabled. First every negative balance is disabled, in keyset batches of ids (one UPDATE and
 * one primary-key SELECT per batch); only then are rewards recovered, which can push a referrer
 * below zero: that referrer is left for the next run (10 minutes later) whatever its id, instead
 * of being caught by this run only when its id happens to come after the batch that debited it.
 */
export const negativeBalance: Step = {
  name: 'negative-balance',
  title: 'Negative balance',
  async run(ctx) {
    const warning = `${ctx.clock.warningStamp()} account disabled: the balance is negative`;
    const changes: RowChange[] = [];
    // The ids of the disabled users that also lose their referral: held until every batch is
    // disabled. Only these users are kept (8 bytes each), not every user scanned.
    const losing: number[] = [];
    let disabled = 0;
    let last = 0;
    for (;;) {
      const batch: { id: unknown }[] = await ctx.dialect.forUpdate(
        ctx.trx('user').select('id').where('money', '<', 0).where('enable', 1).where('id', '>', last).orderBy('id', 'asc').limit(USER_BATCH),
      );
      if (batch.length === 0) break;
      const ids = batch.map((r) => Number(r.id));
      const off = await reportedUpdate(
        { ...ctx, sampleSize: Math.max(0, ctx.sampleSize - changes.length) },
        { table: 'user', where: (qb) => qb.whereIn('id', ids), set: disableSet(ctx.trx, warning), columns: DISABLE_COLUMNS },
      );
      disabled += off.count;
      changes.push(...off.changes);
      const low: { id: unknown }[] = await ctx.trx('user').select('id').whereIn('id', ids).where('score', '<', KEEP_REFERRAL_MIN_SCORE).whereNot('ref_by', 0);
      losing.push(...low.map((r) => Number(r.id)));
      last = ids[ids.length - 1]!;
    }

    const tally = emptyTally();
    let cleared = 0;
    for (let i = 0; i < losing.length; i += USER_BATCH) {
      const batch = losing.slice(i, i + USER_BATCH);
      await recoverInto(ctx, tally, batch, 'check: negative balance');
      // A reward that could not be taken back keeps its referral link: PHP and `referral
      // recover` find it through ref_by / the payback row, and the skip is reported.
      const ids = batch.filter((id) => !tally.unrecoveredUsers.has(id));
      if (ids.length === 0) continue;
      // Sampling as many as are shown above covers every shown user among them.
      const unlinked = await reportedUpdate(
        { ...ctx, sampleSize: changes.length },
        { table: 'user', where: (qb) => qb.whereIn('id', ids), set: { ref_by: 0 }, columns: ['ref_by'] },
      );
      cleared += unlinked.count;
      mergeInto(changes, unlinked.changes);
    }
    return {
      count: disabled,
      counts: { disabled, 'ref_by cleared': cleared, 'rewards recovered': tally.count },
      changes: [...changes, ...tally.changes],
      notes: recoveryNotes(tally),
      ...(tally.skippedRows.length ? { skippedRows: tally.skippedRows } : {}),
    };
  },
};

const DISABLE_COLUMNS = ['enable', 'warming', 'ban_times', 'score', 'node_group'];

function disableSet(trx: Knex.Transaction, warning: string): Record<string, unknown> {
  // NULL counts as 0: on panels with NULLable columns, NULL arithmetic would write NULL (or
  // fail "cannot be null") instead of counting the ban.
  return {
    enable: 0,
    warming: warning,
    ban_times: trx.raw('COALESCE(??, 0) + COALESCE(??, 0)', ['ban_times', 'class']),
    score: trx.raw('COALESCE(??, 0) - 1', ['score']),
    node_group: trx.raw('CASE WHEN ?? > 1 THEN ?? - 1 ELSE ?? END', ['node_group', 'node_group', 'node_group']),
  };
}

/**
 * One entry per user: a ref_by change joins that user's disable entry. Users outside the
 * bounded sample stay out of it (the counts cover them).
 */
function mergeInto(changes: RowChange[], more: RowChange[]): void {
  for (const ch of more) {
    const same = changes.find((c) => c.table === ch.table && String(c.id) === String(ch.id));
    if (!same) continue;
    same.before = { ...same.before, ...ch.before };
    same.after = { ...same.after, ...ch.after };
  }
}
