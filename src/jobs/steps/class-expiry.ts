import { reportedUpdate } from '../../runner/changes.js';
import type { Step } from '../../runner/types.js';

/**
 * SPEC §3 daily step 6 and check step 2: a plan whose class_expire (panel-local DATETIME) has
 * passed ends. "Now" is rendered in the panel's zone so the host's zone cannot shift it.
 */
export const classExpiry: Step = {
  name: 'class-expiry',
  title: 'Class expiry',
  run: (ctx) =>
    reportedUpdate(ctx, {
      table: 'user',
      where: (qb) => qb.where('class', '>', 0).where('class_expire', '<', ctx.clock.panelLocal()),
      set: { class: 0 },
      columns: ['class'],
    }),
};
