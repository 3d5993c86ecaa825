import { reportedUpdate } from '../../runner/changes.js';
import type { Step } from '../../runner/types.js';

const TWO_DAYS = 2 * 86_400;

/** SPEC §3 daily step 5: yesterday's figures of recently active paid users, for the panel's charts. */
export const dailyStatistics: Step = {
  name: 'daily-statistics',
  title: 'Daily statistics',
  run: (ctx) =>
    reportedUpdate(ctx, {
      table: 'user',
      where: (qb) => qb.where('enable', '>', 0).where('class', '>', 0).where('t', '>', ctx.clock.unix - TWO_DAYS),
      // Some panels declare the source columns NULLable; copying a NULL into the NOT NULL
      // targets would fail the whole daily job, every day.
      set: {
        last_day_t: ctx.trx.raw('COALESCE(??, 0)', ['d']),
        rss_count_lastday: ctx.trx.raw('COALESCE(??, 0)', ['rss_count']),
        rss_ips_lastday: ctx.trx.raw('COALESCE(??, 0)', ['rss_ips_count']),
      },
      columns: ['last_day_t', 'rss_count_lastday', 'rss_ips_lastday'],
    }),
};
