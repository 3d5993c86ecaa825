import type { Knex } from 'knex';
import { reportedUpdate } from '../../runner/changes.js';
import type { RowChange, Step, StepContext } from '../../runner/types.js';
import { USER_BATCH } from './archive-users.js';
import { emptyTally, recoverInto, recoveryNotes } from './reward-recovery.js';

/** A disabled user left with a score below this loses its referral link and its reward. */
const KEEP_REFERRAL_MIN_SCORE = 64;

/**
 * SPEC §3 check step 4. The users are taken in keyset batches of ids, so that "those of them"
 * (the users this step disabled, not any user that happens to match afterwards) is exactly the
 * batch: one UPDATE per batch disables them, then one SELECT picks those left with score < 64
 * and a referrer for recovery and a second UPDATE clears their ref_by.
 */
export const negativeBalance: Step = {
  name: 'negative-balance',
  title: 'Negative balance',
  async run(ctx) {
    const warning = `${ctx.clock.warningStamp()} account disabled: the balance is negative`;
    const tally = emptyTally();
    const changes: RowChange[] = [];
    let disabled = 0;
    let cleared = 0;
    let last = 0;
    for (;;) {
      const batch: { id: unknown }[] = await ctx.dialect.forUpdate(
        ctx.trx('user').select('id').where('money', '<', 0).where('enable', 1).where('id', '>', last).orderBy('id', 'asc').limit(USER_BATCH),
      );
      if (batch.length === 0) break;
      const ids = batch.map((r) => Number(r.id));
      const sampling = { ...ctx, sampleSize: Math.max(0, ctx.sampleSize - changes.length) };
      const shown = changes.length;
      const off = await reportedUpdate(sampling, {
        table: 'user',
        where: (qb) => qb.whereIn('id', ids),
        set: disableSet(ctx.trx, warning),
        columns: ['enable', 'warming', 'ban_times', 'score', 'node_group'],
      });
      disabled += off.count;
      changes.push(...off.changes);

      const losing: { id: unknown }[] = await ctx.trx('user').select('id').whereIn('id', ids).where('score', '<', KEEP_REFERRAL_MIN_SCORE).where('ref_by', '<>', 0);
      const losingIds = losing.map((r) => Number(r.id));
      await recoverInto(ctx, tally, losingIds, 'check: negative balance');
      if (losingIds.length > 0) {
        // Sampling as many as were just shown covers every shown user among them.
        const unlinked = await reportedUpdate(
          { ...ctx, sampleSize: changes.length - shown },
          { table: 'user', where: (qb) => qb.whereIn('id', losingIds), set: { ref_by: 0 }, columns: ['ref_by'] },
        );
        cleared += unlinked.count;
        mergeInto(changes, unlinked.changes);
      }
      last = ids[ids.length - 1]!;
    }
    return {
      count: disabled,
      counts: { disabled, 'ref_by cleared': cleared, 'rewards recovered': tally.count },
      changes: [...changes, ...tally.changes],
      notes: recoveryNotes(tally),
    };
  },
};

function disableSet(trx: Knex.Transaction, warning: string): Record<string, unknown> {
  return {
    enable: 0,
    warming: warning,
    ban_times: trx.raw('?? + ??', ['ban_times', 'class']),
    score: trx.raw('?? - 1', ['score']),
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
