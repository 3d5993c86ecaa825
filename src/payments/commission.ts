import { recordMoneyChanges, type MoneyChange } from '../ledger/ledger.js';
import { cents, formatMoney, money, type Money } from '../ledger/money.js';
import type { RowChange, Step, StepContext } from '../runner/types.js';
import { addMoneySql, assertBalanceFits } from './balance-limit.js';
import { orderReference, type ConfirmState } from './state.js';

/** One level of the referral walk, as reported (notes and --json). */
export interface LevelReport {
  level: number;
  referrer: number;
  outcome: 'paid' | 'skipped' | 'stopped';
  reason?: string;
  commission?: string;
  before?: string;
  after?: string;
}

/**
 * SPEC §4 step 4: walk up the ref_by chain from the payer, at most PAYBACK_COUNT levels. Each
 * enabled referrer gets total × PAYBACK_MONEY (half-to-even cents) and a payback row tied to the
 * order; the unique key (paylist_id, ref_by) makes a second payout for the same order impossible
 * even if the status check were bypassed. A disabled referrer uses up its level but the walk
 * continues past it; a missing referrer or a user already visited (a cycle) ends the walk.
 */
export function payCommission(state: ConfirmState): Step {
  return {
    name: 'commission',
    title: 'Referral commission',
    async run(ctx) {
      if (!state.won || !state.payer) return { count: 0, changes: [], notes: ['skipped: this run did not mark the order paid'] };
      const { enablePayback, paybackCount, paybackMoney } = ctx.settings;
      if (!enablePayback) return nothing('commission is disabled (ENABLE_PAYBACK=false)');
      if (paybackCount === 0) return nothing('no levels are paid (PAYBACK_COUNT=0)');

      const commission = cents(state.won.total.times(paybackMoney));
      const alreadyPaid = await paidReferrers(ctx, state.orderId);
      const levels: LevelReport[] = [];
      const ledger: MoneyChange[] = [];
      const changes: RowChange[] = [];
      const visited = new Set<number>([state.payer.id]);
      let next = state.payer.refBy;

      for (let level = 1; level <= paybackCount && next !== 0; level++) {
        const referrer = next;
        if (visited.has(referrer)) {
          levels.push({ level, referrer, outcome: 'stopped', reason: `user #${referrer} was already visited (a referral cycle)` });
          break;
        }
        visited.add(referrer);
        const row = await lockUser(ctx, referrer);
        if (!row) {
          levels.push({ level, referrer, outcome: 'stopped', reason: `referrer #${referrer} no longer exists` });
          break;
        }
        next = row.refBy;
        const skip =
          row.enable === 0 ? 'disabled (enable=0)'
          : commission.isZero() ? `commission ${formatMoney(state.won.total)} × ${paybackMoney} rounds to 0.00`
          : alreadyPaid.has(referrer) ? `already received commission for order #${state.orderId}`
          : null;
        if (skip) {
          levels.push({ level, referrer, outcome: 'skipped', reason: skip });
          continue;
        }
        assertBalanceFits(state.orderId, referrer, row.money, commission, 'commission');
        const after = row.money.plus(commission);
        await pay(ctx, state, referrer, commission);
        ledger.push({ userId: referrer, before: row.money, after, reason: 'commission', reference: orderReference(state.orderId) });
        levels.push({ level, referrer, outcome: 'paid', commission: formatMoney(commission), before: formatMoney(row.money), after: formatMoney(after) });
        changes.push({ table: 'user', id: referrer, action: 'update', before: { money: formatMoney(row.money) }, after: { money: formatMoney(after) } });
      }
      await recordMoneyChanges(ctx, ledger);
      changes.push(...(await insertedRows(ctx, state.orderId, ledger.map((l) => l.userId))));

      const paid = ledger.length;
      return {
        count: paid * 2,
        counts: { user: paid, payback: paid },
        changes: changes.slice(0, ctx.sampleSize * 2),
        notes: levels.length ? levels.map(describe) : [`user #${state.payer.id} has no referrer`],
        data: { rate: paybackMoney, commission: formatMoney(commission), levels },
      };
    },
  };
}

/**
 * Referrers an earlier confirmation of this order already paid (the order was reset by hand).
 * A plain read on purpose: this run holds the order's row lock, so no other run can be adding
 * rows for it, and a locking read would take gap locks on the unique index that make
 * confirmations of different orders deadlock on each other's inserts.
 */
async function paidReferrers(ctx: StepContext, orderId: number): Promise<Set<number>> {
  const rows: { ref_by: number | string }[] = await ctx.trx('payback').select('ref_by').where('paylist_id', orderId);
  return new Set(rows.map((r) => Number(r.ref_by)));
}

async function lockUser(ctx: StepContext, id: number): Promise<{ money: Money; enable: number; refBy: number } | null> {
  const rows: Record<string, unknown>[] = await ctx.dialect.forUpdate(ctx.trx('user').select('money', 'enable', 'ref_by').where('id', id));
  const r = rows[0];
  return r ? { money: money(r.money as string), enable: Number(r.enable), refBy: Number(r.ref_by ?? 0) } : null;
}

async function pay(ctx: StepContext, state: ConfirmState, referrer: number, commission: Money): Promise<void> {
  await ctx.trx('user').where('id', referrer).update({ money: ctx.trx.raw(addMoneySql, ['money', formatMoney(commission)]) });
  await ctx.trx('payback').insert({
    total: formatMoney(state.won!.total),
    userid: state.payer!.id,
    ref_by: referrer,
    ref_get: formatMoney(commission),
    datetime: ctx.clock.unix,
    callback: 0,
    paylist_id: state.orderId,
  });
}

/** The payback rows this run inserted, found by the order's unique key. */
async function insertedRows(ctx: StepContext, orderId: number, referrers: number[]): Promise<RowChange[]> {
  if (referrers.length === 0) return [];
  const rows: Record<string, unknown>[] = await ctx
    .trx('payback')
    .select('id', 'total', 'userid', 'ref_by', 'ref_get', 'datetime', 'callback')
    .where('paylist_id', orderId)
    .whereIn('ref_by', referrers)
    .orderBy('id');
  return rows.map((r) => ({
    table: 'payback',
    id: Number(r.id),
    action: 'insert',
    after: {
      total: formatMoney(r.total as string),
      userid: Number(r.userid),
      ref_by: Number(r.ref_by),
      ref_get: formatMoney(r.ref_get as string),
      datetime: Number(r.datetime),
      callback: Number(r.callback),
      paylist_id: orderId,
    },
  }));
}

function describe(l: LevelReport): string {
  if (l.outcome === 'paid') return `level ${l.level}: user #${l.referrer} paid ${l.commission} (balance ${l.before} → ${l.after})`;
  if (l.outcome === 'skipped') return `level ${l.level}: user #${l.referrer} skipped: ${l.reason}`;
  return `level ${l.level}: walk stopped: ${l.reason}`;
}

function nothing(why: string) {
  return { count: 0, changes: [], notes: [why], data: { levels: [] } };
}
