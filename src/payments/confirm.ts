import type { TransactionSpec } from '../runner/types.js';
import { payCommission } from './commission.js';
import { creditPayer } from './credit-payer.js';
import { markPaid } from './mark-paid.js';
import { newConfirmState } from './state.js';
import { recordTopUp } from './top-up-record.js';

/** Tables a confirmation changes; `code` only when the panel has it. */
export const CONFIRM_WRITES = ['paylist', 'user', 'payback', 'code'];

/**
 * `spanel payment confirm`: four steps in one transaction. No overlap lock: the conditional
 * UPDATE of the order decides the single winner among concurrent confirmations, and
 * confirmations of different orders must not wait for each other.
 */
export function confirmSpec(orderId: number, opts: { tradeno?: string | null; allowExpired?: boolean }): TransactionSpec {
  const state = newConfirmState(orderId, opts);
  return {
    command: 'payment confirm',
    lockName: null,
    writes: CONFIRM_WRITES,
    steps: [markPaid(state), creditPayer(state), payCommission(state), recordTopUp(state)],
    // A deadlock retry starts from nothing: what an earlier attempt learned was rolled back.
    reset: () => void Object.assign(state, newConfirmState(orderId, opts)),
    args: { order: orderId, tradeno: state.tradeno, allowExpired: state.allowExpired },
  };
}
