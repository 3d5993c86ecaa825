import { recordMoneyChange } from '../ledger/ledger.js';
import { formatMoney, money } from '../ledger/money.js';
import { CALLBACK_RECOVERED, RECOVERED } from '../referrals/recover-rewards.js';
import type { RowChange, StepContext, StepOutcome } from '../runner/types.js';
import { recoveriesAtDeletion } from './restore.js';

/**
 * `user restore --with-reward`: undoes each recovery the deleting run made of this user's
 * registration reward, as the recovery did it but backwards: the referrer gets ref_get back
 * (ledger reason "restore_reward") and the ban it cost, the −2 row that proved the recovery is
 * deleted and the reward is open again (callback 0), so a later deletion can recover it again.
 */
export async function takeBackRecoveries(ctx: StepContext, userId: number, deletingRun: number | null): Promise<StepOutcome> {
  const found = deletingRun === null ? [] : await recoveriesAtDeletion(ctx, userId, deletingRun);
  const changes: RowChange[] = [];
  const notes: string[] = [];
  let users = 0;
  let paybacks = 0;
  for (const rec of found) {
    const [reward] = await ctx.dialect.forUpdate(ctx.trx('payback').select('id', 'ref_by', 'ref_get', 'callback').where('id', rec.rewardId));
    if (!reward || Number(reward.callback) !== CALLBACK_RECOVERED) {
      notes.push(`payback #${rec.rewardId} is no longer marked recovered: left as it is`);
      continue;
    }
    const [referrer] = await ctx.dialect.forUpdate(ctx.trx('user').select('id', 'money', 'ban_times').where('id', rec.referrer));
    if (!referrer) {
      notes.push(`referrer #${rec.referrer} of payback #${rec.rewardId} no longer exists: nothing given back`);
      continue;
    }
    const amount = money(reward.ref_get as string);
    const before = money(referrer.money as string);
    const after = before.plus(amount);
    const bans = Math.max(0, Number(referrer.ban_times ?? 0) - 1);
    await ctx.trx('user').where('id', rec.referrer).update({ money: formatMoney(after), ban_times: bans });
    await recordMoneyChange(ctx, { userId: rec.referrer, before, after, reason: 'restore_reward', reference: `payback:${rec.rewardId}` });
    const proof: Record<string, unknown> | undefined = await ctx
      .trx('payback')
      .where({ total: RECOVERED, userid: userId, ref_by: rec.referrer })
      .orderBy('id', 'desc')
      .first();
    if (proof) {
      await ctx.trx('payback').where('id', proof.id as number).del();
      changes.push({ table: 'payback', id: Number(proof.id), action: 'delete', before: { total: formatMoney(RECOVERED), ref_get: formatMoney(money(proof.ref_get as string)) } });
      paybacks++;
    }
    await ctx.trx('payback').where('id', rec.rewardId).update({ callback: 0 });
    paybacks++;
    users++;
    changes.push(
      { table: 'payback', id: rec.rewardId, action: 'update', before: { callback: CALLBACK_RECOVERED }, after: { callback: 0 } },
      { table: 'user', id: rec.referrer, action: 'update', before: { money: formatMoney(before), ban_times: Number(referrer.ban_times ?? 0) }, after: { money: formatMoney(after), ban_times: bans } },
    );
    notes.push(`referrer #${rec.referrer} gets the reward ${formatMoney(amount)} back (balance ${formatMoney(before)} → ${formatMoney(after)}, payback #${rec.rewardId} open again)`);
  }
  if (found.length === 0) notes.push(`no registration reward of user #${userId} was recovered when it was deleted: nothing to take back`);
  return { count: users + paybacks, counts: { user: users, payback: paybacks }, changes, notes, data: { recoveredAtDeletion: found.length, takenBack: users } };
}
