import type { Step, TransactionSpec } from '../runner/types.js';
import { CALLBACK_REFERRER_GONE, REWARD, recoverRegistrationRewards } from './recover-rewards.js';

/**
 * `spanel referral recover <user>`. No overlap lock: the reward rows are locked and re-checked
 * by recoverRegistrationRewards, so a concurrent second recovery of the same user waits, then
 * finds it recovered and exits 0 saying so (a named lock would make it exit 75 "skipped"
 * instead, and would not cover the check job, which recovers rewards without it).
 */
export function recoverSpec(userId: number): TransactionSpec {
  return { command: 'referral recover', lockName: null, writes: ['user', 'payback'], steps: [recoverStep(userId)], args: { user: userId } };
}

function recoverStep(userId: number): Step {
  return {
    name: 'recover',
    title: 'Recover the registration reward',
    async run(ctx) {
      const r = await recoverRegistrationRewards(ctx, [userId], { reason: 'referral_recover' });
      const skippedRows = r.skippedRows.length ? { skippedRows: r.skippedRows } : {};
      if (r.count === 0 && r.skippedRows.length > 0) {
        return { count: 0, changes: [], notes: r.skippedRows.map((s) => `payback #${s.id} not recovered: ${s.reason}`), ...skippedRows, data: { user: userId, status: 'skipped', recovered: 0, vanished: 0 } };
      }
      if (r.count > 0) {
        // Rewards whose referrer is gone are only marked callback 3: "recovered" only when money came back.
        const status = r.recovered > 0 ? 'recovered' : 'referrer_gone';
        return { count: r.count, changes: r.changes, notes: r.notes, ...skippedRows, data: { user: userId, status, recovered: r.recovered, vanished: r.vanished } };
      }
      const status = await whyNothing(ctx, userId);
      const note =
        status === 'no_reward' ? `user #${userId} has no registration reward: nothing to recover`
        : status === 'referrer_gone' ? `user #${userId}'s referrer no longer exists (already marked callback 3): nothing to recover`
        : `user #${userId}'s registration reward was already recovered: nothing to do`;
      return { count: 0, changes: [], notes: [note], data: { user: userId, status, recovered: 0, vanished: 0 } };
    },
  };
}

async function whyNothing(ctx: Parameters<Step['run']>[0], userId: number): Promise<'no_reward' | 'already_recovered' | 'referrer_gone'> {
  const rows: { callback: number | string }[] = await ctx.trx('payback').select('callback').where({ total: REWARD, userid: userId });
  if (rows.length === 0) return 'no_reward';
  return rows.every((r) => Number(r.callback) === CALLBACK_REFERRER_GONE) ? 'referrer_gone' : 'already_recovered';
}
