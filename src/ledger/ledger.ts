import type { Decimal } from 'decimal.js';
import type { StepContext } from '../runner/types.js';
import { formatMoney, money } from './money.js';

export const LEDGER_TABLE = 'spanel_money_ledger';

/** Why a balance changed; free text in the table, these are the values spanel writes. */
export type LedgerReason = 'payment' | 'commission' | 'referral_recover' | (string & {});

/** One balance change of one user. `delta` is derived: after − before. */
export interface MoneyChange {
  userId: number;
  before: Decimal.Value;
  after: Decimal.Value;
  reason: LedgerReason;
  /** What caused it: 'paylist:<id>' for an order, 'payback:<id>' for a reward row. */
  reference: string | null;
}

/** Rows per INSERT: well under SQLite's bound-parameter limit at 9 columns a row. */
const INSERT_CHUNK = 500;

/**
 * Writes ledger rows in the command's transaction, so they commit or roll back with the
 * balance change they explain (a dry run writes them and rolls them back like everything else).
 * One multi-row INSERT per chunk, never a statement per row.
 */
export async function recordMoneyChanges(ctx: StepContext, changes: readonly MoneyChange[]): Promise<void> {
  for (let i = 0; i < changes.length; i += INSERT_CHUNK) {
    const rows = changes.slice(i, i + INSERT_CHUNK).map((c) => ledgerRow(ctx, c));
    await ctx.trx(LEDGER_TABLE).insert(rows);
  }
}

/** The row-wise form, for commands that change a handful of balances one at a time. */
export async function recordMoneyChange(ctx: StepContext, change: MoneyChange): Promise<void> {
  await recordMoneyChanges(ctx, [change]);
}

export function ledgerRow(ctx: Pick<StepContext, 'runId' | 'operator' | 'clock'>, c: MoneyChange): Record<string, unknown> {
  const before = money(c.before);
  const after = money(c.after);
  return {
    user_id: c.userId,
    amount_before: formatMoney(before),
    amount_after: formatMoney(after),
    delta: formatMoney(after.minus(before)),
    reason: c.reason,
    reference: c.reference,
    run_id: ctx.runId,
    operator: ctx.operator.slice(0, 64),
    // The time acted as (--now) and the time it was really written, for audits of replayed runs.
    created_at: ctx.clock.unix,
    recorded_at: Math.floor(Date.now() / 1000),
  };
}
