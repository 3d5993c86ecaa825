#!/usr/bin/env node
// Would an index on user (enable, node_group, t) make the cap scans proportional to the active
// users, and what would it cost the panel's own traffic updates? Measured on a seeded bench
// database (`npm run bench -- --keep` first): node bench/index.mjs [--rounds 5] [--updates 5000]
// The index is added, measured and dropped again.
import { CAPS, scannedWhere } from './snapshots.mjs';
import { benchTarget, connect, median } from './env.mjs';

const INDEX = 'spanel_bench_cap_scan';
const argv = process.argv.slice(2);
const opt = (n, d) => (argv.includes(n) ? Number(argv[argv.indexOf(n) + 1]) : d);
const rounds = opt('--rounds', 5);
const updates = opt('--updates', 5000);
const PAGE = 5000;

const conn = await connect(benchTarget());
const [[{ maxId, now }]] = await conn.query('SELECT MAX(id) AS maxId, MAX(t) AS now FROM user');

/** The cap step's keyset scan, page by page, as spanel sends it (`hint` forces or ignores the index). */
async function scan(kind, hint) {
  const { sql, params } = scannedWhere(kind, Number(now));
  const t0 = performance.now();
  let last = 0;
  let rows = 0;
  for (;;) {
    const [page] = await conn.query({ sql: `SELECT id, u, d FROM user ${hint} WHERE ${sql} AND id > ? ORDER BY id LIMIT ${PAGE}`, values: [...params, last], rowsAsArray: true });
    rows += page.length;
    if (page.length < PAGE) break;
    last = page[page.length - 1][0];
  }
  return { ms: performance.now() - t0, rows };
}

/** The panel's traffic reports: UPDATEs of u, d, t of random users, rolled back. */
async function trafficUpdates() {
  const t0 = performance.now();
  await conn.query('START TRANSACTION');
  for (let i = 0; i < updates; i++) {
    const id = 1 + Math.floor(Math.random() * Number(maxId));
    await conn.query('UPDATE user SET u = u + 1000, d = d + 1000, t = ? WHERE id = ?', [Number(now) - Math.floor(Math.random() * 7200), id]);
  }
  await conn.query('ROLLBACK');
  return performance.now() - t0;
}

const plan = async (kind, hint) => {
  const [[p]] = await conn.query(`EXPLAIN SELECT id, u, d FROM user ${hint} WHERE ${scannedWhere(kind, Number(now)).sql} AND id > 0 ORDER BY id LIMIT ${PAGE}`, [Number(now)]);
  return `${p.type} ${p.key} rows≈${p.rows} ${p.Extra}`;
};

// Rounds alternate (without, with), so that a busy machine slows both alike.
const res = { users: Number(maxId), updatesPerRound: updates, rounds, without: { hourly: [], daily: [], updates: [] }, with: { hourly: [], daily: [], updates: [] } };
try {
  await conn.query(`ALTER TABLE user DROP INDEX IF EXISTS ${INDEX}`);
  for (let r = 0; r < rounds; r++) {
    for (const which of r % 2 ? ['with', 'without'] : ['without', 'with']) {
      if (which === 'with') {
        await conn.query(`ALTER TABLE user ADD INDEX IF NOT EXISTS ${INDEX} (enable, node_group, t)`);
        await conn.query('ANALYZE TABLE user');
      } else await conn.query(`ALTER TABLE user DROP INDEX IF EXISTS ${INDEX}`);
      // With the index, what the optimizer picks itself (the plans are printed); without, there is none.
      const hint = '';
      for (const kind of Object.keys(CAPS)) res[which][kind].push(await scan(kind, hint));
      res[which].updates.push(await trafficUpdates());
      if (r === 0) {
        res[which].hourlyPlan = await plan('hourly', '');
        res[which].dailyPlan = await plan('daily', '');
      }
    }
  }
  for (const which of ['without', 'with']) {
    for (const k of ['hourly', 'daily']) res[which][k] = { ms: Math.round(median(res[which][k].map((x) => x.ms))), rows: res[which][k][0].rows };
    res[which].updatesMs = Math.round(median(res[which].updates));
    delete res[which].updates;
  }
  console.log(JSON.stringify(res, null, 2));
} finally {
  await conn.query(`ALTER TABLE user DROP INDEX IF EXISTS ${INDEX}`).catch(() => undefined);
  await conn.end();
}
