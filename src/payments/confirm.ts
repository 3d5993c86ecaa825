import type { TransactionSpec } from '../runner/types.js';
import { payCommission } from './commission.js';
import { creditPayer } from './credit-payer.js';
import { markPaid } from './mark-paid.js';
import { newConfirmState } from './state.js';

/**
 * `spanel payment confirm`: three steps in one transaction. No overlap lock: the conditional
 * UPDATE of the order decides the single winner among concurrent confirmations, and
 * confirmations of different orders must not wait for each other.
 */
export function confirmSpec(orderId: number, opts: { tradeno?: string | null; allowExpired?: boolean }): TransactionSpec {
  const state = newConfirmState(orderId, opts);
  return {
    command: 'payment confirm',
    lockName: null,
    steps: [markPaid(state), creditPayer(state), payCommission(state)],
    // A deadlock retry starts from nothing: what an earlier attempt learned was rolled back.
    reset: () => void Object.assign(state, newConfirmState(orderId, opts)),
    args: { order: orderId, tradeno: state.tradeno, allowExpired: state.allowExpired },
  };
}
