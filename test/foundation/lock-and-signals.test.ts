import mysql from 'mysql2/promise';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { BIN } from '../helpers/cli.js';
import { spawnCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { insertNode, insertUser } from '../helpers/fixtures.js';

/**
 * Real processes against real MariaDB. A run is held inside its transaction by a row lock that
 * the test takes on a node row, which the daily job's node-heartbeat step (its second step) must
 * read; by then the traffic-renewal step has already changed a user inside the same transaction.
 */
const NOW = '2026-11-25T02:00:00+08:00';
const NOW_UNIX = Date.parse(NOW) / 1000;

describe('overlap lock, crashes and signals (MariaDB, separate processes)', () => {
  const t = useTestDatabase('mysql');
  let blocker: mysql.Connection;
  let userId: number;
  let nodeId: number;
  let lockedNodeId: number;
  let lastRunBefore: number;
  // A short lease, so that the killed run's lease expires within the test.
  const env = () => ({ DATABASE_URL: t.url, SPANEL_TIMEZONE: 'Asia/Shanghai', SPANEL_LOCK_LEASE: '3s' });

  beforeEach(async () => {
    await t.knex('user').del();
    await t.knex('ss_node').del();
    userId = await insertUser(t.knex, { class: 1, renew_time: 0, u: 100, d: 50 });
    nodeId = await insertNode(t.knex, { type: 1, node_heartbeat: NOW_UNIX - 7201 });
    lockedNodeId = await insertNode(t.knex, { type: 1, node_heartbeat: NOW_UNIX });
    lastRunBefore = Number((await t.knex('spanel_run').max({ id: 'id' }).first())?.id ?? 0);
    blocker = await mysql.createConnection({ uri: t.url });
    await blocker.query('START TRANSACTION');
    await blocker.query('SELECT id FROM ss_node WHERE id = ? FOR UPDATE', [lockedNodeId]);
  });
  afterEach(async () => {
    await blocker.query('ROLLBACK').catch(() => undefined);
    await blocker.end().catch(() => undefined);
  });

  /** pid of the live lease holder of job:daily (by the server's clock), or null. */
  const lockHolder = async (): Promise<number | null> => {
    // Not through `blocker`: its open transaction reads an old snapshot.
    const [rows] = (await t.knex.raw(
      "SELECT pid FROM spanel_lock WHERE name = 'job:daily' AND expires_at > ROUND(UNIX_TIMESTAMP(NOW(6)) * 1000)",
    )) as [{ pid: number }[], unknown];
    return rows[0] ? Number(rows[0].pid) : null;
  };
  const waitFor = async (what: string, cond: () => Promise<boolean>, ms = 20_000) => {
    const t0 = Date.now();
    while (!(await cond())) {
      if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  /** The run's locking read on `ss_node` is in flight (InnoDB makes it wait for the test's row lock). */
  const blockedOnRowLock = async () => {
    const [rows] = (await t.knex.raw(
      "SELECT COUNT(*) AS n FROM information_schema.processlist WHERE db = DATABASE() AND command = 'Query' AND info LIKE 'select%from `ss_node`%for update'",
    )) as [{ n: number }[], unknown];
    return Number(rows[0]!.n) > 0;
  };

  const startDaily = () => {
    const child = spawn(process.execPath, [BIN, 'job', 'daily', '--now', NOW, '--json'], {
      env: { ...process.env, ...env(), LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
    );
    return { child, done };
  };
  const row = async (table: string, id: number) => (await t.knex(table).where('id', id).first()) as Record<string, unknown>;

  it('a second run of the same job, from another process, exits 75 and records nothing', async () => {
    const first = startDaily();
    await waitFor('the first run to take the lock', async () => (await lockHolder()) !== null);
    // Its run-history row is written just after the lock: count only once it is inside its steps.
    await waitFor('the first run to reach its steps', blockedOnRowLock);
    const runsBefore = await t.knex('spanel_run').count({ n: '*' }).first();
    const second = await spawnCli(['job', 'daily', '--now', NOW], env());
    expect(second.code).toBe(75);
    expect(second.stderr).toContain('skipped: another run holds the lock "job:daily"');
    expect(await t.knex('spanel_run').count({ n: '*' }).first()).toEqual(runsBefore);

    await blocker.query('COMMIT');
    const r = await first.done;
    expect(r.code, r.stderr).toBe(0);
    expect(await row('user', userId)).toMatchObject({ u: '150', d: '0' });
    expect(Number((await row('ss_node', nodeId)).type)).toBe(0);
    expect(await lockHolder()).toBeNull();
  });

  it('other jobs are not blocked by the daily lock', async () => {
    const first = startDaily();
    await waitFor('the lock', async () => (await lockHolder()) !== null);
    const other = await spawnCli(['job', 'dbclean', '--now', NOW], env());
    expect(other.code).not.toBe(75);
    await blocker.query('COMMIT');
    expect((await first.done).code).toBe(0);
  });

  it('a killed run (SIGKILL) holds the lock until its lease expires, and changed nothing', { timeout: 180_000 }, async () => {
    const first = startDaily();
    await waitFor('the run to wait on the row lock', blockedOnRowLock);
    expect(await lockHolder()).toBe(first.child.pid);
    first.child.kill('SIGKILL');
    await first.done;
    // The dead run's lease outlives it (nothing renews it any more)...
    expect(await lockHolder()).toBe(first.child.pid);
    await blocker.query('ROLLBACK');
    // The renewal the dead run had made inside its transaction is gone.
    expect(await row('user', userId)).toMatchObject({ u: '100', d: '50' });
    expect(Number((await row('ss_node', nodeId)).type)).toBe(1);
    const meanwhile = await spawnCli(['job', 'daily', '--now', NOW], env());
    // ...so a run started meanwhile is skipped, unless a slow machine let the 3 s run out first.
    if (meanwhile.code !== 0) expect([meanwhile.code, meanwhile.stderr.trim()]).toEqual([75, 'spanel: skipped: another run holds the lock "job:daily"']);
    await waitFor('the dead run\'s lease to expire', async () => (await lockHolder()) === null);
    if (meanwhile.code === 75) {
      const next = await spawnCli(['job', 'daily', '--now', NOW], env());
      expect(next.code, next.stderr).toBe(0);
    }
    const history = await t.knex('spanel_run').where('id', '>', lastRunBefore).orderBy('id');
    expect(history.map((h) => h.outcome)).toEqual(['running', 'success']);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('%s rolls back, releases the lock and exits non-zero', async (sig) => {
    const first = startDaily();
    await waitFor('the run to wait on the row lock', blockedOnRowLock);
    expect(await lockHolder()).not.toBeNull();
    first.child.kill(sig);
    const r = await first.done;
    expect(r.code, r.stderr).toBe(sig === 'SIGTERM' ? 143 : 130);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'interrupted', error: `interrupted by ${sig}: rolled back` });
    // Released while the test still holds its row lock: the run did not wait for it.
    expect(await lockHolder()).toBeNull();
    // The renewal step had already changed the user inside the transaction: rolled back.
    expect(await row('user', userId)).toMatchObject({ u: '100', d: '50' });
    await blocker.query('ROLLBACK');
    const last = await t.knex('spanel_run').orderBy('id', 'desc').first();
    expect(Number(last.id)).toBeGreaterThan(lastRunBefore);
    expect(last.outcome).toBe('interrupted');
  });
});
