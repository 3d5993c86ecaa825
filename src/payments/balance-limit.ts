import { OperationError } from '../errors.js';
import { formatMoney, money, type Money } from '../ledger/money.js';

/** The largest value user.money, a DECIMAL(12,2), can hold. */
export const MAX_BALANCE = money('9999999999.99');
/** The smallest: a recovery that would go below it is skipped, not attempted. */
export const MIN_BALANCE = MAX_BALANCE.negated();

/**
 * Refuses a credit whose result the money column cannot hold. In strict sql_mode MySQL would
 * fail with a bare "out of range" error; in non-strict mode it silently clamps the balance to the
 * maximum while the ledger records the unclamped after; SQLite stores it regardless. Checked
 * from the locked row before the UPDATE, so the whole confirmation rolls back instead.
 */
export function assertBalanceFits(orderId: number, userId: number, before: Money, amount: Money, what: 'payment' | 'commission'): void {
  if (before.plus(amount).lte(MAX_BALANCE)) return;
  throw new OperationError(
    `order #${orderId}: user #${userId}'s balance would exceed the money column's maximum of ${formatMoney(MAX_BALANCE)} ` +
      `(${formatMoney(before)} + ${what} ${formatMoney(amount)}): nothing was changed`,
  );
}

/**
 * SQL for `money + amount`, rounded to cents. The cast keeps MySQL in DECIMAL (a bare string
 * binding would make it add in DOUBLE); ROUND keeps SQLite, whose decimal column is a float, from
 * storing binary drift such as 0.30000000000000004. On a MySQL DECIMAL it changes nothing.
 */
export const addMoneySql = 'ROUND(?? + CAST(? AS DECIMAL(12,2)), 2)';
