import type { Money } from '../ledger/money.js';

/** What `payment confirm` was asked to do, and what its steps learned, in step order. */
export interface ConfirmState {
  orderId: number;
  tradeno: string | null;
  allowExpired: boolean;
  /** Set by mark-paid: the order, when this run is the one that marked it paid. */
  won: { payerId: number; total: Money } | null;
  /** Set by credit-payer: whom the commission walk starts from. */
  payer: { id: number; refBy: number } | null;
}

export function newConfirmState(orderId: number, opts: { tradeno?: string | null; allowExpired?: boolean }): ConfirmState {
  return { orderId, tradeno: opts.tradeno ?? null, allowExpired: Boolean(opts.allowExpired), won: null, payer: null };
}

/** paylist.status values (SPEC §2). */
export const ORDER_UNPAID = 0;
export const ORDER_PAID = 1;
export const ORDER_EXPIRED = -1;

/** The ledger reference of everything an order moves. */
export const orderReference = (orderId: number): string => `paylist:${orderId}`;
