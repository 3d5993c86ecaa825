import type { Knex } from 'knex';

/**
 * Panel schemas as the published SQL leaves them, written for these tests from their facts
 * (column types, nullability, defaults); only the tables and columns spanel reads or writes,
 * plus a few it must leave alone.
 *
 * SPanel (supersongssr/SPanel, branch SPanel, sql/all.sql and its later ALTERs): `user` from the
 * v3-mod base (u/d BIGINT NOT NULL without default, reg_date DATETIME NOT NULL without default,
 * class_expire default 1989-06-04 00:05:00), then ADDed columns that are NULLable with a default
 * (score, transfer_limit, rss_*, renew_time); `payback` created without `callback`, then
 * `ADD callback INT(8) … AFTER ref_get`: NULLable, no default; `code.number` DECIMAL(11,2) after
 * its CHANGE; `paylist.tradeno` TEXT.
 */
export async function createSpanelSchema(knex: Knex, opts: { nullableCounters?: boolean } = {}): Promise<void> {
  const counter = opts.nullableCounters ? 'bigint(20) NULL' : 'bigint(20) NOT NULL';
  const ddl = [
    `CREATE TABLE \`user\` (
      \`id\` int(11) NOT NULL AUTO_INCREMENT,
      \`user_name\` varchar(128) NOT NULL,
      \`email\` varchar(64) NOT NULL,
      \`pass\` varchar(64) NOT NULL,
      \`passwd\` varchar(16) NOT NULL,
      \`t\` int(11) NOT NULL DEFAULT '0',
      \`u\` ${counter},
      \`d\` ${counter},
      \`plan\` varchar(2) NOT NULL DEFAULT 'A',
      \`transfer_enable\` bigint(20) NOT NULL,
      \`transfer_limit\` bigint(20) DEFAULT '1073741824',
      \`port\` int(11) NOT NULL,
      \`enable\` tinyint(4) NOT NULL DEFAULT '1',
      \`last_check_in_time\` int(11) NOT NULL DEFAULT '0',
      \`reg_date\` datetime NOT NULL,
      \`invite_num\` int(8) NOT NULL,
      \`money\` decimal(12,2) NOT NULL,
      \`ref_by\` int(11) NOT NULL DEFAULT '0',
      \`score\` int(8) DEFAULT '0',
      \`reg_ip\` varchar(128) NOT NULL DEFAULT '127.0.0.1',
      \`is_admin\` int(2) NOT NULL DEFAULT '0',
      \`last_day_t\` bigint(20) NOT NULL DEFAULT '0',
      \`class\` int(11) NOT NULL DEFAULT '0',
      \`class_expire\` datetime NOT NULL DEFAULT '1989-06-04 00:05:00',
      \`expire_in\` datetime NOT NULL DEFAULT '2099-06-04 00:05:00',
      \`node_group\` int(11) NOT NULL DEFAULT '0',
      \`ban_times\` int(11) NOT NULL DEFAULT '0',
      \`rss_count\` int(11) DEFAULT '0',
      \`rss_count_lastday\` int(11) DEFAULT '0',
      \`rss_ips_count\` int(11) DEFAULT '0',
      \`rss_ips_lastday\` int(11) DEFAULT '0',
      \`warming\` text,
      \`renew_time\` int(11) DEFAULT '0',
      PRIMARY KEY (\`id\`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8`,
    `CREATE TABLE \`ss_node\` (
      \`id\` int(11) NOT NULL AUTO_INCREMENT,
      \`name\` varchar(128) NOT NULL,
      \`type\` int(3) NOT NULL,
      \`server\` varchar(500) NOT NULL,
      \`node_group\` int(11) NOT NULL DEFAULT '0',
      \`node_class\` int(11) NOT NULL DEFAULT '0',
      \`node_heartbeat\` bigint(20) NOT NULL DEFAULT '0',
      PRIMARY KEY (\`id\`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    `CREATE TABLE \`paylist\` (
      \`id\` bigint(20) NOT NULL AUTO_INCREMENT,
      \`userid\` bigint(20) NOT NULL,
      \`total\` decimal(12,2) NOT NULL,
      \`status\` int(11) NOT NULL DEFAULT '0',
      \`tradeno\` text,
      \`datetime\` bigint(20) NOT NULL DEFAULT '0',
      PRIMARY KEY (\`id\`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8`,
    `CREATE TABLE \`payback\` (
      \`id\` BIGINT NOT NULL AUTO_INCREMENT,
      \`total\` DECIMAL(12,2) NOT NULL,
      \`userid\` BIGINT NOT NULL,
      \`ref_by\` BIGINT NOT NULL,
      \`ref_get\` DECIMAL(12,2) NOT NULL,
      \`datetime\` BIGINT NOT NULL,
      PRIMARY KEY (\`id\`)
    ) ENGINE=InnoDB`,
    `ALTER TABLE \`payback\` ADD \`callback\` INT(8) COMMENT 'recovered: 1, referrer gone: 3' AFTER \`ref_get\``,
    `CREATE TABLE \`code\` (
      \`id\` bigint(20) NOT NULL AUTO_INCREMENT,
      \`code\` text NOT NULL,
      \`type\` int(11) NOT NULL,
      \`number\` DECIMAL(11,2) NOT NULL,
      \`isused\` int(11) NOT NULL DEFAULT '0',
      \`userid\` bigint(20) NOT NULL,
      \`usedatetime\` datetime NOT NULL,
      PRIMARY KEY (\`id\`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8`,
    `CREATE TABLE \`link\` (
      \`id\` bigint(20) NOT NULL AUTO_INCREMENT,
      \`type\` int(11) NOT NULL,
      \`address\` text NOT NULL,
      \`port\` int(11) NOT NULL,
      \`token\` text NOT NULL,
      \`ios\` int(11) NOT NULL DEFAULT '0',
      \`userid\` bigint(20) NOT NULL,
      \`isp\` text,
      \`geo\` int(11) DEFAULT NULL,
      \`method\` text,
      PRIMARY KEY (\`id\`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8`,
    `CREATE TABLE \`alive_ip\` (
      \`id\` bigint(20) NOT NULL AUTO_INCREMENT,
      \`nodeid\` int(11) NOT NULL,
      \`userid\` int(11) NOT NULL,
      \`ip\` text NOT NULL,
      \`datetime\` bigint(20) NOT NULL,
      PRIMARY KEY (\`id\`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8`,
  ];
  for (const sql of ddl) await knex.raw(sql);
}

/** A user row as the PHP registration writes it (the columns it sets), with overrides. */
export function phpUser(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    user_name: 'php',
    email: `php${Math.random().toString(36).slice(2, 10)}@example.com`,
    pass: 'x',
    passwd: 'x',
    t: 0,
    u: 0,
    d: 0,
    transfer_enable: 1073741824,
    port: 10000,
    reg_date: '2026-01-01 00:00:00',
    invite_num: 0,
    money: '0.00',
    ref_by: 0,
    ...overrides,
  };
}

/** A registration reward as AuthController writes it: total −1, no callback (NULL). */
export function phpReward(userid: number, refBy: number, refGet: string, datetime = 1_760_000_000): Record<string, unknown> {
  return { total: '-1.00', userid, ref_by: refBy, ref_get: refGet, datetime };
}

/**
 * SSPanel-UIM (Anankke/SSPanel-UIM, db/migrations/2023020100-init.php): `node` instead of
 * `ss_node`; `user` with last_use_time, is_banned, transfer_today and no enable/t/expire_in;
 * unsigned counters; `paylist.status` TINYINT UNSIGNED with invoices.
 */
export async function createUimSchema(knex: Knex): Promise<void> {
  const ddl = [
    `CREATE TABLE \`node\` (
      \`id\` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
      \`name\` varchar(255) NOT NULL DEFAULT '',
      \`type\` tinyint(1) unsigned NOT NULL DEFAULT 1,
      \`node_group\` smallint(5) unsigned NOT NULL DEFAULT 0,
      \`node_heartbeat\` int(11) unsigned NOT NULL DEFAULT 0,
      PRIMARY KEY (\`id\`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    `CREATE TABLE \`user\` (
      \`id\` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
      \`user_name\` varchar(255) NOT NULL DEFAULT '',
      \`email\` varchar(255) NOT NULL,
      \`u\` bigint(20) unsigned NOT NULL DEFAULT 0,
      \`d\` bigint(20) unsigned NOT NULL DEFAULT 0,
      \`transfer_today\` bigint(20) unsigned NOT NULL DEFAULT 0,
      \`transfer_enable\` bigint(20) unsigned NOT NULL DEFAULT 0,
      \`last_use_time\` int(11) unsigned NOT NULL DEFAULT 0,
      \`last_check_in_time\` int(11) unsigned DEFAULT 0,
      \`reg_date\` datetime NOT NULL DEFAULT '1989-06-04 00:05:00',
      \`money\` decimal(12,2) NOT NULL DEFAULT 0.00,
      \`ref_by\` bigint(20) unsigned NOT NULL DEFAULT 0,
      \`is_admin\` tinyint(1) unsigned NOT NULL DEFAULT 0,
      \`class\` smallint(5) unsigned NOT NULL DEFAULT 0,
      \`class_expire\` datetime NOT NULL DEFAULT '1989-06-04 00:05:00',
      \`node_group\` smallint(6) unsigned NOT NULL DEFAULT 0,
      \`is_banned\` tinyint(1) unsigned NOT NULL DEFAULT 0,
      \`banned_reason\` varchar(255) NOT NULL DEFAULT '',
      PRIMARY KEY (\`id\`),
      UNIQUE KEY \`email\` (\`email\`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    `CREATE TABLE \`paylist\` (
      \`id\` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
      \`userid\` bigint(20) unsigned NOT NULL DEFAULT 0,
      \`total\` decimal(12,2) NOT NULL DEFAULT 0,
      \`status\` tinyint(1) unsigned NOT NULL DEFAULT 0,
      \`invoice_id\` bigint(20) unsigned NOT NULL DEFAULT 0,
      \`tradeno\` varchar(255) NOT NULL DEFAULT '',
      \`gateway\` varchar(255) NOT NULL DEFAULT '',
      \`datetime\` int(11) unsigned NOT NULL DEFAULT 0,
      PRIMARY KEY (\`id\`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    `CREATE TABLE \`payback\` (
      \`id\` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
      \`total\` decimal(12,2) NOT NULL DEFAULT 0,
      \`userid\` bigint(20) unsigned NOT NULL DEFAULT 0,
      \`ref_by\` bigint(20) unsigned NOT NULL DEFAULT 0,
      \`ref_get\` decimal(12,2) NOT NULL DEFAULT 0,
      \`invoice_id\` bigint(20) unsigned NOT NULL DEFAULT 0,
      \`datetime\` int(11) unsigned NOT NULL DEFAULT 0,
      PRIMARY KEY (\`id\`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
    `CREATE TABLE \`invoice\` (
      \`id\` bigint(20) unsigned NOT NULL AUTO_INCREMENT,
      \`user_id\` bigint(20) unsigned NOT NULL DEFAULT 0,
      \`price\` decimal(12,2) unsigned NOT NULL DEFAULT 0,
      \`status\` varchar(255) NOT NULL DEFAULT '',
      PRIMARY KEY (\`id\`)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4`,
  ];
  for (const sql of ddl) await knex.raw(sql);
  await knex('user').insert([
    { email: 'a@uim', u: 10, d: 20, last_use_time: 1_764_000_000, reg_date: '2025-01-01 00:00:00', money: '5.00', class: 1, node_group: 2 },
    { email: 'b@uim', u: 0, d: 0, last_use_time: 1_764_000_000, reg_date: '2025-01-01 00:00:00', money: '-1.00' },
  ]);
  await knex('node').insert({ name: 'n1', node_heartbeat: 1 });
  await knex('paylist').insert({ userid: 1, total: '10.00', status: 0, invoice_id: 1, tradeno: 'T1', datetime: 1 });
  await knex('invoice').insert({ user_id: 1, price: '10.00', status: 'unpaid' });
}

/** What "unchanged" means for a schema: its tables, every column definition, every table's checksum. */
export async function schemaFingerprint(knex: Knex): Promise<{ tables: string[]; columns: string[]; checksums: Record<string, string> }> {
  const [tables] = (await knex.raw(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY 1`)) as [{ t: string }[]];
  const [columns] = (await knex.raw(
    `SELECT CONCAT_WS(' ', table_name, column_name, column_type, is_nullable, IFNULL(column_default, 'NULL')) AS c
       FROM information_schema.columns WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position`,
  )) as [{ c: string }[]];
  const checksums: Record<string, string> = {};
  for (const { t } of tables) {
    const [[row]] = (await knex.raw(`CHECKSUM TABLE \`${t}\``)) as [{ Checksum: unknown }[]];
    checksums[t] = String(row?.Checksum);
  }
  return { tables: tables.map((r) => r.t), columns: columns.map((r) => r.c), checksums };
}
