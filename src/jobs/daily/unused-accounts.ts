import { reportedUpdate } from '../../runner/changes.js';
import type { Step } from '../../runner/types.js';

/**
 * SPEC §3 daily step 4: a paid account without traffic for UNUSED_DISABLE_DAYS, registered more
 * than a calendar month ago (panel time), is disabled. The first ten ids and admins are exempt.
 */
export const unusedAccounts: Step = {
  name: 'unused-accounts',
  title: 'Unused paid accounts',
  run: (ctx) => {
    const days = ctx.settings.unusedDisableDays;
    return reportedUpdate(ctx, {
      table: 'user',
      where: (qb) =>
        qb
          .where('id', '>', 10)
          .where('is_admin', 0)
          .where('enable', 1)
          .where('class', '>', 0)
          .where('t', '<', ctx.clock.unix - days * 86_400)
          .where('reg_date', '<', ctx.clock.panelMonthsAgo(1)),
      set: { enable: 0, warming: `${ctx.clock.warningStamp()} no traffic for ${days} days: account disabled` },
      columns: ['enable', 'warming'],
    });
  },
};
