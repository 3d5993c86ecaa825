import type { Knex } from 'knex';
import { expect } from 'vitest';
import { demoUserId as id } from '../../src/demo/seed.js';
import { GiB, N, DAY } from '../../src/demo/time.js';
import { money } from '../helpers/fixtures.js';

const user = async (knex: Knex, email: string) => knex('user').where('id', id(email)).first();
const num = (v: unknown) => Number(v);

/**
 * The panel as the demo must leave it, scenario by scenario (src/demo/seed.ts): after daily,
 * hourly, check, dbclean, payment confirm 4 and referral recover 111, at the demo's times.
 */
export async function expectDemoEndState(knex: Knex): Promise<void> {
  // daily 1: renewal adds d to u, zeroes d, sets the new limit and period; the other is untouched.
  const renewed = await user(knex, 'renew-due');
  expect([num(renewed.u), num(renewed.d), num(renewed.transfer_limit), num(renewed.renew_time)]).toEqual([8 * GiB, 0, 20 * GiB, N + 20 * DAY]);
  const notYet = await user(knex, 'renew-not-yet');
  expect([num(notYet.u), num(notYet.d), num(notYet.renew_time)]).toEqual([5 * GiB, 3 * GiB, N + 3600]);

  // daily 2: only the node silent for 3 h is hidden.
  const nodes = await knex('ss_node').select('id', 'type').orderBy('id');
  expect(nodes.map((n) => [num(n.id), num(n.type)])).toEqual([[1, 0], [2, 1], [3, 0]]);

  // daily 3 / hourly 1: over the cap disabled with a panel-time warning; the others stay enabled.
  const overDaily = await user(knex, 'daily-over-cap');
  expect(num(overDaily.enable)).toBe(0);
  expect(overDaily.warming).toMatch(/^20261125 02:00:00 /);
  const overHourly = await user(knex, 'hourly-over-cap');
  expect(num(overHourly.enable)).toBe(0);
  expect(overHourly.warming).toMatch(/^20261125 02:05:00 /);
  for (const kept of ['daily-under-cap', 'daily-first-seen', 'daily-stale-snapshot', 'daily-group-exempt', 'daily-idle', 'hourly-under-cap', 'hourly-group-exempt']) {
    expect(num((await user(knex, kept)).enable), kept).toBe(1);
  }
  const snap = async (email: string, kind: string) =>
    knex('spanel_traffic_snapshot').where({ user_id: id(email), kind }).first();
  expect(num((await snap('daily-under-cap', 'traffic_lastday')).total)).toBe(40 * GiB);
  expect(num((await snap('daily-first-seen', 'traffic_lastday')).total)).toBe(60 * GiB);
  expect(num((await snap('hourly-under-cap', 'traffic_lasthour')).total)).toBe(20 * GiB);
  expect(num((await snap('daily-group-exempt', 'traffic_lastday')).total)).toBe(1 * GiB);

  // daily 4: unused paid account disabled; recent, new, admin and id ≤ 10 are not.
  expect(num((await user(knex, 'unused-paid')).enable)).toBe(0);
  for (const kept of ['unused-paid-recent', 'unused-paid-new', 'admin', 'early-user']) expect(num((await user(knex, kept)).enable), kept).toBe(1);

  // daily 5: statistics of the active user only.
  const active = await user(knex, 'stats-active');
  expect([num(active.last_day_t), num(active.rss_count_lastday), num(active.rss_ips_lastday)]).toEqual([2 * GiB, 12, 3]);
  expect(num((await user(knex, 'stats-idle')).last_day_t)).toBe(0);

  // daily 6 / check 2: class expiry in panel time.
  expect(num((await user(knex, 'class-expired-1h-ago')).class)).toBe(0);
  expect(num((await user(knex, 'class-ends-0207')).class)).toBe(0);
  expect(num((await user(knex, 'class-ends-0900')).class)).toBe(2);

  // hourly 2: only the order unpaid for 2 h expires (and stays); order 4 was confirmed later.
  const orders = await knex('paylist').select('id', 'status').orderBy('id');
  expect(orders.map((o) => [num(o.id), num(o.status)])).toEqual([[1, 1], [2, -1], [3, 0], [4, 1]]);

  // check 3: four users deleted and archived, with their dependent rows; the others kept.
  const deleted = ['expired-account', 'no-checkin', 'idle-free', 'never-used'].map(id);
  expect(await knex('user').whereIn('id', deleted)).toEqual([]);
  const archived = await knex('spanel_archived_user').select('user_id', 'email', 'row_json').orderBy('user_id');
  expect(archived.map((a) => num(a.user_id))).toEqual(deleted);
  expect(JSON.parse(archived[0].row_json)).toMatchObject({ id: 71, email: 'expired-account@demo', expire_in: '2026-11-10 00:00:00' });
  for (const kept of ['expired-recently', 'expired-with-balance', 'no-checkin-rich', 'idle-free-new', 'never-used-new', 'admin']) {
    expect(await user(knex, kept), kept).toBeDefined();
  }
  for (const table of ['link', 'login_ip', 'bought', 'disconnect_ip', 'radius_ban']) {
    expect((await knex(table).select('userid')).map((r) => num(r.userid)), table).toEqual([75]);
  }
  // code: #75's own row, and the top-up row `payment confirm` wrote for #105 as the PHP panel would.
  const codes = await knex('code').select('userid', 'code', 'type', 'number', 'isused').orderBy('id');
  expect(codes.map((c) => [num(c.userid), c.code, num(c.type), money(c.number), num(c.isused)])).toEqual([
    [75, 'demo-code-75', -1, '5.00', 1],
    [105, 'spanel payment confirm (demo)', -1, '30.00', 1],
  ]);
  for (const table of ['ss_invite_code', 'user_token']) {
    expect((await knex(table).select('user_id')).map((r) => num(r.user_id)), table).toEqual([75]);
  }
  expect((await knex('ss_password_reset').select('email')).map((r) => r.email)).toEqual(['no-checkin-rich@demo']);

  // Rewards: #71's taken from the low-score referrer, #74's kept, #91's taken (check 4), #111's by hand.
  const rewards = await knex('payback').select('id', 'total', 'userid', 'ref_by', 'ref_get', 'callback', 'paylist_id').orderBy('id');
  const shown = rewards.map((r) => [num(r.userid), num(r.ref_by), money(r.total), money(r.ref_get), num(r.callback), r.paylist_id == null ? null : num(r.paylist_id)]);
  expect(shown).toEqual([
    [71, 81, '-1.00', '3.00', 1, null],
    [74, 82, '-1.00', '3.00', 0, null],
    [91, 83, '-1.00', '3.00', 1, null],
    [111, 82, '-1.00', '2.00', 1, null],
    [105, 104, '-1.00', '3.00', 0, null],
    [71, 81, '-2.00', '-3.00', 0, null],
    [91, 83, '-2.00', '-3.00', 0, null],
    [105, 104, '30.00', '6.00', 0, 4],
    [105, 103, '30.00', '6.00', 0, 4],
    [105, 102, '30.00', '6.00', 0, 4],
    [111, 82, '-2.00', '-2.00', 0, null],
  ]);

  // check 4: negative balances disabled; the low-score one loses its referrer.
  const negative = await user(knex, 'negative-balance');
  expect([num(negative.enable), num(negative.ban_times), num(negative.score), num(negative.node_group), num(negative.ref_by)]).toEqual([0, 2, 63, 1, 0]);
  const high = await user(knex, 'negative-high-score');
  expect([num(high.enable), num(high.ban_times), num(high.score), num(high.ref_by)]).toEqual([0, 1, 99, 82]);
  expect(num((await user(knex, 'negative-disabled')).ban_times)).toBe(0);

  // Balances: referrers, payer and the 3 paid levels (level 4 gets nothing).
  const balances: Record<string, [string, number]> = {
    'referrer-low-score': ['7.00', 1],
    'referrer-good': ['8.00', 1],
    'referrer-of-negative': ['7.00', 1],
    payer: ['30.00', 0],
    'chain-level1': ['7.00', 0],
    'chain-level2': ['7.00', 0],
    'chain-level3': ['7.00', 0],
    'chain-level4': ['1.00', 0],
  };
  for (const [email, [m, bans]] of Object.entries(balances)) {
    const u = await user(knex, email);
    expect([money(u.money), num(u.ban_times)], email).toEqual([m, bans]);
  }
  const ledger = await knex('spanel_money_ledger').select('user_id', 'delta').orderBy('id');
  expect(ledger.map((l) => [num(l.user_id), money(l.delta)]).sort()).toEqual(
    [[81, '-3.00'], [83, '-3.00'], [105, '30.00'], [104, '6.00'], [103, '6.00'], [102, '6.00'], [82, '-2.00']].sort(),
  );

  // check 1 and dbclean: old rows gone, fresh rows kept, in every IP and log table.
  for (const table of ['alive_ip', 'unblockip', 'blockip', 'telegram_session', 'ss_node_info', 'ss_node_online_log', 'user_traffic_log', 'detect_log', 'speedtest', 'email_verify']) {
    expect((await knex(table).select('id')).map((r) => num(r.id)), table).toEqual([2]);
  }
}
