// The bench database's life cycle: create and migrate, keep a pristine copy of the seeded
// tables, restore the tables a run changed, and a digest of the data to prove that spanel and the
// floor made the same changes.
import { connect, log } from './env.mjs';
import { DEPENDENT_TABLES, IP_TABLES, LOG_TABLES } from './seed.mjs';

export const USER_TABLES = ['user', 'ss_node', 'paylist', 'payback'];
export const SPANEL_TABLES = ['spanel_run', 'spanel_money_ledger', 'spanel_archived_user', 'spanel_archived_row', 'spanel_run_change', 'spanel_traffic_snapshot'];

/** Every seeded table: what the pristine copy holds. */
export const SEEDED_TABLES = [
  ...USER_TABLES,
  ...IP_TABLES,
  ...DEPENDENT_TABLES.map((d) => d.table),
  ...LOG_TABLES.map((l) => l.table),
];

/** Tables each job (and payment confirm) may change (SPEC §3, §4): restored after it ran. */
export const TOUCHES = {
  daily: ['user', 'ss_node'],
  hourly: ['user', 'paylist'],
  check: ['user', 'payback', ...IP_TABLES, ...DEPENDENT_TABLES.map((d) => d.table)],
  dbclean: LOG_TABLES.map((l) => l.table),
  payment: ['user', 'paylist', 'payback'],
};

const q = (name) => `\`${name.replace(/`/g, '``')}\``;

export async function recreateDatabase(target, name) {
  const admin = await connect(target, null);
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${q(name)}`);
    await admin.query(`CREATE DATABASE ${q(name)} CHARACTER SET utf8mb4`);
  } finally {
    await admin.end();
  }
}

export async function dropDatabase(target, name) {
  const admin = await connect(target, null);
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${q(name)}`);
  } finally {
    await admin.end();
  }
}

/** The sizes and "now" a pristine copy was seeded with, or null if there is none. */
export async function pristineMeta(conn, target) {
  const [rows] = await conn.query(
    'SELECT 1 FROM information_schema.tables WHERE table_schema = ? AND table_name = ?',
    [target.pristine, 'bench_meta'],
  );
  if (rows.length === 0) return null;
  const [meta] = await conn.query(`SELECT users, logs, orders, now_unix FROM ${q(target.pristine)}.bench_meta`);
  return meta[0] ?? null;
}

/** Copies every seeded table of the bench database into the pristine database. */
export async function savePristine(conn, target, meta) {
  await recreateDatabase(target, target.pristine);
  for (const t of SEEDED_TABLES) {
    await conn.query(`CREATE TABLE ${q(target.pristine)}.${q(t)} LIKE ${q(target.database)}.${q(t)}`);
    await conn.query(`INSERT INTO ${q(target.pristine)}.${q(t)} SELECT * FROM ${q(target.database)}.${q(t)}`);
  }
  await conn.query(`CREATE TABLE ${q(target.pristine)}.bench_meta (users INT, logs BIGINT, orders INT, now_unix BIGINT)`);
  await conn.query(`INSERT INTO ${q(target.pristine)}.bench_meta VALUES (?, ?, ?, ?)`, [meta.users, meta.logs, meta.orders, meta.now]);
}

/**
 * Tracks which tables differ from the pristine copy, and puts exactly those back: DROP, CREATE
 * LIKE and INSERT … SELECT is faster than undoing a million-row UPDATE and leaves no purge work.
 */
export class Restorer {
  constructor(conn, target) {
    this.conn = conn;
    this.target = target;
    this.dirty = new Set();
  }

  markAll() {
    for (const t of SEEDED_TABLES) this.dirty.add(t);
  }

  touched(job) {
    for (const t of TOUCHES[job]) this.dirty.add(t);
  }

  async restore() {
    const { conn, target } = this;
    const t0 = performance.now();
    const tables = [...this.dirty];
    for (const t of tables) {
      await conn.query(`DROP TABLE IF EXISTS ${q(target.database)}.${q(t)}`);
      await conn.query(`CREATE TABLE ${q(target.database)}.${q(t)} LIKE ${q(target.pristine)}.${q(t)}`);
      await conn.query(`INSERT INTO ${q(target.database)}.${q(t)} SELECT * FROM ${q(target.pristine)}.${q(t)}`);
      this.dirty.delete(t);
    }
    for (const t of SPANEL_TABLES) await conn.query(`TRUNCATE TABLE ${q(target.database)}.${q(t)}`);
    if (tables.length) log(`restored ${tables.join(', ')} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
}

/**
 * Waits (up to a limit) until InnoDB has purged the undo of earlier runs, so that purge does not
 * steal the next run's I/O and CPU: after dbclean's 900 small transactions the history list is
 * about 900 long, and a batched delete walking behind an unpurged one is measurably slower.
 */
export async function settle(conn, limitMs = 120_000) {
  const t0 = Date.now();
  for (;;) {
    const [rows] = await conn.query("SELECT `count` AS n FROM information_schema.innodb_metrics WHERE name = 'trx_rseg_history_len'");
    const n = Number(rows[0]?.n ?? 0);
    if (n < 50) return n;
    if (Date.now() - t0 > limitMs) {
      log(`InnoDB history list still ${n} long after ${limitMs / 1000} s: measuring anyway`);
      return n;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Reads a job's main tables once so that neither contender starts with a colder buffer pool. */
export async function warm(conn, job) {
  for (const t of TOUCHES[job]) await conn.query(`SELECT COUNT(*), MAX(id) FROM ${q(t)} USE INDEX (PRIMARY)`);
  if (job === 'daily' || job === 'hourly' || job === 'check') await conn.query('SELECT SUM(t), SUM(u) FROM user');
}

/**
 * A digest of everything the jobs may change, compared between spanel's run and the floor's.
 * Warnings compare by their timestamp prefix only: the wording is the implementation's.
 */
export async function digest(conn, job) {
  const out = {};
  const crc = async (table, cols) => {
    const [rows] = await conn.query(
      `SELECT COUNT(*) AS n, COALESCE(SUM(CRC32(CONCAT_WS('|', ${cols}))), 0) AS h FROM ${q(table)}`,
    );
    out[table] = `${rows[0].n}:${rows[0].h}`;
  };
  if (job !== 'dbclean') {
    await crc(
      'user',
      "id, is_admin, enable, t, u, d, transfer_enable, transfer_limit, last_day_t, money, ref_by, score, class, class_expire, expire_in, reg_date, node_group, ban_times, LEFT(IFNULL(warming, ''), 17), rss_count_lastday, rss_ips_lastday, renew_time",
    );
    await crc('ss_node', 'id, type, node_heartbeat');
    await crc('paylist', 'id, userid, total, status, IFNULL(tradeno, "")');
    await crc('payback', 'total, userid, ref_by, ref_get, callback, IFNULL(paylist_id, "")');
    await crc('spanel_archived_user', 'user_id');
    await crc('spanel_archived_row', "user_id, table_name, JSON_LENGTH(row_json)");
    await crc('spanel_money_ledger', 'user_id, amount_before, amount_after, delta');
    for (const t of [...IP_TABLES, ...DEPENDENT_TABLES.map((d) => d.table)]) {
      const [rows] = await conn.query(`SELECT COUNT(*) AS n FROM ${q(t)}`);
      out[t] = String(rows[0].n);
    }
  } else {
    for (const { table } of LOG_TABLES) {
      const [rows] = await conn.query(`SELECT COUNT(*) AS n, COALESCE(SUM(id), 0) AS s FROM ${q(table)}`);
      out[table] = `${rows[0].n}:${rows[0].s}`;
    }
  }
  return out;
}

export function digestDiff(a, b) {
  return Object.keys({ ...a, ...b }).filter((k) => a[k] !== b[k]);
}
