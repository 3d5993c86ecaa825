import { OperationError } from '../errors.js';
import { recordMoneyChange } from '../ledger/ledger.js';
import { formatMoney, money } from '../ledger/money.js';
import type { Step, StepContext } from '../runner/types.js';
import { addMoneySql, assertBalanceFits } from './balance-limit.js';
import { orderReference, type ConfirmState } from './state.js';

/** SPEC §4 step 3: the payer's balance += total; a payer that is gone aborts the whole confirmation. */
export function creditPayer(state: ConfirmState): Step {
  return {
    name: 'credit-payer',
    title: 'Credit the payer',
    async run(ctx) {
      if (!state.won) return { count: 0, changes: [], notes: ['skipped: this run did not mark the order paid'] };
      const { payerId, total } = state.won;
      await lockInIdOrder(ctx, await commissionChain(ctx, payerId));
      const rows: Record<string, unknown>[] = await ctx.dialect.forUpdate(
        ctx.trx('user').select('id', 'money', 'ref_by').where('id', payerId),
      );
      const row = rows[0];
      if (!row) {
        throw new OperationError(`the payer of order #${state.orderId}, user #${payerId}, no longer exists: nothing was confirmed (rolled back)`);
      }
      const before = money(row.money as string);
      assertBalanceFits(state.orderId, payerId, before, total, 'payment');
      const after = before.plus(total);
      await ctx.trx('user').where('id', payerId).update({ money: ctx.trx.raw(addMoneySql, ['money', formatMoney(total)]) });
      await recordMoneyChange(ctx, { userId: payerId, before, after, reason: 'payment', reference: orderReference(state.orderId) });
      state.payer = { id: payerId, refBy: Number(row.ref_by ?? 0) };
      return {
        count: 1,
        changes: [{ table: 'user', id: payerId, action: 'update', before: { money: formatMoney(before) }, after: { money: formatMoney(after) } }],
        notes: [`user #${payerId} balance ${formatMoney(before)} → ${formatMoney(after)}`],
        data: { payer: payerId, before: formatMoney(before), after: formatMoney(after) },
      };
    },
  };
}

/**
 * The payer and the referrers the commission walk is about to visit, read without locks. The
 * walk itself locks each of them; taking those locks here first, in one statement in id order,
 * means two confirmations whose chains cross (A refers B and B refers A, or a referrer that pays
 * and is paid) queue behind each other instead of deadlocking, as do the check job and
 * `referral recover`, which lock users in id order too. A chain that changes between this read
 * and the walk only costs an out-of-order lock, which the runner's deadlock retry covers.
 */
async function commissionChain(ctx: StepContext, payerId: number): Promise<number[]> {
  const ids = [payerId];
  const levels = ctx.settings.enablePayback ? ctx.settings.paybackCount : 0;
  for (let next = payerId; ids.length <= levels; ) {
    const row: { ref_by?: unknown } | undefined = await ctx.trx('user').select('ref_by').where('id', next).first();
    next = Number(row?.ref_by ?? 0);
    if (!next || ids.includes(next)) break;
    ids.push(next);
  }
  return ids;
}

async function lockInIdOrder(ctx: StepContext, ids: number[]): Promise<void> {
  await ctx.dialect.forUpdate(ctx.trx('user').select('id').whereIn('id', ids).orderBy('id', 'asc'));
}
