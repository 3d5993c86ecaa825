import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadSettings } from '../../src/config/load.js';
import { classExpiry } from '../../src/jobs/steps/class-expiry.js';
import { dailyStatistics } from '../../src/jobs/daily/daily-statistics.js';
import { nodeHeartbeat } from '../../src/jobs/daily/node-heartbeat.js';
import { trafficRenewal } from '../../src/jobs/daily/traffic-renewal.js';
import { unusedAccounts } from '../../src/jobs/daily/unused-accounts.js';
import { jobSpec } from '../../src/jobs/registry.js';
import { runCommand } from '../../src/runner/run.js';
import type { CommandSpec, Step } from '../../src/runner/types.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';
import { dump, GiB, insertNode, insertUser } from '../helpers/fixtures.js';

const log = pino({ level: 'silent' });
/** 02:00 in Asia/Shanghai; the host (TZ=UTC) sees 18:00 the day before. */
const NOW = new Date('2026-11-24T18:00:00Z');
const T = NOW.getTime() / 1000;
const STAMP = '20261125 02:00:00';

describe.each(DIALECTS)('daily job steps on %s', (dialect) => {
  const t = useTestDatabase(dialect);
  const run = (steps: Step[] | CommandSpec, env: Record<string, string> = {}, dryRun = false) => {
    const spec = Array.isArray(steps) ? { command: 'test daily', lockName: null, steps } : steps;
    const settings = loadSettings({ env: { DATABASE_URL: t.url, SPANEL_TIMEZONE: 'Asia/Shanghai', ...env }, cwd: '/' }).settings;
    return runCommand(spec, { settings, log, database: t.db }, { dryRun, force: false, now: NOW, operator: 'tester' });
  };
  const user = async (id: number) => dump(t.knex, 'user').then((rows) => rows.find((r) => r.id === id)!);

  afterEach(async () => {
    await t.knex('user').del();
    await t.knex('ss_node').del();
  });

  it('host and Node run in UTC for these tests (the panel-time trap needs it)', () => {
    expect(new Date(2026, 0, 1).getTimezoneOffset()).toBe(0);
  });

  describe('1. traffic period renewal', () => {
    it('renews exactly the due paid accounts: u = old u + old d, d = 0, limit and renew_time from class', async () => {
      const due = await insertUser(t.knex, { class: 3, u: 5 * GiB, d: 7 * GiB + 123, renew_time: T - 1, transfer_limit: 1 });
      const notDue = await insertUser(t.knex, { class: 3, u: 5, d: 7, renew_time: T });
      const free = await insertUser(t.knex, { class: 0, u: 5, d: 7, renew_time: T - 1 });
      const disabled = await insertUser(t.knex, { class: 2, enable: 0, u: 5, d: 7, renew_time: T - 1 });
      const before = await dump(t.knex, 'user');

      const r = await run([trafficRenewal]);
      expect(r.exitCode).toBe(0);
      expect(r.steps[0]!.count).toBe(1);
      const after = await user(due);
      expect(after).toMatchObject({ u: 12 * GiB + 123, d: 0, transfer_limit: 30 * GiB, renew_time: T + 3 * 864_000 });
      expect(r.steps[0]!.changes).toEqual([
        {
          table: 'user', id: due, action: 'update',
          before: { u: 5 * GiB, d: 7 * GiB + 123, transfer_limit: 1, renew_time: T - 1 },
          after: { u: 12 * GiB + 123, d: 0, transfer_limit: 30 * GiB, renew_time: T + 2_592_000 },
        },
      ].map(normaliseChange(dialect)));
      for (const id of [notDue, free, disabled]) expect(await user(id)).toEqual(before.find((b) => b.id === id));
    });

    it('changes nothing when no account is due', async () => {
      await insertUser(t.knex, { class: 1, renew_time: T + 100 });
      const before = await dump(t.knex, 'user');
      const r = await run([trafficRenewal]);
      expect(r.steps[0]!.count).toBe(0);
      expect(await dump(t.knex, 'user')).toEqual(before);
    });
  });

  describe('2. node heartbeat', () => {
    it('marks faulty only nodes silent for longer than the timeout, and honours NODE_HEARTBEAT_TIMEOUT', async () => {
      const stale = await insertNode(t.knex, { type: 1, node_heartbeat: T - 7201 });
      const edge = await insertNode(t.knex, { type: 1, node_heartbeat: T - 7200 });
      const already = await insertNode(t.knex, { type: 0, node_heartbeat: 0 });
      const r = await run([nodeHeartbeat]);
      expect(r.steps[0]!.count).toBe(1);
      expect(r.steps[0]!.changes).toEqual([{ table: 'ss_node', id: stale, action: 'update', before: { type: 1 }, after: { type: 0 } }]);
      const types = Object.fromEntries((await dump(t.knex, 'ss_node')).map((n) => [n.id, n.type]));
      expect(types).toEqual({ [stale]: 0, [edge]: 1, [already]: 0 });

      const r2 = await run([nodeHeartbeat], { NODE_HEARTBEAT_TIMEOUT: '600' });
      expect(r2.steps[0]!.count).toBe(1);
      expect((await dump(t.knex, 'ss_node')).find((n) => n.id === edge)!.type).toBe(0);
    });
  });

  describe('4. unused paid accounts', () => {
    const idle = T - 32 * 86_400 - 1;
    const monthAgo = '2026-10-25 02:00:00'; // one calendar month before 2026-11-25 02:00:00 panel time

    it('disables exactly the idle paid accounts registered before one month ago (panel time)', async () => {
      const hit = await insertUser(t.knex, { id: 20, class: 1, t: idle, reg_date: '2026-10-25 01:59:59' });
      // Just outside each threshold:
      await insertUser(t.knex, { id: 21, class: 1, t: idle, reg_date: monthAgo });
      await insertUser(t.knex, { id: 22, class: 1, t: idle + 1, reg_date: '2026-01-01 00:00:00' });
      await insertUser(t.knex, { id: 10, class: 1, t: idle, reg_date: '2026-01-01 00:00:00' });
      await insertUser(t.knex, { id: 23, class: 1, t: idle, is_admin: 1, reg_date: '2026-01-01 00:00:00' });
      await insertUser(t.knex, { id: 24, class: 0, t: idle, reg_date: '2026-01-01 00:00:00' });
      await insertUser(t.knex, { id: 25, class: 1, t: idle, enable: 0, reg_date: '2026-01-01 00:00:00' });
      const before = await dump(t.knex, 'user');

      const r = await run([unusedAccounts]);
      expect(r.steps[0]!.count).toBe(1);
      const warning = `${STAMP} no traffic for 32 days: account disabled`;
      expect(r.steps[0]!.changes).toEqual([
        { table: 'user', id: hit, action: 'update', before: { enable: 1, warming: null }, after: { enable: 0, warming: warning } },
      ]);
      const after = await dump(t.knex, 'user');
      expect(after).toEqual(before.map((b) => (b.id === hit ? { ...b, enable: 0, warming: warning } : b)));
      // The same registration date compared in UTC wall time (2026-10-24 18:00:00) would not match.
      expect('2026-10-25 01:59:59' > '2026-10-24 18:00:00').toBe(true);
    });

    it('honours UNUSED_DISABLE_DAYS', async () => {
      const id = await insertUser(t.knex, { id: 30, class: 1, t: T - 5 * 86_400 - 1, reg_date: '2026-01-01 00:00:00' });
      expect((await run([unusedAccounts])).steps[0]!.count).toBe(0);
      const r = await run([unusedAccounts], { UNUSED_DISABLE_DAYS: '5' });
      expect(r.steps[0]!.count).toBe(1);
      expect(await user(id)).toMatchObject({ enable: 0, warming: `${STAMP} no traffic for 5 days: account disabled` });
    });
  });

  describe('5. daily statistics', () => {
    it('copies d, rss_count and rss_ips_count of paid users active within 48 h', async () => {
      const active = await insertUser(t.knex, { class: 1, t: T - 172_800 + 1, d: 9 * GiB, rss_count: 7, rss_ips_count: 3, last_day_t: 1 });
      const old = await insertUser(t.knex, { class: 1, t: T - 172_800, d: 5, rss_count: 5, rss_ips_count: 5 });
      const free = await insertUser(t.knex, { class: 0, t: T, d: 5, rss_count: 5, rss_ips_count: 5 });
      const off = await insertUser(t.knex, { class: 1, enable: 0, t: T, d: 5, rss_count: 5, rss_ips_count: 5 });
      const before = await dump(t.knex, 'user');
      const r = await run([dailyStatistics]);
      expect(r.steps[0]!.count).toBe(1);
      expect(await user(active)).toMatchObject({ last_day_t: 9 * GiB, rss_count_lastday: 7, rss_ips_lastday: 3, d: 9 * GiB });
      for (const id of [old, free, off]) expect(await user(id)).toEqual(before.find((b) => b.id === id));
    });
  });

  describe('6. class expiry in panel time', () => {
    it('expires a class_expire one hour ago in Asia/Shanghai, not one hour ahead', async () => {
      const past = await insertUser(t.knex, { class: 2, class_expire: '2026-11-25 01:00:00' });
      const ahead = await insertUser(t.knex, { class: 2, class_expire: '2026-11-25 03:00:00' });
      const r = await run([classExpiry]);
      expect(r.steps[0]!.count).toBe(1);
      expect(r.steps[0]!.changes).toEqual([{ table: 'user', id: past, action: 'update', before: { class: 2 }, after: { class: 0 } }]);
      expect((await user(past)).class).toBe(0);
      expect((await user(ahead)).class).toBe(2);
    });

    it('would be wrong in UTC: the same rows read as UTC wall time are 7 and 9 hours in the future', async () => {
      const past = await insertUser(t.knex, { class: 2, class_expire: '2026-11-25 01:00:00' });
      const r = await run([classExpiry], { SPANEL_TIMEZONE: 'UTC' });
      expect(r.steps[0]!.count).toBe(0);
      expect((await user(past)).class).toBe(2);
      // and a UTC-zoned panel expires what is one hour ago in UTC wall time
      const utcPast = await insertUser(t.knex, { class: 2, class_expire: '2026-11-24 17:00:00' });
      expect((await run([classExpiry], { SPANEL_TIMEZONE: 'UTC' })).steps[0]!.count).toBe(1);
      expect((await user(utcPast)).class).toBe(0);
    });
  });

  it('the whole daily job changes nothing on accounts and nodes no step is about', async () => {
    await insertUser(t.knex, {});
    await insertUser(t.knex, { class: 1, renew_time: T + 10, t: T - 3 * 86_400, node_group: 2, class_expire: '2026-11-25 02:00:00' });
    await insertNode(t.knex, { node_heartbeat: T });
    const users = await dump(t.knex, 'user');
    const nodes = await dump(t.knex, 'ss_node');
    const r = await run(await jobSpec('daily'));
    expect(r.exitCode).toBe(0);
    expect(r.steps.map((s) => [s.name, s.count])).toEqual([
      ['traffic-renewal', 0],
      ['node-heartbeat', 0],
      ['daily-traffic-cap', 0],
      ['unused-accounts', 0],
      ['daily-statistics', 0],
      ['class-expiry', 0],
    ]);
    expect(await dump(t.knex, 'user')).toEqual(users);
    expect(await dump(t.knex, 'ss_node')).toEqual(nodes);
    await t.knex('spanel_traffic_snapshot').del();
  });

  // Last in the file: it alters the user table.
  it.runIf(dialect === 'mysql')('5. daily statistics on a panel whose source columns are NULLable and NULL: copied as 0, the job does not fail', async () => {
    await t.knex.raw('ALTER TABLE `user` MODIFY `d` BIGINT NULL, MODIFY `rss_count` INT NULL, MODIFY `rss_ips_count` INT NULL');
    const nulls = await insertUser(t.knex, { class: 1, t: T, d: null, rss_count: null, rss_ips_count: null, last_day_t: 5, rss_count_lastday: 6, rss_ips_lastday: 7 });
    const given = await insertUser(t.knex, { class: 1, t: T, d: 9, rss_count: 2, rss_ips_count: 1 });
    const r = await run([dailyStatistics]);
    expect(r.error).toBeNull();
    expect(r.exitCode).toBe(0);
    expect(r.steps[0]!.count).toBe(2);
    expect(r.steps[0]!.changes).toEqual([
      { table: 'user', id: nulls, action: 'update', before: { last_day_t: '5', rss_count_lastday: 6, rss_ips_lastday: 7 }, after: { last_day_t: '0', rss_count_lastday: 0, rss_ips_lastday: 0 } },
      { table: 'user', id: given, action: 'update', before: { last_day_t: '0', rss_count_lastday: 0, rss_ips_lastday: 0 }, after: { last_day_t: '9', rss_count_lastday: 2, rss_ips_lastday: 1 } },
    ]);
    expect(await user(nulls)).toMatchObject({ d: null, rss_count: null, rss_ips_count: null, last_day_t: 0, rss_count_lastday: 0, rss_ips_lastday: 0 });
    expect(await user(given)).toMatchObject({ last_day_t: 9, rss_count_lastday: 2, rss_ips_lastday: 1 });
  });
});

/** Reported values are the drivers' own: MySQL gives BIGINT as strings, SQLite numbers. */
function normaliseChange(dialect: string) {
  return (c: { before: Record<string, number>; after: Record<string, number> } & Record<string, unknown>) => {
    if (dialect !== 'mysql') return c;
    const s = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, k === 'renew_time' ? v : String(v)]));
    return { ...c, before: s(c.before), after: s(c.after) };
  };
}
