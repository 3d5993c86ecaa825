import { reportedUpdate } from '../../runner/changes.js';
import type { Step } from '../../runner/types.js';

const TEN_GIB = 10 * 1024 ** 3;
const TEN_DAYS = 10 * 86_400;

/**
 * SPEC §3 daily step 1: a paid user's traffic period renews. Upload accumulates (u = u + d) so
 * that u + d, the total the traffic caps compare, does not drop at renewal.
 * `u` is assigned before `d`: MySQL evaluates SET left to right with already-updated values and
 * SQLite with the old ones, and in this order both give u = old u + old d, d = 0.
 */
export const trafficRenewal: Step = {
  name: 'traffic-renewal',
  title: 'Traffic period renewal',
  run: (ctx) =>
    reportedUpdate(ctx, {
      table: 'user',
      where: (qb) => qb.where('enable', '>', 0).where('class', '>', 0).where('renew_time', '<', ctx.clock.unix),
      set: {
        u: ctx.trx.raw('?? + ??', ['u', 'd']),
        d: 0,
        transfer_limit: ctx.trx.raw('?? * ?', ['class', TEN_GIB]),
        renew_time: ctx.trx.raw('? + ?? * ?', [ctx.clock.unix, 'class', TEN_DAYS]),
      },
      columns: ['u', 'd', 'transfer_limit', 'renew_time'],
    }),
};
