import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appliedMigrations, migrateLatest, migrationNames, planPending } from '../../src/db/migrations.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/db.js';
import { dump } from '../helpers/fixtures.js';

const SPEC_USER_COLUMNS = [
  'id', 'email', 'is_admin', 'enable', 't', 'u', 'd', 'transfer_enable', 'transfer_limit', 'last_day_t', 'money',
  'ref_by', 'score', 'class', 'class_expire', 'expire_in', 'reg_date', 'node_group', 'ban_times', 'warming',
  'rss_count', 'rss_count_lastday', 'rss_ips_count', 'rss_ips_lastday', 'last_check_in_time', 'renew_time',
];
const ALL_PANEL_TABLES = [
  'user', 'ss_node', 'paylist', 'payback', 'alive_ip', 'unblockip', 'blockip', 'telegram_session', 'ss_node_info',
  'ss_node_online_log', 'user_traffic_log', 'detect_log', 'speedtest', 'email_verify', 'link', 'login_ip',
  'ss_invite_code', 'user_token', 'ss_password_reset', 'bought', 'code', 'disconnect_ip', 'radius_ban',
];
const SPANEL_TABLES = ['spanel_run', 'spanel_money_ledger', 'spanel_archived_user', 'spanel_traffic_snapshot', 'spanel_lock', 'spanel_run_change', 'spanel_archived_row'];

describe('the migration list', () => {
  it('names every migration file in migrations/, so the bundled CLI carries them all', () => {
    const files = readdirSync(new URL('../../migrations/', import.meta.url))
      .filter((f) => /^\d+_[\w-]+\.ts$/.test(f))
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();
    expect(files.length).toBeGreaterThanOrEqual(5);
    expect(migrationNames()).toEqual(files);
  });
});

describe.each(DIALECTS)('migrate on an empty %s database', (dialect) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(dialect, { migrate: false });
  });
  afterAll(() => t.drop());

  it('dry run lists every table it would create and creates nothing', async () => {
    const r = await runCli(['migrate', '--dry-run', '--json'], { DATABASE_URL: t.url });
    expect(r.code).toBe(0);
    const out = r.json();
    expect(out.dryRun).toBe(true);
    const changes: string[] = out.migrations.flatMap((m: { changes: string[] }) => m.changes);
    for (const table of [...ALL_PANEL_TABLES, ...SPANEL_TABLES]) expect(changes).toContain(changes.find((c) => c.startsWith(`create table ${table} (`)));
    expect(await t.db.dialect.existingTables(t.knex, [...ALL_PANEL_TABLES, ...SPANEL_TABLES, 'spanel_migrations'])).toEqual(new Set());
  });

  it('creates every panel table with the columns SPEC §2 names, and the spanel tables', async () => {
    const r = await runCli(['migrate'], { DATABASE_URL: t.url });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('applied 20261125000100_panel_schema');
    const tables = await t.db.dialect.existingTables(t.knex, [...ALL_PANEL_TABLES, ...SPANEL_TABLES]);
    expect([...tables].sort()).toEqual([...ALL_PANEL_TABLES, ...SPANEL_TABLES].sort());
    const userCols = Object.keys(await t.knex('user').columnInfo());
    for (const c of [...SPEC_USER_COLUMNS, 'pass']) expect(userCols).toContain(c);
    expect(Object.keys(await t.knex('payback').columnInfo())).toEqual(
      expect.arrayContaining(['id', 'total', 'userid', 'ref_by', 'ref_get', 'datetime', 'callback', 'paylist_id']),
    );
    expect(Object.keys(await t.knex('paylist').columnInfo())).toEqual(expect.arrayContaining(['id', 'userid', 'total', 'status', 'tradeno', 'datetime']));
    expect(Object.keys(await t.knex('ss_node').columnInfo())).toEqual(expect.arrayContaining(['id', 'type', 'node_heartbeat']));
  });

  it('uses the panel types: DECIMAL(12,2) money, BIGINT traffic, DATETIME panel-local times', async () => {
    const info = await t.knex('user').columnInfo();
    if (dialect === 'mysql') {
      expect(info.money!.type).toBe('decimal');
      expect(info.u!.type).toBe('bigint');
      expect(info.class_expire!.type).toBe('datetime');
      expect(info.reg_date!.type).toBe('datetime');
      expect(info.t!.type).toBe('int');
    } else {
      expect(info.money!.type).toMatch(/^(decimal|float)/);
      expect(info.class_expire!.type).toBe('datetime');
    }
  });

  it('enforces one commission per order and referrer with a unique key', async () => {
    await t.knex('payback').insert({ total: '10.00', userid: 1, ref_by: 2, ref_get: '2.00', datetime: 0, paylist_id: 7 });
    await expect(t.knex('payback').insert({ total: '10.00', userid: 1, ref_by: 2, ref_get: '2.00', datetime: 0, paylist_id: 7 })).rejects.toThrow();
    // Registration rewards have no order: any number of them may coexist.
    await t.knex('payback').insert({ total: '-1', userid: 1, ref_by: 2, ref_get: '1.00', datetime: 0, paylist_id: null });
    await t.knex('payback').insert({ total: '-1', userid: 3, ref_by: 2, ref_get: '1.00', datetime: 0, paylist_id: null });
    await t.knex('payback').del();
  });

  it('a second run is a no-op', async () => {
    const r = await runCli(['migrate', '--json'], { DATABASE_URL: t.url });
    expect(r.code).toBe(0);
    expect(r.json().migrations).toEqual([]);
    expect(await appliedMigrations(t.knex)).toEqual(migrationNames());
    const status = await runCli(['migrate', 'status', '--json'], { DATABASE_URL: t.url });
    expect(status.json().migrations.every((m: { applied: boolean }) => m.applied)).toBe(true);
  });
});

/**
 * An existing panel as older SSPanel installs have it: its own column order and extra columns,
 * no renew_time / score / ban_times / warming / rss_* on user, no callback or order reference
 * on payback, some log tables missing, and real rows in every table.
 */
async function buildOldPanel(t: TestDatabase): Promise<void> {
  const k = t.knex;
  await k.schema.createTable('user', (tb) => {
    tb.increments('id');
    tb.string('user_name', 128).notNullable();
    tb.string('email', 32).notNullable();
    tb.string('pass', 64).notNullable();
    tb.integer('t').notNullable().defaultTo(0);
    tb.bigInteger('u').notNullable();
    tb.bigInteger('d').notNullable();
    tb.bigInteger('transfer_enable').notNullable();
    tb.tinyint('enable').notNullable().defaultTo(1);
    tb.integer('last_check_in_time').notNullable().defaultTo(0);
    tb.dateTime('reg_date').notNullable();
    tb.decimal('money', 12, 2).notNullable();
    tb.integer('ref_by').notNullable().defaultTo(0);
    tb.integer('is_admin').notNullable().defaultTo(0);
    tb.bigInteger('last_day_t').notNullable().defaultTo(0);
    tb.integer('class').notNullable().defaultTo(0);
    tb.dateTime('class_expire').notNullable().defaultTo('1989-06-04 00:05:00');
    tb.dateTime('expire_in').notNullable().defaultTo('2099-06-04 00:05:00');
    tb.integer('node_group').notNullable().defaultTo(0);
    tb.text('theme').nullable();
  });
  await k.schema.createTable('ss_node', (tb) => {
    tb.increments('id');
    tb.string('name', 128).notNullable();
    tb.integer('type').notNullable();
    tb.bigInteger('node_heartbeat').notNullable().defaultTo(0);
    tb.string('info', 128).nullable();
  });
  await k.schema.createTable('paylist', (tb) => {
    tb.bigIncrements('id');
    tb.bigInteger('userid').notNullable();
    tb.decimal('total', 12, 2).notNullable();
    tb.integer('status').notNullable().defaultTo(0);
    tb.text('tradeno').nullable();
    tb.bigInteger('datetime').notNullable().defaultTo(0);
  });
  await k.schema.createTable('payback', (tb) => {
    tb.bigIncrements('id');
    tb.decimal('total', 12, 2).notNullable();
    tb.bigInteger('userid').notNullable();
    tb.bigInteger('ref_by').notNullable();
    tb.decimal('ref_get', 12, 2).notNullable();
    tb.bigInteger('datetime').notNullable();
  });
  await k.schema.createTable('alive_ip', (tb) => {
    tb.bigIncrements('id');
    tb.integer('nodeid');
    tb.integer('userid');
    tb.text('ip');
    tb.bigInteger('datetime');
  });
  await k('user').insert([
    { user_name: 'alice', email: 'alice@x', pass: 'h1', t: 1700000000, u: '123456789012', d: '42', transfer_enable: '1073741824', reg_date: '2024-02-29 23:59:59', money: '12.34', ref_by: 0, is_admin: 0, class: 2, theme: 'material' },
    { user_name: 'bob', email: 'bob@x', pass: 'h2', t: 0, u: 0, d: 0, transfer_enable: 0, reg_date: '2025-01-01 00:00:00', money: '-3.50', ref_by: 1, is_admin: 1, class: 0, theme: null },
  ]);
  await k('ss_node').insert({ name: 'tokyo', type: 1, node_heartbeat: 1700000000, info: 'x' });
  await k('paylist').insert({ userid: 1, total: '30.00', status: 1, tradeno: 'T1', datetime: 1700000000 });
  await k('payback').insert({ total: '-1', userid: 2, ref_by: 1, ref_get: '5.00', datetime: 1700000000 });
  await k('alive_ip').insert({ nodeid: 1, userid: 1, ip: '1.2.3.4', datetime: 1700000000 });
}

describe.each(DIALECTS)('migrate on an existing %s panel database', (dialect) => {
  let t: TestDatabase;
  const snapshot = async () =>
    Object.fromEntries(await Promise.all(['user', 'ss_node', 'paylist', 'payback', 'alive_ip'].map(async (tb) => [tb, await dump(t.knex, tb)])));

  beforeAll(async () => {
    t = await createTestDatabase(dialect, { migrate: false });
    await buildOldPanel(t);
  });
  afterAll(() => t.drop());

  it('plans only what is missing', async () => {
    const plan = (await planPending(t.knex)).flatMap((m) => m.changes);
    expect(plan).toContain('add column user.renew_time');
    expect(plan).toContain('add column user.score');
    expect(plan).toContain('add column payback.callback');
    expect(plan).toContain('add column payback.paylist_id');
    expect(plan).toContain('add unique index payback_order_referrer_unique on payback (paylist_id, ref_by)');
    expect(plan).not.toContain('add column user.money');
    expect(plan.some((c) => c.startsWith('create table user '))).toBe(false);
    // Log and per-user tables belong to the panel: an install without them is not "fixed" by spanel.
    expect(plan.some((c) => c.startsWith('create table login_ip '))).toBe(false);
    expect(plan.some((c) => c.startsWith('create table spanel_run '))).toBe(true);
  });

  it('adds the missing columns and tables, leaving every existing row and column as it was', async () => {
    const before = await snapshot();
    const beforeTypes = await t.knex('user').columnInfo();
    await migrateLatest(t.knex);
    const after = await snapshot();
    for (const [table, rows] of Object.entries(before)) {
      const afterRows = after[table] as Record<string, unknown>[];
      expect(afterRows).toHaveLength((rows as unknown[]).length);
      (rows as Record<string, unknown>[]).forEach((row, i) => expect(afterRows[i]).toMatchObject(row));
    }
    const afterTypes = await t.knex('user').columnInfo();
    for (const [col, info] of Object.entries(beforeTypes)) expect(afterTypes[col]).toEqual(info);
    const user = (await t.knex('user').where('id', 1).first()) as Record<string, unknown>;
    expect(Number(user.renew_time)).toBe(0);
    expect(Number(user.ban_times)).toBe(0);
    expect(String(user.money)).toMatch(/^12\.34$/);
    expect(user.theme).toBe('material');
    const payback = (await t.knex('payback').first()) as Record<string, unknown>;
    expect(Number(payback.callback)).toBe(0);
    expect(payback.paylist_id).toBeNull();
    expect(await t.db.dialect.existingTables(t.knex, ['login_ip', 'link'])).toEqual(new Set());
  });

  it('a second run changes nothing', async () => {
    const before = await snapshot();
    expect(await planPending(t.knex)).toEqual([]);
    const r = await runCli(['migrate'], { DATABASE_URL: t.url });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('nothing to do');
    expect(await snapshot()).toEqual(before);
  });
});
