import { reportedDelete } from '../../runner/changes.js';
import type { RowChange, Step } from '../../runner/types.js';

/** SPEC §3 check step 1: how long each IP/session table keeps a row (by its Unix `datetime`). */
export const IP_RECORD_MAX_AGE: Readonly<Record<string, number>> = {
  alive_ip: 300,
  unblockip: 300,
  blockip: 86_400,
  telegram_session: 3_600,
};

export const ipRecords: Step = {
  name: 'ip-records',
  title: 'IP records',
  async run(ctx) {
    const tables = Object.keys(IP_RECORD_MAX_AGE);
    const present = ctx.tables;
    const counts: Record<string, number> = {};
    const changes: RowChange[] = [];
    for (const table of tables.filter((t) => present.has(t))) {
      const cutoff = ctx.clock.unix - IP_RECORD_MAX_AGE[table]!;
      const r = await reportedDelete(ctx, { table, where: (qb) => qb.where('datetime', '<', cutoff), columns: ['datetime'] });
      counts[table] = r.count;
      changes.push(...r.changes);
    }
    const skipped = tables.filter((t) => !present.has(t));
    return { count: Object.values(counts).reduce((a, b) => a + b, 0), counts, changes, ...(skipped.length ? { skipped } : {}) };
  },
};
