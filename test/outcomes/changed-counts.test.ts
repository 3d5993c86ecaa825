import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadSettings } from '../../src/config/load.js';
import { dailyStatistics } from '../../src/jobs/daily/daily-statistics.js';
import { trafficRenewal } from '../../src/jobs/daily/traffic-renewal.js';
import { negativeBalance } from '../../src/jobs/check/negative-balance.js';
import { runCommand } from '../../src/runner/run.js';
import type { Step } from '../../src/runner/types.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';
import { dump, insertUser } from '../helpers/fixtures.js';

/**
 * SPEC §5: counts are rows whose values changed, never rows merely matched. MySQL's client
 * (FOUND_ROWS) and SQLite's changes() both count matched rows; a row an UPDATE leaves as it was
 * must count for nothing and never appear in the samples as "unchanged".
 */
const NOW = new Date('2026-11-24T18:00:00Z');
const T = NOW.getTime() / 1000;

describe.each(DIALECTS)('changed, not matched, rows on %s', (dialect) => {
  const t = useTestDatabase(dialect);
  const run = (steps: Step[], dryRun = false) => {
    const settings = loadSettings({ env: { DATABASE_URL: t.url }, cwd: '/' }).settings;
    return runCommand({ command: 'test counts', lockName: null, steps }, { settings, log: pino({ level: 'silent' }), database: t.db }, { dryRun, force: false, now: NOW, operator: 'tester' });
  };
  afterEach(async () => {
    await t.knex('user').del();
  });

  it('daily statistics: users whose figures are already copied are not counted or listed', async () => {
    const same = { class: 1, t: T, d: 9, rss_count: 2, rss_ips_count: 1, last_day_t: 9, rss_count_lastday: 2, rss_ips_lastday: 1 };
    for (let i = 0; i < 3; i++) await insertUser(t.knex, same);
    const moved = await insertUser(t.knex, { ...same, rss_count: 5 });
    for (const dryRun of [true, false]) {
      const r = await run([dailyStatistics], dryRun);
      expect(r.exitCode).toBe(0);
      expect(r.steps[0]!.count).toBe(1);
      expect(r.steps[0]!.changes.map((c) => [c.id, c.before, c.after])).toEqual([[moved, { rss_count_lastday: 2 }, { rss_count_lastday: 5 }]]);
    }
    // Run again: everything is up to date, nothing changes and nothing is reported.
    const again = await run([dailyStatistics]);
    expect(again.steps[0]!.count).toBe(0);
    expect(again.steps[0]!.changes).toEqual([]);
  });

  it('daily statistics: a NULL source against a 0 copy is no change; 0 against NULL-coalesced 0 neither', async () => {
    await insertUser(t.knex, { class: 1, t: T, d: 0, last_day_t: 0 });
    const r = await run([dailyStatistics]);
    expect(r.steps[0]!.count).toBe(0);
  });

  it('traffic renewal counts a due account even when only renew_time moves', async () => {
    const due = await insertUser(t.knex, { class: 1, renew_time: T - 1, u: 3, d: 0, transfer_limit: 10 * 1024 ** 3 });
    const r = await run([trafficRenewal]);
    expect(r.steps[0]!.count).toBe(1);
    expect(r.steps[0]!.changes.map((c) => [c.id, Object.keys(c.after ?? {})])).toEqual([[due, ['renew_time']]]);
  });

  it('the run history and totals use the changed counts', async () => {
    const same = { class: 1, t: T, d: 9, last_day_t: 9 };
    await insertUser(t.knex, same);
    await insertUser(t.knex, { ...same, d: 10 });
    const r = await run([dailyStatistics]);
    const row = await t.knex('spanel_run').where('id', r.runId!).first();
    expect(JSON.parse(row.steps)).toMatchObject([{ name: 'daily-statistics', count: 1 }]);
  });

  it('negative balance: every disabled user is counted once, and only the changed columns are listed', async () => {
    const a = await insertUser(t.knex, { money: '-1.00', class: 0, node_group: 1, score: 100 });
    const before = await dump(t.knex, 'user');
    const r = await run([negativeBalance]);
    expect(r.steps[0]!.count).toBe(1);
    const change = r.steps[0]!.changes.find((c) => c.id === a)!;
    // class 0 adds nothing to ban_times and node_group 1 stays: neither is listed as changed.
    expect(Object.keys(change.after ?? {}).sort()).toEqual(['enable', 'score', 'warming']);
    expect(before).toHaveLength(1);
  });
});
