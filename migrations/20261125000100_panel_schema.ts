import type { Knex } from 'knex';
import { createTableChange, missingPartsChanges, tableExists, type Change, type SpanelMigration, type TableDef } from './_schema.js';

/**
 * The panel's own tables (SPEC §2) with the panel's column types. On an empty database every
 * table is created. On an existing panel (it has a `user` table) the four core tables get only
 * the columns and keys they lack; log and per-user tables are the panel's business and are left
 * alone (a missing one is skipped by the jobs and reported).
 */
const CORE: TableDef[] = [
  {
    name: 'user',
    columns: [
      ['user_name', (t) => t.string('user_name', 128).notNullable().defaultTo('')],
      ['email', (t) => t.string('email', 64).notNullable().defaultTo('')],
      ['pass', (t) => t.string('pass', 256).notNullable().defaultTo('')],
      ['passwd', (t) => t.string('passwd', 16).notNullable().defaultTo('')],
      ['is_admin', (t) => t.integer('is_admin').notNullable().defaultTo(0)],
      ['enable', (t) => t.tinyint('enable').notNullable().defaultTo(1)],
      ['t', (t) => t.integer('t').notNullable().defaultTo(0)],
      ['u', (t) => t.bigInteger('u').notNullable().defaultTo(0)],
      ['d', (t) => t.bigInteger('d').notNullable().defaultTo(0)],
      ['transfer_enable', (t) => t.bigInteger('transfer_enable').notNullable().defaultTo(0)],
      ['transfer_limit', (t) => t.bigInteger('transfer_limit').notNullable().defaultTo(0)],
      ['last_day_t', (t) => t.bigInteger('last_day_t').notNullable().defaultTo(0)],
      ['money', (t) => t.decimal('money', 12, 2).notNullable().defaultTo(0)],
      ['ref_by', (t) => t.integer('ref_by').notNullable().defaultTo(0)],
      ['score', (t) => t.integer('score').notNullable().defaultTo(100)],
      ['class', (t) => t.integer('class').notNullable().defaultTo(0)],
      ['class_expire', (t) => t.dateTime('class_expire').notNullable().defaultTo('1989-06-04 00:05:00')],
      ['expire_in', (t) => t.dateTime('expire_in').notNullable().defaultTo('2099-06-04 00:05:00')],
      ['reg_date', (t) => t.dateTime('reg_date').notNullable().defaultTo('1989-06-04 00:05:00')],
      ['node_group', (t) => t.integer('node_group').notNullable().defaultTo(0)],
      ['ban_times', (t) => t.integer('ban_times').notNullable().defaultTo(0)],
      ['warming', (t) => t.text('warming').nullable()],
      ['rss_count', (t) => t.integer('rss_count').notNullable().defaultTo(0)],
      ['rss_count_lastday', (t) => t.integer('rss_count_lastday').notNullable().defaultTo(0)],
      ['rss_ips_count', (t) => t.integer('rss_ips_count').notNullable().defaultTo(0)],
      ['rss_ips_lastday', (t) => t.integer('rss_ips_lastday').notNullable().defaultTo(0)],
      ['last_check_in_time', (t) => t.integer('last_check_in_time').notNullable().defaultTo(0)],
      ['renew_time', (t) => t.integer('renew_time').notNullable().defaultTo(0)],
    ],
  },
  {
    name: 'ss_node',
    columns: [
      ['name', (t) => t.string('name', 128).notNullable().defaultTo('')],
      ['type', (t) => t.integer('type').notNullable().defaultTo(1)],
      ['server', (t) => t.string('server', 128).notNullable().defaultTo('')],
      ['node_group', (t) => t.integer('node_group').notNullable().defaultTo(0)],
      ['node_class', (t) => t.integer('node_class').notNullable().defaultTo(0)],
      ['node_heartbeat', (t) => t.bigInteger('node_heartbeat').notNullable().defaultTo(0)],
    ],
  },
  {
    name: 'paylist',
    columns: [
      ['userid', (t) => t.bigInteger('userid').notNullable()],
      ['total', (t) => t.decimal('total', 12, 2).notNullable()],
      ['status', (t) => t.integer('status').notNullable().defaultTo(0)],
      ['tradeno', (t) => t.string('tradeno', 255).nullable()],
      ['datetime', (t) => t.bigInteger('datetime').notNullable().defaultTo(0)],
    ],
  },
  {
    name: 'payback',
    columns: [
      ['total', (t) => t.decimal('total', 12, 2).notNullable()],
      ['userid', (t) => t.bigInteger('userid').notNullable()],
      ['ref_by', (t) => t.bigInteger('ref_by').notNullable()],
      ['ref_get', (t) => t.decimal('ref_get', 12, 2).notNullable()],
      ['datetime', (t) => t.bigInteger('datetime').notNullable().defaultTo(0)],
      ['callback', (t) => t.integer('callback').notNullable().defaultTo(0)],
      // The order a commission was paid for; NULL for registration rewards. The unique key
      // makes "one order pays one referrer at most once" a property of the table itself.
      ['paylist_id', (t) => t.bigInteger('paylist_id').nullable()],
    ],
    indexes: [
      { name: 'payback_order_referrer_unique', columns: ['paylist_id', 'ref_by'], unique: true },
      { name: 'payback_userid_index', columns: ['userid'] },
    ],
  },
];

const big = (name: string) => (t: Parameters<TableDef['columns'][number][1]>[0]) => t.bigInteger(name).notNullable().defaultTo(0);
const int = (name: string) => (t: Parameters<TableDef['columns'][number][1]>[0]) => t.integer(name).notNullable().defaultTo(0);
const txt = (name: string) => (t: Parameters<TableDef['columns'][number][1]>[0]) => t.text(name).nullable();
const str = (name: string, n = 255) => (t: Parameters<TableDef['columns'][number][1]>[0]) => t.string(name, n).notNullable().defaultTo('');

/** Log / IP tables the jobs clean, and the per-user tables removed with a deleted user. */
const OPTIONAL: TableDef[] = [
  { name: 'alive_ip', id: 'bigint', columns: [['nodeid', int('nodeid')], ['userid', int('userid')], ['ip', str('ip', 128)], ['datetime', big('datetime')]] },
  { name: 'unblockip', id: 'bigint', columns: [['ip', str('ip', 128)], ['datetime', big('datetime')], ['userid', big('userid')]] },
  { name: 'blockip', id: 'bigint', columns: [['nodeid', int('nodeid')], ['ip', str('ip', 128)], ['datetime', big('datetime')]] },
  { name: 'telegram_session', id: 'bigint', columns: [['type', int('type')], ['user_id', big('user_id')], ['session_content', txt('session_content')], ['datetime', big('datetime')]] },
  { name: 'ss_node_info', id: 'bigint', columns: [['node_id', int('node_id')], ['uptime', (t) => t.float('uptime').notNullable().defaultTo(0)], ['load', str('load', 32)], ['log_time', int('log_time')]] },
  { name: 'ss_node_online_log', id: 'bigint', columns: [['node_id', int('node_id')], ['online_user', int('online_user')], ['log_time', int('log_time')]] },
  { name: 'user_traffic_log', id: 'bigint', columns: [['user_id', int('user_id')], ['u', big('u')], ['d', big('d')], ['node_id', int('node_id')], ['rate', (t) => t.float('rate').notNullable().defaultTo(1)], ['traffic', str('traffic', 32)], ['log_time', int('log_time')]] },
  { name: 'detect_log', id: 'bigint', columns: [['user_id', big('user_id')], ['list_id', big('list_id')], ['datetime', big('datetime')], ['node_id', int('node_id')], ['status', int('status')]] },
  { name: 'speedtest', id: 'bigint', columns: [['nodeid', int('nodeid')], ['datetime', big('datetime')], ['telecomping', txt('telecomping')], ['unicomping', txt('unicomping')], ['cmccping', txt('cmccping')]] },
  { name: 'email_verify', id: 'bigint', columns: [['email', str('email', 64)], ['ip', str('ip', 128)], ['code', str('code', 64)], ['expire_in', big('expire_in')]] },
  { name: 'link', id: 'bigint', columns: [['type', int('type')], ['token', str('token', 255)], ['userid', big('userid')]] },
  { name: 'login_ip', id: 'bigint', columns: [['userid', big('userid')], ['ip', str('ip', 128)], ['datetime', big('datetime')], ['type', int('type')]] },
  { name: 'ss_invite_code', columns: [['code', str('code', 128)], ['user_id', big('user_id')], ['created_at', (t) => t.dateTime('created_at').nullable()], ['updated_at', (t) => t.dateTime('updated_at').nullable()]] },
  { name: 'user_token', columns: [['token', str('token', 255)], ['user_id', big('user_id')], ['create_time', big('create_time')], ['expire_time', big('expire_time')]] },
  { name: 'ss_password_reset', columns: [['email', str('email', 64)], ['token', str('token', 128)], ['init_time', int('init_time')], ['expire_time', int('expire_time')]] },
  { name: 'bought', id: 'bigint', columns: [['userid', big('userid')], ['shopid', big('shopid')], ['datetime', big('datetime')], ['renew', big('renew')], ['coupon', str('coupon', 255)], ['price', (t) => t.decimal('price', 12, 2).notNullable().defaultTo(0)]] },
  { name: 'code', id: 'bigint', columns: [['code', str('code', 255)], ['type', int('type')], ['number', (t) => t.decimal('number', 11, 2).notNullable().defaultTo(0)], ['isused', int('isused')], ['userid', big('userid')], ['usedatetime', (t) => t.dateTime('usedatetime').nullable()]] },
  { name: 'disconnect_ip', id: 'bigint', columns: [['userid', big('userid')], ['ip', str('ip', 128)], ['datetime', big('datetime')]] },
  { name: 'radius_ban', columns: [['userid', int('userid')]] },
];

export const PANEL_CORE_TABLES = CORE.map((t) => t.name);
export const PANEL_OPTIONAL_TABLES = OPTIONAL.map((t) => t.name);

const migration: SpanelMigration = {
  async plan(knex: Knex): Promise<Change[]> {
    const fresh = !(await tableExists(knex, 'user'));
    const changes: Change[] = [];
    for (const def of CORE) {
      if (await tableExists(knex, def.name)) changes.push(...(await missingPartsChanges(knex, def)));
      else changes.push(createTableChange(def));
    }
    if (fresh) {
      for (const def of OPTIONAL) if (!(await tableExists(knex, def.name))) changes.push(createTableChange(def));
    }
    return changes;
  },
};

export default migration;
