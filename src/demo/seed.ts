import type { Knex } from 'knex';
import { DAY, GiB, HOUR, MINUTE, N } from './time.js';

/**
 * A small panel in which every rule of SPEC §3 and §4 has rows on both sides of its threshold.
 * Each row of interest is a named scenario: the name (a user's email, a node's name) says what it
 * is, `expect` says what the demo must do to it. The demo prints them; the tests assert them.
 *
 * Times are relative to N, the daily run (2026-11-25 02:00 Asia/Shanghai); hourly runs at N+5 min,
 * check at N+10 min, dbclean at N+15 min (see time.ts). DATETIME columns hold Shanghai wall time.
 */
export interface Scenario {
  table: string;
  id: number;
  /** The user's email, the node's name, or a short label: says which side of which rule it is on. */
  name: string;
  /** The rule it exercises, e.g. "daily 1 renewal". */
  rule: string;
  /** What the demo does to it. */
  expect: string;
  row: Record<string, unknown>;
}

/** Every seeded user starts as an active free account that no rule touches. */
function freeUser(email: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    email,
    user_name: email.replace(/@.*/, ''),
    pass: 'demo',
    passwd: 'demo',
    is_admin: 0,
    enable: 1,
    t: N - 2 * HOUR,
    u: 1 * GiB,
    d: 1 * GiB,
    transfer_enable: 50 * GiB,
    transfer_limit: 0,
    last_day_t: 0,
    money: '0.00',
    ref_by: 0,
    score: 100,
    class: 0,
    class_expire: '2026-06-01 10:00:00',
    expire_in: '2099-01-01 00:00:00',
    reg_date: '2026-06-01 10:00:00',
    node_group: 1,
    ban_times: 0,
    warming: null,
    rss_count: 0,
    rss_count_lastday: 0,
    rss_ips_count: 0,
    rss_ips_lastday: 0,
    last_check_in_time: N - DAY,
    renew_time: 0,
    ...over,
  };
}

/** A paying user (class 1) in the middle of a period, last online 3 days ago: untouched too. */
function paidUser(email: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return freeUser(email, {
    class: 1,
    class_expire: '2027-06-01 00:00:00',
    renew_time: N + 10 * DAY,
    t: N - 3 * DAY,
    transfer_limit: 10 * GiB,
    ...over,
  });
}

const user = (id: number, rule: string, expect: string, row: Record<string, unknown>): Scenario => ({
  table: 'user',
  id,
  name: String(row.email),
  rule,
  expect,
  row,
});

export const USERS: Scenario[] = [
  user(1, 'daily 4 / check 3 (admin)', 'kept: admins are never disabled or deleted', paidUser('admin@demo', {
    is_admin: 1, t: N - 60 * DAY, reg_date: '2024-01-01 00:00:00', expire_in: '2025-01-01 00:00:00' })),
  user(5, 'daily 4 unused paid (id ≤ 10)', 'kept: the first 10 ids are exempt', paidUser('early-user@demo', {
    t: N - 40 * DAY, reg_date: '2025-01-01 00:00:00' })),

  user(11, 'daily 1 renewal', 'renewed: u = 5+3 GiB, d = 0, transfer_limit 20 GiB, renew_time +20 days', paidUser('renew-due@demo', {
    class: 2, renew_time: N - MINUTE, u: 5 * GiB, d: 3 * GiB })),
  user(12, 'daily 1 renewal', 'kept: renew_time is an hour ahead', paidUser('renew-not-yet@demo', {
    class: 2, renew_time: N + HOUR, u: 5 * GiB, d: 3 * GiB })),

  user(21, 'daily 3 daily traffic cap', 'disabled: +40 GiB since yesterday\'s snapshot (cap 32)', freeUser('daily-over-cap@demo', {
    node_group: 4, t: N - 10 * MINUTE, u: 10 * GiB, d: 40 * GiB })),
  user(22, 'daily 3 daily traffic cap', 'kept: +30 GiB; snapshot moves to 40 GiB', freeUser('daily-under-cap@demo', {
    node_group: 4, t: N - 10 * MINUTE, u: 10 * GiB, d: 30 * GiB })),
  user(23, 'daily 3 daily traffic cap', 'kept: no snapshot yet, one is recorded', freeUser('daily-first-seen@demo', {
    node_group: 5, t: N - 10 * MINUTE, u: 20 * GiB, d: 40 * GiB })),
  user(24, 'daily 3 daily traffic cap', 'kept: its snapshot expired, so it counts as first seen', freeUser('daily-stale-snapshot@demo', {
    node_group: 5, t: N - 10 * MINUTE, u: 20 * GiB, d: 40 * GiB })),
  user(25, 'daily 3 daily traffic cap', 'kept: node group 1 has no cap', freeUser('daily-group-exempt@demo', {
    node_group: 1, t: N - 10 * MINUTE, u: 20 * GiB, d: 60 * GiB })),
  user(26, 'daily 3 daily traffic cap', 'kept: no traffic in the last 24 h, not scanned', freeUser('daily-idle@demo', {
    node_group: 4, t: N - 25 * HOUR, u: 20 * GiB, d: 60 * GiB })),

  user(31, 'daily 4 unused paid', 'disabled: paid, no traffic for 40 days', paidUser('unused-paid@demo', {
    t: N - 40 * DAY, reg_date: '2026-03-01 12:00:00' })),
  user(32, 'daily 4 unused paid', 'kept: last traffic 31 days ago', paidUser('unused-paid-recent@demo', {
    t: N - 31 * DAY, reg_date: '2026-03-01 12:00:00' })),
  user(33, 'daily 4 unused paid', 'kept: registered less than a month ago', paidUser('unused-paid-new@demo', {
    t: 0, u: 0, d: 0, reg_date: '2026-11-01 12:00:00' })),

  user(41, 'daily 5 statistics', 'recorded: last_day_t = d (2 GiB), rss_count_lastday 12, rss_ips_lastday 3', paidUser('stats-active@demo', {
    t: N - 3 * HOUR, d: 2 * GiB, rss_count: 12, rss_ips_count: 3 })),
  user(42, 'daily 5 statistics', 'kept: no traffic in the last 48 h', paidUser('stats-idle@demo', {
    t: N - 49 * HOUR, d: 2 * GiB, rss_count: 5, rss_ips_count: 2 })),

  user(51, 'daily 6 class expiry', 'class 0: plan ended 01:00 panel time (still 17:00 the day before in UTC)', paidUser('class-expired-1h-ago@demo', {
    class: 2, class_expire: '2026-11-25 01:00:00' })),
  user(52, 'check 2 class expiry', 'class 0 at the 02:10 check: plan ended 02:07', paidUser('class-ends-0207@demo', {
    class: 2, class_expire: '2026-11-25 02:07:00' })),
  user(53, 'daily 6 class expiry', 'kept: plan ends 09:00 panel time', paidUser('class-ends-0900@demo', {
    class: 2, class_expire: '2026-11-25 09:00:00' })),

  user(61, 'hourly 1 hourly traffic cap', 'disabled: +8 GiB in the last hour (cap 6)', freeUser('hourly-over-cap@demo', {
    node_group: 2, t: N - MINUTE, u: 4 * GiB, d: 16 * GiB })),
  user(62, 'hourly 1 hourly traffic cap', 'kept: +5 GiB in the last hour', freeUser('hourly-under-cap@demo', {
    node_group: 3, t: N - MINUTE, u: 4 * GiB, d: 16 * GiB })),
  user(63, 'hourly 1 hourly traffic cap', 'kept: node group 4 has no hourly cap', freeUser('hourly-group-exempt@demo', {
    node_group: 4, t: N - MINUTE, u: 10 * GiB, d: 20 * GiB })),

  user(71, 'check 3a account expiry', 'deleted (archived, its rows in 9 tables too); reward taken back from #81', freeUser('expired-account@demo', {
    expire_in: '2026-11-10 00:00:00', ref_by: 81 })),
  user(72, 'check 3a account expiry', 'kept: expired 5 days ago (deleted after 7)', freeUser('expired-recently@demo', {
    expire_in: '2026-11-20 00:00:00' })),
  user(73, 'check 3a account expiry', 'kept: expired 15 days ago, but 1.00 balance buys 30 days', freeUser('expired-with-balance@demo', {
    expire_in: '2026-11-10 00:00:00', money: '1.00' })),
  user(74, 'check 3b no check-in', 'deleted: no check-in for 40 days; referrer #82 (score 100) keeps its reward', freeUser('no-checkin@demo', {
    last_check_in_time: N - 40 * DAY, money: '0.50', ref_by: 82 })),
  user(75, 'check 3b no check-in', 'kept: balance 5.00 is above 1.00 (its rows in 9 tables stay)', freeUser('no-checkin-rich@demo', {
    last_check_in_time: N - 40 * DAY, money: '5.00' })),
  user(76, 'check 3c no use', 'deleted: free, no traffic for 10 days', freeUser('idle-free@demo', {
    t: N - 10 * DAY })),
  user(77, 'check 3c no use', 'kept: registered 3 days ago', freeUser('idle-free-new@demo', {
    t: N - 10 * DAY, reg_date: '2026-11-22 12:00:00' })),
  user(78, 'check 3d never used', 'deleted: never used, registered 20 days ago', freeUser('never-used@demo', {
    t: 0, u: 0, d: 0, reg_date: '2026-11-05 12:00:00' })),
  user(79, 'check 3d never used', 'kept: registered 5 days ago', freeUser('never-used-new@demo', {
    t: 0, u: 0, d: 0, reg_date: '2026-11-20 12:00:00' })),

  user(81, 'check 3 referrer, score < 32', 'money 10.00 → 7.00, ban_times 1: reward of #71 taken back', freeUser('referrer-low-score@demo', {
    score: 20, money: '10.00' })),
  user(82, 'check 3 / referral recover', 'money 10.00 → 8.00, ban_times 1: only the reward of #111 (recovered by hand)', freeUser('referrer-good@demo', {
    money: '10.00' })),
  user(83, 'check 4 referrer', 'money 10.00 → 7.00, ban_times 1: reward of #91 taken back', freeUser('referrer-of-negative@demo', {
    money: '10.00' })),

  user(91, 'check 4 negative balance', 'disabled, ban_times 2, score 63, node_group 1, ref_by 0; reward taken back from #83', paidUser('negative-balance@demo', {
    class: 2, money: '-3.00', node_group: 2, score: 64, ref_by: 83 })),
  user(92, 'check 4 negative balance', 'disabled, ban_times 1, score 99; score still ≥ 64, so ref_by stays', paidUser('negative-high-score@demo', {
    money: '-1.00', score: 100, ref_by: 82 })),
  user(93, 'check 4 negative balance', 'kept: already disabled', paidUser('negative-disabled@demo', {
    enable: 0, money: '-2.00' })),

  user(101, 'payment confirm, level 4', 'nothing: PAYBACK_COUNT is 3', freeUser('chain-level4@demo', { money: '1.00' })),
  user(102, 'payment confirm, level 3', 'money 1.00 → 7.00 (20 % of 30.00)', freeUser('chain-level3@demo', { money: '1.00', ref_by: 101 })),
  user(103, 'payment confirm, level 2', 'money 1.00 → 7.00', freeUser('chain-level2@demo', { money: '1.00', ref_by: 102 })),
  user(104, 'payment confirm, level 1', 'money 1.00 → 7.00', freeUser('chain-level1@demo', { money: '1.00', ref_by: 103 })),
  user(105, 'payment confirm, payer', 'money 0.00 → 30.00 when order #4 is confirmed', freeUser('payer@demo', { ref_by: 104 })),

  user(111, 'referral recover', 'its registration reward (2.00) is taken back from #82', freeUser('referred-spammer@demo', { ref_by: 82 })),
];

export const NODES: Scenario[] = [
  { table: 'ss_node', id: 1, name: 'hk-1', rule: 'daily 2 node heartbeat', expect: 'type 0: silent for 3 h', row: { type: 1, node_heartbeat: N - 3 * HOUR } },
  { table: 'ss_node', id: 2, name: 'jp-1', rule: 'daily 2 node heartbeat', expect: 'kept: silent for 1 h 59 min', row: { type: 1, node_heartbeat: N - 2 * HOUR + MINUTE } },
  { table: 'ss_node', id: 3, name: 'us-1', rule: 'daily 2 node heartbeat', expect: 'kept: already hidden (type 0)', row: { type: 0, node_heartbeat: N - 10 * DAY } },
].map((s) => ({ ...s, row: { name: s.name, server: `${s.name}.demo`, node_group: 1, ...s.row } }));

export const ORDERS: Scenario[] = [
  { table: 'paylist', id: 1, name: 'paid order', rule: 'hourly 2 stale unpaid orders', expect: 'kept: paid', row: { userid: 11, total: '20.00', status: 1, tradeno: 'DEMO-0001', datetime: N - 10 * DAY } },
  { table: 'paylist', id: 2, name: 'unpaid for 2 h', rule: 'hourly 2 stale unpaid orders', expect: 'status −1 (expired, not deleted)', row: { userid: 12, total: '10.00', status: 0, datetime: N - 2 * HOUR } },
  { table: 'paylist', id: 3, name: 'unpaid for 55 min', rule: 'hourly 2 stale unpaid orders', expect: 'kept: younger than an hour at 02:05', row: { userid: 41, total: '15.00', status: 0, datetime: N - 50 * MINUTE } },
  { table: 'paylist', id: 4, name: "payer's order", rule: 'payment confirm', expect: 'status 1, payer +30.00, 3 levels × 6.00', row: { userid: 105, total: '30.00', status: 0, datetime: N - 10 * MINUTE } },
];

/** Registration rewards (total −1) a referrer received when the user signed up. */
export const REWARDS: Scenario[] = [
  { table: 'payback', id: 1, name: 'reward for #71', rule: 'check 3 recovery', expect: 'recovered (callback 1) when #71 is deleted', row: { userid: 71, ref_by: 81, ref_get: '3.00' } },
  { table: 'payback', id: 2, name: 'reward for #74', rule: 'check 3 recovery', expect: 'kept: referrer score ≥ 32', row: { userid: 74, ref_by: 82, ref_get: '3.00' } },
  { table: 'payback', id: 3, name: 'reward for #91', rule: 'check 4 recovery', expect: 'recovered: #91 falls below score 64', row: { userid: 91, ref_by: 83, ref_get: '3.00' } },
  { table: 'payback', id: 4, name: 'reward for #111', rule: 'referral recover', expect: 'recovered by `referral recover 111`', row: { userid: 111, ref_by: 82, ref_get: '2.00' } },
  { table: 'payback', id: 5, name: 'reward for #105', rule: 'payment confirm', expect: 'kept: confirming an order does not touch it', row: { userid: 105, ref_by: 104, ref_get: '3.00' } },
].map((s) => ({ ...s, row: { total: '-1.00', callback: 0, datetime: N - 30 * DAY, paylist_id: null, ...s.row } }));

/** Traffic snapshots as the previous runs left them (no Redis: the snapshot table). */
export const SNAPSHOTS: Scenario[] = [
  snapshot(1, 21, 'traffic_lastday', 10 * GiB, N + 10 * MINUTE),
  snapshot(2, 22, 'traffic_lastday', 10 * GiB, N + 10 * MINUTE),
  snapshot(3, 24, 'traffic_lastday', 1 * GiB, N - MINUTE),
  snapshot(4, 25, 'traffic_lastday', 1 * GiB, N + 10 * MINUTE),
  snapshot(5, 26, 'traffic_lastday', 1 * GiB, N + 10 * MINUTE),
  snapshot(6, 61, 'traffic_lasthour', 12 * GiB, N + 20 * MINUTE),
  snapshot(7, 62, 'traffic_lasthour', 15 * GiB, N + 20 * MINUTE),
  snapshot(8, 63, 'traffic_lasthour', 1 * GiB, N + 20 * MINUTE),
];

function snapshot(id: number, userId: number, kind: string, total: number, expiresAt: number): Scenario {
  const state = expiresAt < N ? 'expired' : 'live';
  return { table: 'spanel_traffic_snapshot', id, name: `${kind} of #${userId}`, rule: 'traffic caps', expect: state, row: { kind, user_id: userId, total, expires_at: expiresAt } };
}

/** One row that a job removes and one it keeps, per IP and log table: [table, time column, old, fresh]. */
const AGED: [table: string, column: string, rule: string, old: number, fresh: number][] = [
  ['alive_ip', 'datetime', 'check 1 IP records', N + 10 * MINUTE - 6 * MINUTE, N + 10 * MINUTE - MINUTE],
  ['unblockip', 'datetime', 'check 1 IP records', N + 10 * MINUTE - 6 * MINUTE, N + 10 * MINUTE - MINUTE],
  ['blockip', 'datetime', 'check 1 IP records', N - 2 * DAY, N - HOUR],
  ['telegram_session', 'datetime', 'check 1 IP records', N - 2 * HOUR, N],
  ['ss_node_info', 'log_time', 'dbclean', N - 4 * DAY, N - DAY],
  ['ss_node_online_log', 'log_time', 'dbclean', N - 4 * DAY, N - DAY],
  ['user_traffic_log', 'log_time', 'dbclean', N - 4 * DAY, N - DAY],
  ['detect_log', 'datetime', 'dbclean', N - 4 * DAY, N - DAY],
  ['speedtest', 'datetime', 'dbclean', N - 4 * DAY, N - DAY],
  ['email_verify', 'expire_in', 'dbclean', N - 4 * DAY, N - DAY],
];

export const AGED_ROWS: Scenario[] = AGED.flatMap(([table, column, rule, old, fresh]) => [
  { table, id: 1, name: `old ${table}`, rule, expect: 'deleted', row: { [column]: old } },
  { table, id: 2, name: `fresh ${table}`, rule, expect: 'kept', row: { [column]: fresh } },
]);

/** The per-user tables of SPEC §2: rows of #71 (deleted) and of #75 (kept). */
const DEPENDENT_TABLES: [table: string, row: (userId: number, email: string) => Record<string, unknown>][] = [
  ['link', (id) => ({ type: 11, token: `demo-link-${id}`, userid: id })],
  ['login_ip', (id) => ({ userid: id, ip: '203.0.113.7', datetime: N - DAY, type: 0 })],
  ['ss_invite_code', (id) => ({ code: `demo-invite-${id}`, user_id: id })],
  ['user_token', (id) => ({ token: `demo-token-${id}`, user_id: id, create_time: N - DAY, expire_time: N + DAY })],
  ['ss_password_reset', (_id, email) => ({ email, token: `demo-reset-${email}`, init_time: N - DAY, expire_time: N + DAY })],
  ['bought', (id) => ({ userid: id, shopid: 1, datetime: N - 20 * DAY, renew: 0, coupon: '', price: '10.00' })],
  ['code', (id) => ({ code: `demo-code-${id}`, type: -1, number: '5.00', isused: 1, userid: id })],
  ['disconnect_ip', (id) => ({ userid: id, ip: '203.0.113.8', datetime: N - DAY })],
  ['radius_ban', (id) => ({ userid: id })],
];

export const DEPENDENT_ROWS: Scenario[] = DEPENDENT_TABLES.flatMap(([table, row]) =>
  [
    [71, 'expired-account@demo', 'deleted with #71'],
    [75, 'no-checkin-rich@demo', 'kept'],
  ].map(([userId, email, expect], i) => ({
    table,
    id: i + 1,
    name: `${table} of #${userId}`,
    rule: 'check 3 dependent rows',
    expect: String(expect),
    row: row(Number(userId), String(email)),
  })),
);

export const SCENARIOS: Scenario[] = [...USERS, ...NODES, ...ORDERS, ...REWARDS, ...SNAPSHOTS, ...AGED_ROWS, ...DEPENDENT_ROWS];

/** The id of the demo user with this email (the part before @demo is enough). */
export function demoUserId(email: string): number {
  const full = email.includes('@') ? email : `${email}@demo`;
  const found = USERS.find((s) => s.name === full);
  if (!found) throw new Error(`no demo user ${full}`);
  return found.id;
}

/** The order the demo confirms and the user whose reward it recovers by hand. */
export const DEMO_ORDER_ID = 4;
export const DEMO_RECOVER_USER_ID = 111;

/** Inserts every scenario row, table by table, ids as given. Works on MySQL and SQLite alike. */
export async function seedDemo(knex: Knex): Promise<Record<string, number>> {
  const byTable = new Map<string, Record<string, unknown>[]>();
  for (const s of SCENARIOS) {
    const rows = byTable.get(s.table) ?? [];
    rows.push({ id: s.id, ...s.row });
    byTable.set(s.table, rows);
  }
  const counts: Record<string, number> = {};
  await knex.transaction(async (trx) => {
    for (const [table, rows] of byTable) {
      await trx.batchInsert(table, rows, 100);
      counts[table] = rows.length;
    }
  });
  return counts;
}
