import { beforeEach, describe, expect, it } from 'vitest';
import { expiredAccounts } from '../../src/jobs/check/expired-accounts.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';
import { insertUser } from '../helpers/fixtures.js';
import { ACTIVE, DAY, UNIX, panelLocal, stepRunner } from './check.helpers.js';

/**
 * Check step 3's rules a–d, each threshold from just inside to just outside. The DATETIME edges
 * are panel-local (Asia/Shanghai) while Node runs in UTC: a comparison made in UTC is 8 hours off
 * and flips the "just inside" rows.
 */
describe.each(DIALECTS)('check step 3, deletion rules, on %s', (dialect) => {
  const t = useTestDatabase(dialect);
  const run = stepRunner(t);

  const reset = async () => {
    await t.knex('user').del();
    await t.knex('spanel_archived_user').del();
  };
  beforeEach(reset);

  /** Inserts named users, runs the step, returns the names deleted and their archive reasons. */
  async function deletedOf(users: Record<string, Record<string, unknown>>, env: Record<string, string> = {}) {
    const ids = new Map<number, string>();
    for (const [name, overrides] of Object.entries(users)) ids.set(await insertUser(t.knex, { ...ACTIVE, ...overrides }), name);
    const result = await run([expiredAccounts], { env });
    expect(result.error).toBeNull();
    const left = new Set((await t.knex('user').select('id')).map((r) => Number(r.id)));
    const archived = await t.knex('spanel_archived_user').select('user_id', 'reason');
    const reasons = Object.fromEntries(archived.map((r) => [ids.get(Number(r.user_id)), r.reason]));
    const deleted = [...ids].filter(([id]) => !left.has(id)).map(([, name]) => name).sort();
    expect(Object.keys(reasons).sort()).toEqual(deleted);
    expect(result.steps[0]!.count).toBe(deleted.length);
    return { deleted, reasons };
  }

  it('rule a: expire_in more than 7 days ago in panel time, no balance', async () => {
    const { deleted, reasons } = await deletedOf({
      inside: { expire_in: panelLocal(-7 * DAY - 1) },
      edge: { expire_in: panelLocal(-7 * DAY) },
      paidPlan: { expire_in: panelLocal(-7 * DAY - 1), class: 3, money: '-5.00' },
    });
    expect(deleted).toEqual(['inside', 'paidPlan']);
    expect(reasons).toEqual({ inside: 'rule a', paidPlan: 'rule a' });
  });

  it('rule a: each unit of balance buys 30 days of grace', async () => {
    const { deleted } = await deletedOf({
      one_in: { money: '1.00', expire_in: panelLocal(-30 * DAY - 1) },
      one_edge: { money: '1.00', expire_in: panelLocal(-30 * DAY) },
      half_in: { money: '0.50', expire_in: panelLocal(-15 * DAY - 1) },
      half_edge: { money: '0.50', expire_in: panelLocal(-15 * DAY) },
      ten_cents_in_but_grace_under_days: { money: '0.10', expire_in: panelLocal(-3 * DAY - 1) },
    });
    expect(deleted).toEqual(['half_in', 'one_in']);
  });

  it('rule a: ACCOUNT_EXPIRE_DELETE_DAYS=0 deletes at expiry, -1 never', async () => {
    expect((await deletedOf({ in: { expire_in: panelLocal(-1) }, edge: { expire_in: panelLocal(0) } }, { ACCOUNT_EXPIRE_DELETE_DAYS: '0' })).deleted).toEqual(['in']);
    await reset();
    expect((await deletedOf({ old: { expire_in: '2000-01-01 00:00:00' } }, { ACCOUNT_EXPIRE_DELETE_DAYS: '-1' })).deleted).toEqual([]);
  });

  it('rule b: no check-in and registered more than 32 days ago, free, balance up to AUTO_CLEAN_MIN_MONEY', async () => {
    const old = { last_check_in_time: UNIX - 32 * DAY - 1, reg_date: panelLocal(-32 * DAY - 1) };
    const { deleted, reasons } = await deletedOf({
      inside: old,
      checkInEdge: { ...old, last_check_in_time: UNIX - 32 * DAY },
      regEdge: { ...old, reg_date: panelLocal(-32 * DAY) },
      neverCheckedInNewReg: { ...old, last_check_in_time: 0, reg_date: panelLocal(-32 * DAY) },
      paidClass: { ...old, class: 1 },
      moneyEqual: { ...old, money: '1.00' },
      moneyAbove: { ...old, money: '1.01' },
    });
    expect(deleted).toEqual(['inside', 'moneyEqual']);
    expect(reasons.inside).toBe('rule b');
  });

  it('rule b and c: AUTO_CLEAN_MIN_MONEY is honoured at equality; 0 days disables b', async () => {
    const old = { last_check_in_time: UNIX - 40 * DAY, reg_date: panelLocal(-40 * DAY) };
    expect((await deletedOf({ eq: { ...old, money: '2.50' }, above: { ...old, money: '2.51' } }, { AUTO_CLEAN_MIN_MONEY: '2.5' })).deleted).toEqual(['eq']);
    await reset();
    expect((await deletedOf({ off: old }, { AUTO_CLEAN_UNCHECK_DAYS: '0' })).deleted).toEqual([]);
  });

  it('rule c: no traffic and registered more than 7 days ago, free, low balance', async () => {
    const old = { t: UNIX - 7 * DAY - 1, reg_date: panelLocal(-7 * DAY - 1) };
    const { deleted, reasons } = await deletedOf({
      inside: old,
      trafficEdge: { ...old, t: UNIX - 7 * DAY },
      regEdge: { ...old, t: UNIX - 30 * DAY, reg_date: panelLocal(-7 * DAY) },
      paidClass: { ...old, class: 2 },
      moneyEqual: { ...old, money: '1.00' },
      moneyAbove: { ...old, money: '1.01' },
    });
    expect(deleted).toEqual(['inside', 'moneyEqual']);
    expect(reasons.inside).toBe('rule c');
    await reset();
    expect((await deletedOf({ off: old }, { AUTO_CLEAN_UNUSED_DAYS: '0' })).deleted).toEqual([]);
  });

  it('rule d: never used, registered more than 14 days ago, free, balance up to 1 (not the setting)', async () => {
    const never = { t: 0, u: 0, d: 0, last_check_in_time: 0, reg_date: panelLocal(-14 * DAY - 1) };
    const env = { AUTO_CLEAN_UNCHECK_DAYS: '0', AUTO_CLEAN_UNUSED_DAYS: '0', AUTO_CLEAN_MIN_MONEY: '5' };
    const { deleted, reasons } = await deletedOf(
      {
        inside: never,
        regEdge: { ...never, reg_date: panelLocal(-14 * DAY) },
        uploaded: { ...never, u: 1 },
        downloaded: { ...never, d: 1 },
        connected: { ...never, t: 1 },
        paidClass: { ...never, class: 1 },
        moneyEqual: { ...never, money: '1.00' },
        moneyAbove: { ...never, money: '1.01' },
      },
      env,
    );
    expect(deleted).toEqual(['inside', 'moneyEqual']);
    expect(reasons.inside).toBe('rule d');
  });

  it('never deletes an admin, whatever matches; the reason lists every rule that matched', async () => {
    const everything = { t: 0, u: 0, d: 0, last_check_in_time: 0, reg_date: '2020-01-01 00:00:00', expire_in: '2020-01-01 00:00:00' };
    const { deleted, reasons } = await deletedOf({ admin: { ...everything, is_admin: 1 }, admin2: { ...everything, is_admin: 2 }, user: everything });
    expect(deleted).toEqual(['user']);
    expect(reasons.user).toBe('rule a,b,c,d');
  });

  it('changes nothing when no user qualifies', async () => {
    const { deleted } = await deletedOf({ a: {}, b: { class: 1 }, c: { money: '100.00' } });
    expect(deleted).toEqual([]);
  });

  it.runIf(dialect === 'mysql')('rule a: a zero expire_in (0000-00-00) is long past, with or without a balance', async () => {
    const ids = [await insertUser(t.knex, { ...ACTIVE, class: 1 }), await insertUser(t.knex, { ...ACTIVE, class: 1, money: '1.00' })];
    const rich = await insertUser(t.knex, { ...ACTIVE, class: 1, money: '1000000.00' });
    await t.knex('user').whereIn('id', [...ids, rich]).update({ expire_in: '0000-00-00 00:00:00' });
    const result = await run([expiredAccounts]);
    expect(result.error).toBeNull();
    expect((await t.knex('user').select('id')).map((r) => Number(r.id))).toEqual([rich]);
  });

  // Last: it makes the columns nullable, as some panels have them.
  it.runIf(dialect === 'mysql')('rules b and c: a NULL check-in or traffic time means never; a NULL reg_date deletes nobody', async () => {
    await t.knex.raw('ALTER TABLE user MODIFY last_check_in_time INT NULL, MODIFY t INT NULL, MODIFY reg_date DATETIME NULL');
    const old = panelLocal(-40 * DAY);
    const { deleted, reasons } = await deletedOf({
      neverCheckedIn: { last_check_in_time: null, reg_date: old },
      neverUsed: { t: null, reg_date: old },
      unknownAge: { last_check_in_time: null, t: null, reg_date: null },
      recent: { last_check_in_time: null, reg_date: panelLocal(-DAY) },
    });
    expect(deleted).toEqual(['neverCheckedIn', 'neverUsed']);
    expect(reasons).toEqual({ neverCheckedIn: 'rule b', neverUsed: 'rule c' });
  });
});
