import { OperationError } from '../errors.js';
import { recordMoneyChange } from '../ledger/ledger.js';
import { formatMoney, money } from '../ledger/money.js';
import type { Step } from '../runner/types.js';
import { orderReference, type ConfirmState } from './state.js';

/** SPEC §4 step 3: the payer's balance += total; a payer that is gone aborts the whole confirmation. */
export function creditPayer(state: ConfirmState): Step {
  return {
    name: 'credit-payer',
    title: 'Credit the payer',
    async run(ctx) {
      if (!state.won) return { count: 0, changes: [], notes: ['skipped: this run did not mark the order paid'] };
      const { payerId, total } = state.won;
      const rows: Record<string, unknown>[] = await ctx.dialect.forUpdate(
        ctx.trx('user').select('id', 'money', 'ref_by').where('id', payerId),
      );
      const row = rows[0];
      if (!row) {
        throw new OperationError(`the payer of order #${state.orderId}, user #${payerId}, no longer exists: nothing was confirmed (rolled back)`);
      }
      const before = money(row.money as string);
      const after = before.plus(total);
      // A bare string binding would make MySQL add in DOUBLE; cast it to the column's exact type.
      await ctx.trx('user').where('id', payerId).update({ money: ctx.trx.raw('?? + CAST(? AS DECIMAL(12,2))', ['money', formatMoney(total)]) });
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
