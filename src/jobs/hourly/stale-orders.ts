import { reportedUpdate } from '../../runner/changes.js';
import type { Step } from '../../runner/types.js';

/**
 * SPEC §3 hourly step 2: an order left unpaid for UNPAID_ORDER_TIMEOUT is marked expired (−1),
 * never deleted, so that a payment arriving late can still be confirmed.
 */
export const staleOrders: Step = {
  name: 'stale-orders',
  title: 'Stale unpaid orders',
  run: (ctx) =>
    reportedUpdate(ctx, {
      table: 'paylist',
      where: (qb) => qb.where('status', 0).where('datetime', '<', ctx.clock.unix - ctx.settings.unpaidOrderTimeout),
      set: { status: -1 },
      columns: ['status'],
    }),
};
