// Seeds the bench database with INSERT … SELECT from MariaDB's sequence engine: no row crosses
// the wire, so a million users take seconds. Every value is arithmetic on the sequence number
// (CRC32 of it for a well-spread pseudo-random), so a seed is reproducible for given sizes and "now".
import { DAY, GiB, log, panelLocal, timed } from './env.mjs';

const CHUNK = 500_000;
const MiB = 1024 * 1024;

/** Users deleted by the check job (rules a–d, 40 each) and as many near misses: below MAX_DELETE_PER_RUN. */
export const DELETE_CANDIDATES = 160;
/** Users with a negative balance that the check job disables. */
export const NEGATIVE_BALANCES = 500;

/** The log tables dbclean cleans, their time column, and their share of --logs. */
export const LOG_TABLES = [
  { table: 'user_traffic_log', column: 'log_time', share: 0.55 },
  { table: 'detect_log', column: 'datetime', share: 0.15 },
  { table: 'ss_node_online_log', column: 'log_time', share: 0.1 },
  { table: 'ss_node_info', column: 'log_time', share: 0.1 },
  { table: 'speedtest', column: 'datetime', share: 0.05 },
  { table: 'email_verify', column: 'expire_in', share: 0.05 },
];

/** Tables a user's deletion removes rows from (SPEC §2). */
export const DEPENDENT_TABLES = [
  { table: 'link', column: 'userid' },
  { table: 'login_ip', column: 'userid' },
  { table: 'ss_invite_code', column: 'user_id' },
  { table: 'user_token', column: 'user_id' },
  { table: 'ss_password_reset', column: 'email' },
  { table: 'bought', column: 'userid' },
  { table: 'code', column: 'userid' },
  { table: 'disconnect_ip', column: 'userid' },
  { table: 'radius_ban', column: 'userid' },
];

export const IP_TABLES = ['alive_ip', 'unblockip', 'blockip', 'telegram_session'];

/** Spacing of the special users: the i-th deletion candidate is user i × step. */
export function specialSteps(users) {
  return {
    del: Math.floor(users / (DELETE_CANDIDATES + 1)),
    neg: Math.floor(users / (NEGATIVE_BALANCES + 1)),
  };
}

/** Runs `sql` once per chunk of the sequence 1..n, with `{from}`/`{to}` replaced. */
async function chunked(conn, n, sql, params = []) {
  for (let from = 1; from <= n; from += CHUNK) {
    const to = Math.min(n, from + CHUNK - 1);
    await conn.query(sql.replaceAll('{seq}', `seq_${from}_to_${to}`), params);
  }
}

export async function seed(conn, { users: N, logs: M, orders: O, now: NOW }) {
  const NOWL = panelLocal(NOW);
  await conn.query('SET SESSION unique_checks = 0, foreign_key_checks = 0');
  const steps = specialSteps(N);

  await timed(`seed ${N} users`, async () => {
    // Activity band r: 10% within the hour, 40% more within the day, 20% 1–7 days ago,
    // 20% 7–37 days ago, 10% never. 60% paid (class 1–3), 95% enabled, 30% referred.
    await chunked(
      conn,
      N,
      `INSERT INTO user (id, user_name, email, pass, passwd, is_admin, enable, t, u, d, transfer_enable,
         transfer_limit, last_day_t, money, ref_by, score, class, class_expire, expire_in, reg_date, node_group,
         ban_times, warming, rss_count, rss_count_lastday, rss_ips_count, rss_ips_lastday, last_check_in_time, renew_time)
       SELECT seq, CONCAT('u', seq), CONCAT('u', seq, '@bench.test'), CONCAT('$2y$10$', LPAD(h1, 53, 'x')), LPAD(h2 % 100000000, 8, 'p'),
         0, IF(h2 % 100 < 95, 1, 0), tt,
         IF(tt = 0, 0, (h2 % 20480) * ${MiB}),
         IF(tt = 0, 0, ((h1 DIV 5000) % 102400) * ${MiB}),
         (cls + 1) * 100 * ${GiB}, cls * 10 * ${GiB}, 0,
         CAST((200 + h2 % 10000) / 100 AS DECIMAL(12,2)),
         IF((h1 DIV 100000) % 10 < 3 AND seq > 1, 1 + h2 % (seq - 1), 0),
         IF((h1 DIV 7) % 100 < 3, 20, 100),
         cls,
         IF(cls > 0, IF((h1 DIV 13) % 100 < 2, CAST(? AS DATETIME) - INTERVAL (1 + h2 % 2592000) SECOND,
                                               CAST(? AS DATETIME) + INTERVAL (1 + h2 % 2592000) SECOND), '2020-01-01 00:00:00'),
         IF((h2 DIV 7) % 100 < 1, CAST(? AS DATETIME) - INTERVAL 10 DAY, CAST(? AS DATETIME) + INTERVAL 365 DAY),
         IF((h1 DIV 17) % 100 < 5, CAST(? AS DATETIME) - INTERVAL (h2 % 2592000) SECOND,
                                   CAST(? AS DATETIME) - INTERVAL (5184000 + h2 % 63072000) SECOND),
         g, 0, NULL, h1 % 50, 0, h2 % 10, 0, ${NOW} - h2 % 5184000,
         IF(cls > 0, IF((h1 DIV 19) % 100 < 5, ${NOW} - 1 - h2 % ${DAY}, ${NOW} + h2 % (cls * 864000)), 0)
       FROM (
         SELECT seq, h1, h2, 1 + (h1 DIV 1000) % 5 AS g,
           IF((h2 DIV 100) % 100 < 60, 1 + (h2 DIV 10000) % 3, 0) AS cls,
           CASE WHEN h1 % 1000 < 100 THEN ${NOW} - h2 % 3600
                WHEN h1 % 1000 < 500 THEN ${NOW} - 3600 - h2 % 82800
                WHEN h1 % 1000 < 700 THEN ${NOW} - 86400 - h2 % 518400
                WHEN h1 % 1000 < 900 THEN ${NOW} - 604800 - h2 % 2592000
                ELSE 0 END AS tt
         FROM (SELECT seq, CRC32(seq) AS h1, CRC32(seq * 31 + 7) AS h2 FROM {seq}) a
       ) b`,
      [NOWL, NOWL, NOWL, NOWL, NOWL, NOWL],
    );
    await specialUsers(conn, N, NOW, NOWL, steps);
  });

  await timed('seed nodes, orders, referral rewards', async () => {
    // 200 nodes: 10 stale with type≠0 (marked faulty), 10 stale already faulty, 20 just inside the timeout.
    await conn.query(
      `INSERT INTO ss_node (id, name, type, server, node_group, node_class, node_heartbeat)
       SELECT seq, CONCAT('node', seq), IF(seq % 20 = 0, 0, 1), CONCAT('n', seq, '.bench.test'), 1 + seq % 5, seq % 4,
         CASE WHEN seq % 10 = 0 THEN ${NOW} - 7201 - 60 * seq WHEN seq % 10 = 1 THEN ${NOW} - 7170 ELSE ${NOW} - seq % 120 END
       FROM seq_1_to_200`,
    );
    // Orders: 70% paid, 20% already expired, 8% unpaid and stale, 2% unpaid within the hour.
    await chunked(
      conn,
      O,
      `INSERT INTO paylist (id, userid, total, status, tradeno, datetime)
       SELECT seq, 1 + h % ${N}, (1 + h % 10) * 10, st, IF(st = 1, CONCAT('T', seq), NULL),
         CASE WHEN b >= 98 THEN ${NOW} - h % 3000 WHEN b >= 90 THEN ${NOW} - 3601 - h % 604800 ELSE ${NOW} - h % 2592000 END
       FROM (SELECT seq, h, (h DIV 1000) % 100 AS b, CASE WHEN (h DIV 1000) % 100 < 70 THEN 1 WHEN (h DIV 1000) % 100 < 90 THEN -1 ELSE 0 END AS st
             FROM (SELECT seq, CRC32(CONCAT('o', seq)) AS h FROM {seq}) a) b`,
    );
    // A registration reward for every referred user, commissions for paid orders, and 2% of
    // rewards already recovered (so "no matching −2 row" is a real anti-join).
    await conn.query(
      `INSERT INTO payback (total, userid, ref_by, ref_get, datetime, callback, paylist_id)
       SELECT -1, id, ref_by, 3.00, ${NOW} - 40 * ${DAY}, IF(id % 50 = 7, 1, 0), NULL FROM user WHERE ref_by <> 0`,
    );
    await conn.query(
      `INSERT INTO payback (total, userid, ref_by, ref_get, datetime, callback, paylist_id)
       SELECT -2, id, ref_by, -3.00, ${NOW} - 20 * ${DAY}, 0, NULL FROM user WHERE ref_by <> 0 AND id % 50 = 7`,
    );
    await conn.query(
      `INSERT INTO payback (total, userid, ref_by, ref_get, datetime, callback, paylist_id)
       SELECT p.total, p.userid, u.ref_by, ROUND(p.total * 0.2, 2), p.datetime, 0, p.id
       FROM paylist p JOIN user u ON u.id = p.userid WHERE p.status = 1 AND u.ref_by <> 0`,
    );
  });

  await timed('seed IP records and per-user rows', async () => {
    await seedIpTables(conn, N, NOW);
    await seedDependentTables(conn, N, NOW, steps);
  });

  await timed(`seed ${M} log rows`, () => seedLogs(conn, N, M, NOW));
}

/**
 * Users placed on purpose: admins, low-score referrers, the check job's deletion candidates
 * (rules a–d) and their near misses, and negative balances. Updated by primary key after the bulk insert.
 */
async function specialUsers(conn, N, NOW, NOWL, steps) {
  // Admins would match rule c: the job must never delete them.
  await conn.query(
    `UPDATE user SET is_admin = 1, class = 0, money = 0, t = ${NOW} - 30 * ${DAY}, reg_date = CAST(? AS DATETIME) - INTERVAL 400 DAY WHERE id <= 3`,
    [NOWL],
  );
  // Referrers whose score is below 32, so deleting the users they referred recovers rewards.
  await conn.query('UPDATE user SET score = 10 WHERE id BETWEEN 4 AND 13');

  // Negative balances: paid, so no deletion rule applies; scores around 64 so some fall below.
  await conn.query(
    `UPDATE user u JOIN seq_1_to_${NEGATIVE_BALANCES} s ON u.id = s.seq * ${steps.neg} + 3
     SET u.money = -(1 + s.seq % 20), u.enable = 1, u.class = GREATEST(u.class, 1), u.score = 50 + s.seq % 30,
         u.expire_in = CAST(? AS DATETIME) + INTERVAL 365 DAY, u.node_group = 1 + s.seq % 5,
         u.ref_by = IF(s.seq % 2 = 0 AND u.id > 14, 4 + s.seq % 10, 0),
         u.class_expire = CAST(? AS DATETIME) + INTERVAL 30 DAY`,
    [NOWL, NOWL],
  );

  // Deletion candidates at i × step: rule a, b, c, d by i mod 4; every other one was referred
  // by a low-score referrer. Near misses at i × step + 1 sit just inside each threshold.
  const k = 's.seq % 4';
  await conn.query(
    `UPDATE user u JOIN seq_1_to_${DELETE_CANDIDATES} s ON u.id = s.seq * ${steps.del}
     SET u.is_admin = 0, u.enable = 1, u.class = 0, u.node_group = 1, u.renew_time = 0,
         u.money = IF(${k} = 0, 0.50, 0.00),
         u.t = CASE ${k} WHEN 2 THEN ${NOW} - 10 * ${DAY} WHEN 3 THEN 0 ELSE ${NOW} - 600 END,
         u.u = IF(${k} = 3, 0, u.u), u.d = IF(${k} = 3, 0, u.d),
         u.expire_in = IF(${k} = 0, CAST(? AS DATETIME) - INTERVAL 20 DAY, CAST(? AS DATETIME) + INTERVAL 365 DAY),
         u.last_check_in_time = IF(${k} = 1, ${NOW} - 40 * ${DAY}, ${NOW} - 60),
         u.reg_date = IF(${k} = 3, CAST(? AS DATETIME) - INTERVAL 20 DAY, CAST(? AS DATETIME) - INTERVAL 60 DAY),
         u.ref_by = IF(s.seq % 2 = 1, 4 + s.seq % 10, 0)`,
    [NOWL, NOWL, NOWL, NOWL],
  );
  await conn.query(
    `UPDATE user u JOIN seq_1_to_${DELETE_CANDIDATES} s ON u.id = s.seq * ${steps.del} + 1
     SET u.is_admin = 0, u.enable = 1, u.class = 0, u.node_group = 1, u.renew_time = 0, u.money = IF(${k} = 0, 0.00, 1.00),
         u.t = CASE ${k} WHEN 2 THEN ${NOW} - 6 * ${DAY} WHEN 3 THEN 0 ELSE ${NOW} - 600 END,
         u.u = IF(${k} = 3, 0, u.u), u.d = IF(${k} = 3, 0, u.d),
         u.expire_in = IF(${k} = 0, CAST(? AS DATETIME) - INTERVAL 6 DAY, CAST(? AS DATETIME) + INTERVAL 365 DAY),
         u.last_check_in_time = IF(${k} = 1, ${NOW} - 31 * ${DAY}, ${NOW} - 60),
         u.reg_date = IF(${k} = 3, CAST(? AS DATETIME) - INTERVAL 5 DAY, CAST(? AS DATETIME) - INTERVAL 60 DAY)`,
    [NOWL, NOWL, NOWL, NOWL],
  );
}

async function seedIpTables(conn, N, NOW) {
  // Rows arrive in time order, so ids grow with datetime as on a live panel.
  const spread = (n, window) => `${NOW} - ${window} + FLOOR(seq * ${window} / ${n})`;
  const alive = Math.floor(N / 5);
  await chunked(conn, alive, `INSERT INTO alive_ip (id, nodeid, userid, ip, datetime)
    SELECT seq, 1 + seq % 200, 1 + CRC32(seq) % ${N}, CONCAT('10.', seq % 250, '.', seq % 251, '.', seq % 249), ${spread(alive, 600)} FROM {seq}`);
  const unblock = Math.floor(N / 100);
  await chunked(conn, unblock, `INSERT INTO unblockip (id, ip, datetime, userid)
    SELECT seq, CONCAT('10.1.', seq % 250, '.', seq % 249), ${spread(unblock, 600)}, 1 + CRC32(seq) % ${N} FROM {seq}`);
  const block = Math.floor(N / 50);
  await chunked(conn, block, `INSERT INTO blockip (id, nodeid, ip, datetime)
    SELECT seq, 1 + seq % 200, CONCAT('10.2.', seq % 250, '.', seq % 249), ${spread(block, DAY + 600)} FROM {seq}`);
  const tg = Math.floor(N / 100);
  await chunked(conn, tg, `INSERT INTO telegram_session (id, type, user_id, session_content, datetime)
    SELECT seq, seq % 3, 1 + CRC32(seq) % ${N}, CONCAT('session-', seq), ${spread(tg, 4200)} FROM {seq}`);
}

async function seedDependentTables(conn, N, NOW, steps) {
  const uid = (expr) => `LEAST(${N}, ${expr})`;
  await chunked(conn, N, `INSERT INTO link (id, type, token, userid) SELECT seq, 11, CONCAT('tok', seq), seq FROM {seq}`);
  await chunked(conn, N, `INSERT INTO login_ip (id, userid, ip, datetime, type)
    SELECT seq, seq, CONCAT('172.16.', seq % 250, '.', seq % 249), ${NOW} - CRC32(seq) % ${30 * DAY}, 0 FROM {seq}`);
  await chunked(conn, Math.floor(N / 10), `INSERT INTO ss_invite_code (code, user_id, created_at, updated_at)
    SELECT CONCAT('inv', seq), ${uid('seq * 10')}, NOW(), NOW() FROM {seq}`);
  await chunked(conn, Math.floor(N / 10), `INSERT INTO user_token (token, user_id, create_time, expire_time)
    SELECT CONCAT('ut', seq), ${uid('seq * 10 - 3')}, ${NOW} - ${DAY}, ${NOW} + ${DAY} FROM {seq}`);
  await chunked(conn, Math.floor(N / 100), `INSERT INTO ss_password_reset (email, token, init_time, expire_time)
    SELECT CONCAT('u', ${uid('seq * 100')}, '@bench.test'), CONCAT('rst', seq), ${NOW} - 3600, ${NOW} + 3600 FROM {seq}`);
  await chunked(conn, Math.floor(N / 5), `INSERT INTO bought (id, userid, shopid, datetime, renew, coupon, price)
    SELECT seq, ${uid('seq * 5 - 1')}, 1 + seq % 10, ${NOW} - CRC32(seq) % ${60 * DAY}, 0, '', 10.00 FROM {seq}`);
  await chunked(conn, Math.floor(N / 20), `INSERT INTO code (id, code, type, number, isused, userid, usedatetime)
    SELECT seq, CONCAT('c', seq), -1, 10.00, 1, ${uid('seq * 20 - 7')}, NULL FROM {seq}`);
  await chunked(conn, Math.floor(N / 20), `INSERT INTO disconnect_ip (id, userid, ip, datetime)
    SELECT seq, ${uid('seq * 20 - 11')}, CONCAT('10.3.', seq % 250, '.', seq % 249), ${NOW} - 3600 FROM {seq}`);
  await chunked(conn, Math.max(1, Math.floor(N / 1000)), `INSERT INTO radius_ban (userid) SELECT ${uid('seq * 1000 - 13')} FROM {seq}`);

  // Every deletion candidate owns a row in each dependent table, so each delete has work to do.
  const cand = `(SELECT s.seq * ${steps.del} AS id FROM seq_1_to_${DELETE_CANDIDATES} s)`;
  await conn.query(`INSERT INTO ss_invite_code (code, user_id, created_at, updated_at) SELECT CONCAT('dinv', id), id, NOW(), NOW() FROM ${cand} c`);
  await conn.query(`INSERT INTO user_token (token, user_id, create_time, expire_time) SELECT CONCAT('dut', id), id, ${NOW}, ${NOW} + ${DAY} FROM ${cand} c`);
  await conn.query(`INSERT INTO ss_password_reset (email, token, init_time, expire_time) SELECT CONCAT('u', id, '@bench.test'), CONCAT('drst', id), ${NOW}, ${NOW} + 3600 FROM ${cand} c`);
  await conn.query(`INSERT INTO bought (userid, shopid, datetime, renew, coupon, price) SELECT id, 1, ${NOW} - ${DAY}, 0, '', 10.00 FROM ${cand} c`);
  await conn.query(`INSERT INTO code (code, type, number, isused, userid, usedatetime) SELECT CONCAT('dc', id), -1, 5.00, 1, id, NULL FROM ${cand} c`);
  await conn.query(`INSERT INTO disconnect_ip (userid, ip, datetime) SELECT id, '10.9.9.9', ${NOW} - 60 FROM ${cand} c`);
  await conn.query(`INSERT INTO radius_ban (userid) SELECT id FROM ${cand} c`);
}

async function seedLogs(conn, N, M, NOW) {
  const window = 30 * DAY;
  for (const { table, share } of LOG_TABLES) {
    const n = Math.max(1, Math.floor(M * share));
    // Time grows with id across 30 days up to now: 27 days' worth (90%) is older than 3 days.
    const at = `${NOW} - ${window} + FLOOR(seq * ${window} / ${n})`;
    const sql = {
      user_traffic_log: `INSERT INTO user_traffic_log (id, user_id, u, d, node_id, rate, traffic, log_time)
        SELECT seq, 1 + CRC32(seq) % ${N}, CRC32(seq) % 100000000, CRC32(seq) % 900000000, 1 + seq % 200, 1, CONCAT(seq % 1000, 'MB'), ${at} FROM {seq}`,
      detect_log: `INSERT INTO detect_log (id, user_id, list_id, datetime, node_id, status)
        SELECT seq, 1 + CRC32(seq) % ${N}, 1 + seq % 50, ${at}, 1 + seq % 200, 0 FROM {seq}`,
      ss_node_online_log: `INSERT INTO ss_node_online_log (id, node_id, online_user, log_time)
        SELECT seq, 1 + seq % 200, seq % 3000, ${at} FROM {seq}`,
      ss_node_info: `INSERT INTO ss_node_info (id, node_id, uptime, \`load\`, log_time)
        SELECT seq, 1 + seq % 200, seq % 100000, '0.52 0.58 0.59', ${at} FROM {seq}`,
      speedtest: `INSERT INTO speedtest (id, nodeid, datetime, telecomping, unicomping, cmccping)
        SELECT seq, 1 + seq % 200, ${at}, '35ms', '41ms', '52ms' FROM {seq}`,
      email_verify: `INSERT INTO email_verify (id, email, ip, code, expire_in)
        SELECT seq, CONCAT('u', 1 + CRC32(seq) % ${N}, '@bench.test'), '10.4.4.4', LPAD(CRC32(seq) % 1000000, 6, '0'), ${at} FROM {seq}`,
    }[table];
    await chunked(conn, n, sql);
    log(`  ${table}: ${n} rows`);
  }
}
