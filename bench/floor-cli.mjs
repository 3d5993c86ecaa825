// A second floor for the cap jobs, built from the servers' own clients instead of Node drivers:
// one `mariadb` process holds the job's transaction (statements on its stdin), `redis-cli` reads
// the old snapshots (MGET) and `redis-cli --pipe` writes the new ones after COMMIT. The comparisons
// are made here. Same statements, same order and same changes as floor.mjs's floorDaily/floorHourly.
import { spawn } from 'node:child_process';
import { DAY, GiB, REDIS_PREFIX, panelLocal, panelMonthAgo, warningStamp } from './env.mjs';
import { CAPS, scannedWhere } from './snapshots.mjs';

const MGET = 1000;
const END = '__spanel_bench_end__';

const lit = (v) => (typeof v === 'number' ? String(v) : `'${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`);
const sql = (text, params) => {
  let i = 0;
  return text.replace(/\?/g, () => lit(params[i++]));
};

/** A `mariadb` client process fed statements on stdin; read() returns the output up to a marker. */
function mariadb(target) {
  const s = target.server;
  const args = ['--batch', '--unbuffered', '--skip-column-names', '-h', s.host, '-P', String(s.port), '-u', s.user, target.database];
  const child = spawn('mariadb', args, { env: { ...process.env, ...(s.password ? { MYSQL_PWD: s.password } : {}) }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let waiting = null;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d) => {
    out += d;
    if (waiting && out.includes(`${END}\n`)) waiting();
  });
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.on('close', (code) => resolve(code)));
  return {
    send: (text) => child.stdin.write(`${text}\n`),
    /** Everything printed since the last read, once the statements sent so far have all run. */
    read: () =>
      new Promise((resolve, reject) => {
        child.stdin.write(`SELECT '${END}';\n`);
        const done = () => {
          const i = out.indexOf(`${END}\n`);
          const text = out.slice(0, i);
          out = out.slice(i + END.length + 1);
          waiting = null;
          resolve(text);
        };
        waiting = done;
        if (out.includes(`${END}\n`)) done();
        exited.then((code) => reject(new Error(`mariadb exited ${code}: ${err.trim()}`)));
      }),
    end: async () => {
      child.stdin.end();
      const code = await exited;
      if (code !== 0) throw new Error(`mariadb exited ${code}: ${err.trim()}`);
    },
  };
}

/** Runs redis-cli with `input` on stdin, returns stdout. */
function redisCli(redisUrl, args, input) {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', ['-u', redisUrl, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    let err = '';
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out).toString('utf8')) : reject(new Error(`redis-cli exited ${code}: ${err.trim()}`))));
    child.stdin.end(input);
  });
}

const resp = (...parts) => `*${parts.length}\r\n${parts.map((p) => `$${Buffer.byteLength(String(p))}\r\n${p}\r\n`).join('')}`;

/** The cap step through the clients: returns the statements to send and the after-commit write. */
async function capStep(db, redisUrl, kind, now) {
  const c = CAPS[kind];
  const { sql: where, params } = scannedWhere(kind, now);
  db.send(sql(`SELECT id, u + d FROM user WHERE ${where};`, params));
  const rows = (await db.read()).split('\n').filter(Boolean).map((l) => l.split('\t'));
  const key = (id) => `${REDIS_PREFIX}user:${id}:${c.key}`;
  let mget = '';
  for (let i = 0; i < rows.length; i += MGET) mget += `MGET ${rows.slice(i, i + MGET).map(([id]) => key(id)).join(' ')}\n`;
  // Raw output, one line per key: an empty line is a missing snapshot.
  const values = rows.length ? (await redisCli(redisUrl, ['--raw'], mget)).split('\n') : [];
  const over = [];
  rows.forEach(([id, total], i) => {
    const v = values[i];
    if (v !== undefined && v !== '' && Number(total) - Number(v) > c.capGiB * GiB) over.push(id);
  });
  const warning = `${warningStamp(now)} ${kind} traffic over ${c.capGiB} GB: account disabled`;
  for (let i = 0; i < over.length; i += 5000) {
    db.send(sql(`UPDATE user SET enable = 0, warming = ? WHERE id IN (${over.slice(i, i + 5000).join(',')}) AND enable = 1;`, [warning]));
  }
  return async () => {
    if (rows.length === 0) return;
    let input = '';
    for (const [id, total] of rows) input += resp('SET', key(id), total, 'EX', c.ttl);
    await redisCli(redisUrl, ['--pipe'], input);
  };
}

async function transaction(target, body) {
  const t0 = performance.now();
  const db = mariadb(target);
  db.send('START TRANSACTION;');
  const after = await body(db);
  db.send('COMMIT;');
  await db.read();
  await db.end();
  await after();
  return { ms: performance.now() - t0, steps: {} };
}

export function floorCliHourly(target, redisUrl, now) {
  return transaction(target, async (db) => {
    const after = await capStep(db, redisUrl, 'hourly', now);
    db.send(sql('UPDATE paylist SET status = -1 WHERE status = 0 AND datetime < ?;', [now - 3600]));
    return after;
  });
}

export function floorCliDaily(target, redisUrl, now) {
  const nowl = panelLocal(now);
  return transaction(target, async (db) => {
    db.send(sql(`UPDATE user SET u = u + d, d = 0, transfer_limit = class * ${10 * GiB}, renew_time = ? + class * ${10 * DAY}
                 WHERE enable > 0 AND class > 0 AND renew_time < ?;`, [now, now]));
    db.send(sql('UPDATE ss_node SET type = 0 WHERE node_heartbeat < ? AND type <> 0;', [now - 7200]));
    const after = await capStep(db, redisUrl, 'daily', now);
    db.send(sql(`UPDATE user SET enable = 0, warming = ? WHERE id > 10 AND is_admin = 0 AND enable = 1 AND class > 0
                 AND t < ? AND reg_date < ?;`, [`${warningStamp(now)} unused for 32 days: account disabled`, now - 32 * DAY, panelMonthAgo(now)]));
    db.send(sql(`UPDATE user SET last_day_t = d, rss_count_lastday = rss_count, rss_ips_lastday = rss_ips_count
                 WHERE enable > 0 AND class > 0 AND t > ?;`, [now - 2 * DAY]));
    db.send(sql('UPDATE user SET class = 0 WHERE class > 0 AND class_expire < ?;', [nowl]));
    return after;
  });
}
