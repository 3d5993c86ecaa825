import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connect.js';
import { migrateLatest } from '../../src/db/migrations.js';
import { spawnCli } from '../helpers/cli.js';
import { startPrivateMariadb, type PrivateMariadb } from '../helpers/private-mariadb.js';

/**
 * Issue 10 item 6: every wait ends. A frozen server (SIGSTOP) and a FLUSH TABLES WITH READ LOCK
 * held by another session, on a private mariadbd this test starts and stops (never the shared
 * one): the run exits 1 with a message naming the limit, and SIGTERM ends it at any point.
 */
const NOW = '2026-11-25T10:00:00Z';
const UNIX = Date.parse(NOW) / 1000;

describe('bounded waits on a private mariadbd', { timeout: 120_000 }, () => {
  let server: PrivateMariadb;
  let admin: mysql.Connection;
  let url: string;

  beforeAll(async () => {
    server = await startPrivateMariadb(33151);
    admin = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root' });
    await admin.query('CREATE DATABASE spanel CHARACTER SET utf8mb4');
    url = server.url('spanel');
    const db = await openDatabase(url);
    await migrateLatest(db.knex);
    await db.close();
  }, 120_000);
  afterEach(async () => {
    server?.thaw();
    // A run that could not reach the frozen server to release its lease leaves it until it
    // lapses (SPANEL_LOCK_LEASE); the next test must not wait for that.
    await admin?.query('DELETE FROM spanel.spanel_lock').catch(() => undefined);
  });
  afterAll(async () => {
    await admin?.end().catch(() => undefined);
    await server?.stop();
  });

  const limits = { DB_CONNECT_TIMEOUT: '3s', DB_STATEMENT_TIMEOUT: '4s', DB_LOCK_WAIT_TIMEOUT: '60s' };
  const runs = async () => (await admin.query('SELECT outcome FROM spanel.spanel_run ORDER BY id'))[0] as { outcome: string }[];
  const processlist = async (like: string) => {
    const [rows] = await admin.query('SELECT COUNT(*) AS n FROM information_schema.processlist WHERE (info LIKE ? OR state LIKE ?) AND id <> CONNECTION_ID()', [like, like]);
    return Number((rows as { n: number }[])[0]!.n);
  };
  const waitFor = async (what: string, check: () => Promise<boolean>) => {
    const deadline = Date.now() + 60_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('a frozen server before the run: exit 1 within DB_CONNECT_TIMEOUT, saying the database cannot be reached', async () => {
    server.freeze();
    const r = await spawnCli(['job', 'hourly', '--now', NOW], { DATABASE_URL: url, ...limits });
    server.thaw();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot reach the database at mysql://root@127.0.0.1:33151/spanel (ETIMEDOUT)');
  });

  it('a server frozen mid-run: exit 1 after DB_STATEMENT_TIMEOUT, naming it; nothing committed', async () => {
    await admin.query('INSERT INTO spanel.paylist (userid, total, status, datetime) VALUES (1, 5, 0, ?)', [UNIX - 7200]);
    const blocker = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root', database: 'spanel' });
    await blocker.query('BEGIN');
    await blocker.query('SELECT * FROM paylist FOR UPDATE');
    const run = spawnCli(['job', 'hourly', '--now', NOW], { DATABASE_URL: url, ...limits });
    await waitFor('the run to wait for the row lock', async () => (await processlist('%from `paylist`%for update%')) > 0);
    server.freeze();
    const r = await run;
    server.thaw();
    await blocker.query('ROLLBACK');
    await blocker.end();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the database did not answer within 4 s (DB_STATEMENT_TIMEOUT)');
    expect(r.stdout).not.toContain('done in');
    const [rows] = await admin.query('SELECT status FROM spanel.paylist');
    expect((rows as { status: number }[]).map((x) => x.status)).toEqual([0]);
    expect((await runs()).map((x) => x.outcome)).not.toContain('success');
    await admin.query('DELETE FROM spanel.paylist');
  });

  it('SIGTERM while the server is frozen mid-run ends the process promptly (exit 143)', async () => {
    const blocker = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root', database: 'spanel' });
    await admin.query('INSERT INTO spanel.paylist (userid, total, status, datetime) VALUES (1, 5, 0, ?)', [UNIX - 7200]);
    await blocker.query('BEGIN');
    await blocker.query('SELECT * FROM paylist FOR UPDATE');
    let pid = 0;
    const run = spawnCli(['job', 'hourly', '--now', NOW], { DATABASE_URL: url }, { onSpawn: (p) => (pid = p) });
    await waitFor('the run to wait for the row lock', async () => (await processlist('%from `paylist`%for update%')) > 0);
    server.freeze();
    process.kill(pid, 'SIGTERM');
    const r = await run;
    server.thaw();
    await blocker.query('ROLLBACK');
    await blocker.end();
    expect(r.code).toBe(143);
    expect(r.stderr).toContain('interrupted by SIGTERM');
    await admin.query('DELETE FROM spanel.paylist');
  });

  it('FLUSH TABLES WITH READ LOCK elsewhere: the first write (lease, history) waits at most DB_LOCK_WAIT_TIMEOUT, exit 1 naming it', async () => {
    const locker = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root' });
    await locker.query('FLUSH TABLES WITH READ LOCK');
    const before = (await runs()).length;
    const r = await spawnCli(['job', 'hourly', '--now', NOW], { DATABASE_URL: url, ...limits, DB_LOCK_WAIT_TIMEOUT: '3s' });
    await locker.query('UNLOCK TABLES');
    await locker.end();
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('waited 3 s (DB_LOCK_WAIT_TIMEOUT) for a lock another session holds');
    expect((await runs()).length).toBe(before);
  });

  it('FLUSH TABLES WITH READ LOCK elsewhere: SIGTERM while the lease or history write waits ends the run promptly (exit 143)', async () => {
    const locker = await mysql.createConnection({ host: '127.0.0.1', port: server.port, user: 'root' });
    await locker.query('FLUSH TABLES WITH READ LOCK');
    let pid = 0;
    const run = spawnCli(['job', 'hourly', '--now', NOW], { DATABASE_URL: url }, { onSpawn: (p) => (pid = p) });
    // The first write a run makes is its lease (spanel_lock), then its history row: either waits.
    await waitFor('the run to wait for the global read lock', async () => (await processlist('%spanel_lock%')) + (await processlist('insert into `spanel_run`%')) > 0);
    process.kill(pid, 'SIGTERM');
    const r = await run;
    await locker.query('UNLOCK TABLES');
    await locker.end();
    expect(r.code).toBe(143);
    expect(r.stderr).toContain('interrupted by SIGTERM');
    // The blocked insert was ended with the process: no row appears once the lock goes.
    await new Promise((res) => setTimeout(res, 500));
    expect((await runs()).map((x) => x.outcome)).not.toContain('success');
  });
});
