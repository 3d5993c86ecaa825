import type { Knex } from 'knex';
import { reportedUpdate } from '../../runner/changes.js';
import type { Step, StepContext } from '../../runner/types.js';
import { INT_MAX, poisonRows, sumOverflowsBigint } from '../steps/poison.js';

const TEN_GIB = 10 * 1024 ** 3;
const TEN_DAYS = 10 * 86_400;

/**
 * SPEC §3 daily step 1: a paid user's traffic period renews. Upload accumulates (u = u + d) so
 * that u + d, the total the traffic caps compare, does not drop at renewal.
 * `u` is assigned before `d`: MySQL evaluates SET left to right with already-updated values and
 * SQLite with the old ones, and in this order both give u = old u + old d, d = 0.
 * NULL counters count as 0 and are never written back as NULL. A row whose new values the
 * columns cannot hold (u + d beyond BIGINT, a class so high that renew_time leaves INT) is
 * skipped and reported: one such row must not fail the renewal of everybody, every day.
 */
export const trafficRenewal: Step = {
  name: 'traffic-renewal',
  title: 'Traffic period renewal',
  async run(ctx) {
    const k = ctx.trx;
    const due = (qb: Knex.QueryBuilder) => qb.where('enable', '>', 0).where('class', '>', 0).where('renew_time', '<', ctx.clock.unix);
    const poison = poisonWhere(ctx);
    const skippedRows = await poisonRows(ctx, 'user', due, poison, (r) => reasonOf(ctx, r), ['class']);
    const out = await reportedUpdate(ctx, {
      table: 'user',
      where: (qb) => qb.where(due).whereNot(poison),
      set: {
        u: k.raw('COALESCE(??, 0) + COALESCE(??, 0)', ['u', 'd']),
        d: 0,
        transfer_limit: k.raw('?? * ?', ['class', TEN_GIB]),
        renew_time: k.raw('? + ?? * ?', [ctx.clock.unix, 'class', TEN_DAYS]),
      },
      columns: ['u', 'd', 'transfer_limit', 'renew_time'],
    });
    return skippedRows.length ? { ...out, skippedRows } : out;
  },
};

/** The highest class whose renew_time (now + class × 10 days) still fits the INT column. */
function maxClass(ctx: StepContext): number {
  return Math.floor((INT_MAX - ctx.clock.unix) / TEN_DAYS);
}

function poisonWhere(ctx: StepContext): (qb: Knex.QueryBuilder) => void {
  return (qb) => qb.where((any) => any.where(sumOverflowsBigint(ctx.trx, 'u', 'd')).orWhere('class', '>', maxClass(ctx)));
}

function reasonOf(ctx: StepContext, row: Record<string, unknown>): string {
  return Number(row.class) > maxClass(ctx)
    ? `class ${String(row.class)} would put renew_time beyond the INT column's range (highest class renewable now: ${maxClass(ctx)})`
    : 'u + d exceeds the BIGINT range: the renewal cannot add them';
}
