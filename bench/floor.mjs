// The floor: each job's changes made by the bare SQL statements of SPEC §3, one statement per
// step (plus the few reads a step cannot avoid), in one transaction, over an open connection,
// with the snapshots read and written in Redis pipelines. Nothing spanel adds on top (startup,
// lock, run history, dry-run samples, reports) is here: no implementation can do less work.
import { DAY, GiB, REDIS_PREFIX, panelLocal, panelMonthAgo, warningStamp } from './env.mjs';
import { DEPENDENT_TABLES, IP_TABLES, LOG_TABLES } from './seed.mjs';
import { CAPS, scannedWhere } from './snapshots.mjs';

const ID_LIST = 5000;
const MGET = 1000;
const PIPELINE = 10_000;

/** Runs `fn` as one timed transaction; `after` (snapshot writes) runs after COMMIT, inside the timing. */
async function transaction(conn, fn) {
  const steps = {};
  const after = [];
  const t0 = performance.now();
  await conn.query('START TRANSACTION');
  try {
    const step = async (name, body) => {
      const s = performance.now();
      const count = await body();
      steps[name] = { count, ms: performance.now() - s };
    };
    await fn(step, (f) => after.push(f));
    await conn.query('COMMIT');
  } catch (err) {
    await conn.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  for (const f of after) await f();
  return { ms: performance.now() - t0, steps };
}

const chunks = (xs, n) => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));

async function affected(conn, sql, params = []) {
  const [res] = await conn.query(sql, params);
  return res.affectedRows;
}

/** Cap step: read the scanned users, one MGET pipeline, disable those over the cap, SET EX after commit. */
async function capStep(conn, redis, kind, now, afterCommit) {
  const c = CAPS[kind];
  const { sql, params } = scannedWhere(kind, now);
  const [rows] = await conn.query({ sql: `SELECT id, u + d FROM user WHERE ${sql}`, values: params, rowsAsArray: true });
  const p = redis.pipeline();
  for (const part of chunks(rows, MGET)) p.mget(part.map(([id]) => `${REDIS_PREFIX}user:${id}:${c.key}`));
  const replies = await p.exec();
  const over = [];
  let i = 0;
  for (const [err, values] of replies) {
    if (err) throw err;
    for (const v of values) {
      const [id, total] = rows[i++];
      if (v !== null && Number(total) - Number(v) > c.capGiB * GiB) over.push(id);
    }
  }
  const warning = `${warningStamp(now)} ${kind} traffic over ${c.capGiB} GB: account disabled`;
  let count = 0;
  for (const ids of chunks(over, ID_LIST)) {
    count += await affected(conn, 'UPDATE user SET enable = 0, warming = ? WHERE id IN (?) AND enable = 1', [warning, ids]);
  }
  afterCommit(async () => {
    for (const part of chunks(rows, PIPELINE)) {
      const w = redis.pipeline();
      for (const [id, total] of part) w.set(`${REDIS_PREFIX}user:${id}:${c.key}`, String(total), 'EX', c.ttl);
      await w.exec();
    }
  });
  return count;
}

export async function floorDaily(conn, redis, now) {
  const nowl = panelLocal(now);
  return transaction(conn, async (step, afterCommit) => {
    await step('renew', () =>
      affected(conn, `UPDATE user SET u = u + d, d = 0, transfer_limit = class * ${10 * GiB}, renew_time = ? + class * ${10 * DAY}
                      WHERE enable > 0 AND class > 0 AND renew_time < ?`, [now, now]));
    await step('heartbeat', () => affected(conn, 'UPDATE ss_node SET type = 0 WHERE node_heartbeat < ? AND type <> 0', [now - 7200]));
    await step('daily-cap', () => capStep(conn, redis, 'daily', now, afterCommit));
    await step('unused', () =>
      affected(conn, `UPDATE user SET enable = 0, warming = ? WHERE id > 10 AND is_admin = 0 AND enable = 1 AND class > 0
                      AND t < ? AND reg_date < ?`, [`${warningStamp(now)} unused for 32 days: account disabled`, now - 32 * DAY, panelMonthAgo(now)]));
    await step('stats', () =>
      affected(conn, `UPDATE user SET last_day_t = d, rss_count_lastday = rss_count, rss_ips_lastday = rss_ips_count
                      WHERE enable > 0 AND class > 0 AND t > ?`, [now - 2 * DAY]));
    await step('class-expiry', () => affected(conn, 'UPDATE user SET class = 0 WHERE class > 0 AND class_expire < ?', [nowl]));
  });
}

export async function floorHourly(conn, redis, now) {
  return transaction(conn, async (step, afterCommit) => {
    await step('hourly-cap', () => capStep(conn, redis, 'hourly', now, afterCommit));
    await step('stale-orders', () => affected(conn, 'UPDATE paylist SET status = -1 WHERE status = 0 AND datetime < ?', [now - 3600]));
  });
}

/** referral recover (SPEC §4) for the rewards of `userIds` not yet recovered; returns rewards recovered. */
async function recoverRewards(conn, userIds, now) {
  if (userIds.length === 0) return 0;
  const [rewards] = await conn.query(
    `SELECT p.id, p.userid, p.ref_by, p.ref_get FROM payback p
     WHERE p.total = -1 AND p.userid IN (?)
       AND NOT EXISTS (SELECT 1 FROM payback x WHERE x.total = -2 AND x.userid = p.userid AND x.ref_by = p.ref_by)
     ORDER BY p.id FOR UPDATE`,
    [userIds],
  );
  if (rewards.length === 0) return 0;
  const [existing] = await conn.query('SELECT id FROM user WHERE id IN (?) FOR UPDATE', [[...new Set(rewards.map((r) => r.ref_by))]]);
  const present = new Set(existing.map((r) => String(r.id)));
  for (const r of rewards.filter((x) => present.has(String(x.ref_by)))) {
    await conn.query(
      `INSERT INTO spanel_money_ledger (user_id, amount_before, amount_after, delta, reason, reference, run_id, operator, created_at)
       SELECT id, money, money - ?, -?, 'referral-recover', ?, NULL, 'bench', ? FROM user WHERE id = ?`,
      [r.ref_get, r.ref_get, `payback:${r.id}`, now, r.ref_by],
    );
    await conn.query('UPDATE user SET money = money - ?, ban_times = ban_times + 1 WHERE id = ?', [r.ref_get, r.ref_by]);
  }
  const recovered = rewards.filter((x) => present.has(String(x.ref_by))).map((r) => r.id);
  const gone = rewards.filter((x) => !present.has(String(x.ref_by))).map((r) => r.id);
  if (recovered.length) {
    await conn.query(
      `INSERT INTO payback (total, userid, ref_by, ref_get, datetime, callback, paylist_id)
       SELECT -2, userid, ref_by, -ref_get, ?, 0, NULL FROM payback WHERE id IN (?) ORDER BY id`,
      [now, recovered],
    );
    await conn.query('UPDATE payback SET callback = 1 WHERE id IN (?)', [recovered]);
  }
  if (gone.length) await conn.query('UPDATE payback SET callback = 3 WHERE id IN (?)', [gone]);
  return rewards.length;
}

const columnCache = new Map();
async function columnsOf(conn, table) {
  if (!columnCache.has(table)) {
    const [rows] = await conn.query('SELECT column_name AS c FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position', [table]);
    columnCache.set(table, rows.map((r) => r.c));
  }
  return columnCache.get(table);
}

const USER_COLUMNS = [
  'id', 'user_name', 'email', 'pass', 'passwd', 'is_admin', 'enable', 't', 'u', 'd', 'transfer_enable', 'transfer_limit',
  'last_day_t', 'money', 'ref_by', 'score', 'class', 'class_expire', 'expire_in', 'reg_date', 'node_group', 'ban_times',
  'warming', 'rss_count', 'rss_count_lastday', 'rss_ips_count', 'rss_ips_lastday', 'last_check_in_time', 'renew_time',
];

export async function floorCheck(conn, now, { maxDelete = 200, force = false } = {}) {
  const nowl = panelLocal(now);
  return transaction(conn, async (step) => {
    await step('ip-records', async () => {
      let n = 0;
      const cut = { alive_ip: 300, unblockip: 300, blockip: DAY, telegram_session: 3600 };
      for (const t of IP_TABLES) n += await affected(conn, `DELETE FROM ${t} WHERE datetime < ?`, [now - cut[t]]);
      return n;
    });
    await step('class-expiry', () => affected(conn, 'UPDATE user SET class = 0 WHERE class > 0 AND class_expire < ?', [nowl]));
    await step('delete-expired', async () => {
      const [cands] = await conn.query(
        `SELECT id, email, ref_by FROM user WHERE is_admin = 0 AND (
           (expire_in < ? AND TIMESTAMPDIFF(SECOND, expire_in, ?) > money * ${30 * DAY})
        OR (last_check_in_time < ? AND reg_date < ? AND class = 0 AND money <= 1)
        OR (t < ? AND reg_date < ? AND class = 0 AND money <= 1)
        OR (t = 0 AND u = 0 AND d = 0 AND reg_date < ? AND class = 0 AND money <= 1)) FOR UPDATE`,
        [panelLocal(now - 7 * DAY), nowl, now - 32 * DAY, panelLocal(now - 32 * DAY), now - 7 * DAY, panelLocal(now - 7 * DAY), panelLocal(now - 14 * DAY)],
      );
      if (cands.length === 0) return 0;
      if (cands.length > maxDelete && !force) throw new Error(`floor: ${cands.length} users qualify for deletion, more than ${maxDelete}`);
      const ids = cands.map((c) => c.id);
      const referred = cands.filter((c) => Number(c.ref_by) !== 0);
      if (referred.length) {
        const [low] = await conn.query(
          'SELECT u.id FROM user u JOIN user r ON r.id = u.ref_by WHERE u.id IN (?) AND r.score < 32',
          [referred.map((c) => c.id)],
        );
        await recoverRewards(conn, low.map((r) => r.id), now);
      }
      await conn.query(
        `INSERT INTO spanel_archived_user (user_id, email, reason, row_json, run_id, deleted_at)
         SELECT id, email, 'expired', JSON_OBJECT(${USER_COLUMNS.map((c) => `'${c}', \`${c}\``).join(', ')}), NULL, ? FROM user WHERE id IN (?)`,
        [now, ids],
      );
      for (const { table, column } of DEPENDENT_TABLES) {
        const keys = column === 'email' ? cands.map((c) => c.email) : ids;
        // Archived as spanel archives them (spanel user restore puts them back): each row as JSON,
        // tied to its user's archive row.
        const cols = await columnsOf(conn, table);
        // The archive row of the owner by a subquery per matched row: a join let the optimizer
        // walk the (unindexed) dependent table once per archived user.
        const owner = `(SELECT a.id FROM spanel_archived_user a WHERE a.${column === 'email' ? 'email' : 'user_id'} = d.${column} AND a.user_id IN (?) ORDER BY a.id DESC LIMIT 1)`;
        await conn.query(
          `INSERT INTO spanel_archived_row (archive_id, user_id, table_name, row_json)
           SELECT ${owner}, (SELECT a.user_id FROM spanel_archived_user a WHERE a.id = ${owner}), ?, JSON_OBJECT(${cols.map((c) => `'${c}', d.\`${c}\``).join(', ')})
           FROM ${table} d WHERE d.${column} IN (?)`,
          [ids, ids, table, keys],
        );
        await conn.query(`DELETE FROM ${table} WHERE ${column} IN (?)`, [keys]);
      }
      return affected(conn, 'DELETE FROM user WHERE id IN (?)', [ids]);
    });
    await step('negative-balance', async () => {
      const [neg] = await conn.query({ sql: 'SELECT id FROM user WHERE money < 0 AND enable = 1 FOR UPDATE', rowsAsArray: true });
      if (neg.length === 0) return 0;
      const ids = neg.map(([id]) => id);
      const n = await affected(
        conn,
        `UPDATE user SET enable = 0, warming = ?, ban_times = ban_times + class, score = score - 1,
           node_group = IF(node_group > 1, node_group - 1, node_group) WHERE id IN (?)`,
        [`${warningStamp(now)} negative balance: account disabled`, ids],
      );
      const [low] = await conn.query({ sql: 'SELECT id FROM user WHERE id IN (?) AND score < 64 AND ref_by <> 0', values: [ids], rowsAsArray: true });
      if (low.length) {
        await recoverRewards(conn, low.map(([id]) => id), now);
        await conn.query('UPDATE user SET ref_by = 0 WHERE id IN (?)', [low.map(([id]) => id)]);
      }
      return n;
    });
  });
}

/** dbclean as SPEC's one statement per table, all in one transaction (what the brief calls the floor). */
export async function floorDbcleanSingle(conn, now, retentionDays = 3) {
  return transaction(conn, async (step) => {
    for (const { table, column } of LOG_TABLES) {
      await step(table, () => affected(conn, `DELETE FROM ${table} WHERE ${column} < ?`, [now - retentionDays * DAY]));
    }
  });
}

/**
 * dbclean as bare bounded batches: consecutive primary-key ranges of `batch` ids, each DELETE its
 * own autocommit transaction. Walking the key (not re-searching from the start) touches each row once.
 */
export async function floorDbcleanBatched(conn, now, { retentionDays = 3, batch = 10_000 } = {}) {
  const steps = {};
  let longest = 0;
  const t0 = performance.now();
  for (const { table, column } of LOG_TABLES) {
    const s = performance.now();
    const [[{ lo, hi }]] = await conn.query(`SELECT MIN(id) AS lo, MAX(id) AS hi FROM ${table}`);
    let count = 0;
    for (let from = Number(lo); lo !== null && from <= Number(hi); from += batch) {
      const b = performance.now();
      count += await affected(conn, `DELETE FROM ${table} WHERE id >= ? AND id < ? AND ${column} < ?`, [from, from + batch, now - retentionDays * DAY]);
      longest = Math.max(longest, performance.now() - b);
    }
    steps[table] = { count, ms: performance.now() - s };
  }
  return { ms: performance.now() - t0, steps, longestTransactionMs: longest };
}

export { LOG_TABLES };
