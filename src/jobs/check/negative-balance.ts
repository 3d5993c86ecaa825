import type { Knex } from 'knex';
import { reportedUpdate } from '../../runner/changes.js';
import type { RowChange, Step } from '../../runner/types.js';
import { USER_BATCH } from './archive-users.js';
import { emptyTally, recoverInto, recoveryNotes } from './reward-recovery.js';

/** A disabled user left with a score below this loses its referral link and its reward. */
const KEEP_REFERRAL_MIN_SCORE = 64;

/**
 * SPEC §3 check step 4, in two phases so that "those of them" is exactly the users this step
 * disabled. One UPDATE disables every negative balance first; only then are rewards recovered,
 * which can push a referrer below zero: that referrer is left for the next run (10 minutes
 * later) whatever its id, instead of being caught by this run only when its id happens to come
 * after the batch that debited it.
 */
export const negativeBalance: Step = {
  name: 'negative-balance',
  title: 'Negative balance',
  async run(ctx) {
    const warning = `${ctx.clock.warningStamp()} account disabled: the balance is negative`;
    const off = await reportedUpdate(ctx, {
      table: 'user',
      where: (qb) => qb.where('money', '<', 0).where('enable', 1),
      set: disableSet(ctx.trx, warning),
      columns: ['enable', 'warming', 'ban_times', 'score', 'node_group'],
    });

    // The users just disabled carry this run's warning. (One disabled by an earlier run in the
    // same second has had its ref_by cleared already, so it cannot match again.)
    const losing = (qb: Knex.QueryBuilder) =>
      qb.where('enable', 0).where('warming', warning).where('score', '<', KEEP_REFERRAL_MIN_SCORE).whereNot('ref_by', 0);
    const tally = emptyTally();
    let last = 0;
    for (;;) {
      const batch: { id: unknown }[] = await ctx.trx('user').select('id').where(losing).where('id', '>', last).orderBy('id', 'asc').limit(USER_BATCH);
      if (batch.length === 0) break;
      const ids = batch.map((r) => Number(r.id));
      await recoverInto(ctx, tally, ids, 'check: negative balance');
      last = ids[ids.length - 1]!;
    }
    // Sampling as many as were shown above covers every shown user among them.
    const unlinked = await reportedUpdate(
      { ...ctx, sampleSize: off.changes.length },
      { table: 'user', where: losing, set: { ref_by: 0 }, columns: ['ref_by'] },
    );
    mergeInto(off.changes, unlinked.changes);
    return {
      count: off.count,
      counts: { disabled: off.count, 'ref_by cleared': unlinked.count, 'rewards recovered': tally.count },
      changes: [...off.changes, ...tally.changes],
      notes: recoveryNotes(tally),
    };
  },
};

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
