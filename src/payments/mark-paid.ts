import { OperationError } from '../errors.js';
import { formatMoney, money, type Money } from '../ledger/money.js';
import type { RowChange, Step, StepContext, StepOutcome } from '../runner/types.js';
import { ORDER_EXPIRED, ORDER_PAID, ORDER_UNPAID, type ConfirmState } from './state.js';

/**
 * SPEC §4 step 1–2: check the order, then mark it paid with a conditional UPDATE. Of any number
 * of concurrent confirmations exactly one UPDATE matches; the others wait on its row lock,
 * re-evaluate the condition on the committed row, change nothing and report "already paid".
 */
export function markPaid(state: ConfirmState): Step {
  return {
    name: 'mark-paid',
    title: 'Mark the order paid',
    async run(ctx) {
      const id = state.orderId;
      const order = await readOrder(ctx, id, false);
      if (!order) throw new OperationError(`order #${id} does not exist (no paylist row with this id): nothing changed`);
      assertPositiveTotal(id, money(order.total));
      if (order.status === ORDER_PAID) return alreadyPaid(id, 'already paid');
      assertConfirmable(id, order.status, state.allowExpired);

      const from = state.allowExpired ? [ORDER_UNPAID, ORDER_EXPIRED] : [ORDER_UNPAID];
      const set: Record<string, unknown> = { status: ORDER_PAID, ...(state.tradeno !== null ? { tradeno: state.tradeno } : {}) };
      const affected = await ctx.trx('paylist').where('id', id).whereIn('status', from).update(set);
      if (affected === 0) {
        // Lost the race: read the row as committed by whoever changed it meanwhile.
        const now = await readOrder(ctx, id, true);
        if (now?.status === ORDER_PAID) return alreadyPaid(id, 'already paid (confirmed by another run a moment ago)');
        assertConfirmable(id, now?.status ?? Number.NaN, state.allowExpired);
        throw new OperationError(`order #${id} changed while it was being confirmed: nothing changed, try again`);
      }

      // We hold the row's lock now: take payer and amount from the version we just updated, and
      // check the amount again, since the first read was unlocked and the total may have changed
      // since (throwing rolls back the status change).
      const paid = (await readOrder(ctx, id, true))!;
      const total = money(paid.total);
      assertPositiveTotal(id, total);
      state.won = { payerId: paid.userid, total };
      const change: RowChange = {
        table: 'paylist',
        id,
        action: 'update',
        before: { status: order.status, ...(state.tradeno !== null ? { tradeno: order.tradeno } : {}) },
        after: set,
      };
      const how = order.status === ORDER_EXPIRED ? ' (was expired, --allow-expired)' : '';
      return {
        count: 1,
        changes: [change],
        notes: [`order #${id}: ${formatMoney(total)} for user #${paid.userid}, marked paid${how}${state.tradeno !== null ? `, tradeno ${state.tradeno}` : ''}`],
        data: { order: id, status: 'confirmed', total: formatMoney(total), payer: Number(paid.userid), previousStatus: order.status, tradeno: state.tradeno },
      };
    },
  };
}

interface Order {
  userid: number;
  total: string;
  status: number;
  tradeno: string | null;
}

async function readOrder(ctx: StepContext, id: number, lock: boolean): Promise<Order | null> {
  const qb = ctx.trx('paylist').select('userid', 'total', 'status', 'tradeno').where('id', id);
  const rows: Record<string, unknown>[] = await (lock ? ctx.dialect.forUpdate(qb) : qb);
  const r = rows[0];
  if (!r) return null;
  return { userid: Number(r.userid), total: String(r.total), status: Number(r.status), tradeno: (r.tradeno as string | null) ?? null };
}

function assertPositiveTotal(id: number, total: Money): void {
  if (total.lte(0)) {
    throw new OperationError(`order #${id} has total ${formatMoney(total)}: only an order with a positive total can be confirmed`);
  }
}

function assertConfirmable(id: number, status: number, allowExpired: boolean): void {
  if (status === ORDER_UNPAID || (status === ORDER_EXPIRED && allowExpired)) return;
  if (status === ORDER_EXPIRED) {
    throw new OperationError(`order #${id} has expired (status -1): if its payment really arrived, confirm it with --allow-expired`);
  }
  throw new OperationError(`order #${id} has status ${status}, neither unpaid (0) nor expired (-1): not confirmed`);
}

function alreadyPaid(id: number, what: string): StepOutcome {
  return { count: 0, changes: [], notes: [`order #${id} is ${what}: nothing to do`], data: { order: id, status: 'already_paid' } };
}
