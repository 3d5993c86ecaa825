import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';
import { dump, insertUser } from '../helpers/fixtures.js';
import { ACTIVE, DAY, NOW_ISO, UNIX, panelLocal } from './check.helpers.js';

const TABLES = ['user', 'payback', 'spanel_money_ledger', 'spanel_archived_user', 'spanel_run', 'alive_ip', 'blockip', 'link', 'ss_password_reset'];

describe.each(DIALECTS)('job check, whole job, on %s', (dialect) => {
  const t = useTestDatabase(dialect);
  const cli = (args: string[] = []) =>
    runCli(['job', 'check', '--now', NOW_ISO, '--json', ...args], { DATABASE_URL: t.url, SPANEL_TIMEZONE: 'Asia/Shanghai' });

  it('dry run lists exactly what the real run changes, step by step, and leaves every table as it was', async () => {
    await t.knex('alive_ip').insert([{ datetime: UNIX - 301 }, { datetime: UNIX - 300 }]);
    await t.knex('blockip').insert([{ datetime: UNIX - 86_401 }]);
    // Class expiry across the panel-time trap: an hour ago and an hour ahead in Asia/Shanghai.
    const expired = await insertUser(t.knex, { ...ACTIVE, class: 2, class_expire: panelLocal(-3600) });
    const running = await insertUser(t.knex, { ...ACTIVE, class: 2, class_expire: panelLocal(3600) });
    const referrer = await insertUser(t.knex, { ...ACTIVE, score: 20, money: '5.00' });
    const doomed = await insertUser(t.knex, { t: 0, u: 0, d: 0, reg_date: panelLocal(-15 * DAY), ref_by: referrer, email: 'doomed@example.com' });
    await t.knex('link').insert({ userid: doomed });
    await t.knex('ss_password_reset').insert({ email: 'doomed@example.com' });
    const debtor = await insertUser(t.knex, { ...ACTIVE, money: '-3.00', score: 60, class: 1, node_group: 2, ref_by: referrer });
    await t.knex('payback').insert([
      { total: '-1.00', userid: doomed, ref_by: referrer, ref_get: '1.00', datetime: 1 },
      { total: '-1.00', userid: debtor, ref_by: referrer, ref_get: '1.50', datetime: 1 },
    ]);
    const before = await Promise.all(TABLES.map((x) => dump(t.knex, x)));

    const dry = await cli(['--dry-run']);
    expect(dry.code).toBe(0);
    expect(await Promise.all(TABLES.map((x) => dump(t.knex, x)))).toEqual(before);

    const real = await cli();
    expect(real.code).toBe(0);
    const steps = (r: typeof dry) =>
      r.json().steps.map((s: Record<string, any>) => ({
        name: s.name,
        count: s.count,
        counts: s.counts,
        skipped: s.skipped,
        notes: s.notes,
        // A rolled-back insert still consumes a MySQL auto-increment id.
        changes: s.changes.map((c: Record<string, unknown>) => (c.action === 'insert' ? { ...c, id: 0 } : c)),
      }));
    expect(steps(dry)).toEqual(steps(real));
    expect(steps(real).map((s: { name: string; count: number }) => [s.name, s.count])).toEqual([
      ['ip-records', 2],
      ['class-expiry', 1],
      ['expired-accounts', 1],
      ['negative-balance', 1],
    ]);

    const users = await dump(t.knex, 'user');
    expect(users.find((u) => u.id === expired)).toMatchObject({ class: 0 });
    expect(users.find((u) => u.id === running)).toMatchObject({ class: 2 });
    expect(users.find((u) => u.id === doomed)).toBeUndefined();
    expect(users.find((u) => u.id === debtor)).toMatchObject({ enable: 0, score: 59, node_group: 1, ban_times: 1, ref_by: 0 });
    expect(Number((users.find((u) => u.id === referrer) as { money: unknown }).money)).toBe(2.5);
    expect(await dump(t.knex, 'link')).toEqual([]);
    expect(await dump(t.knex, 'ss_password_reset')).toEqual([]);
    expect((await dump(t.knex, 'spanel_run')).map((r) => [r.command, r.outcome])).toEqual([['job check', 'success']]);
  });
});
