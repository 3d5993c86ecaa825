import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import mysql from 'mysql2/promise';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/load.js';
import { openDatabase, type Database } from '../../src/db/connect.js';
import { migrateLatest } from '../../src/db/migrations.js';
import { runCommand } from '../../src/runner/run.js';
import type { Step } from '../../src/runner/types.js';
import { BIN, spawnCli } from '../helpers/cli.js';
import { insertNode, insertOrder, insertUser } from '../helpers/fixtures.js';
import { startGaleraCluster, waitUntil, type GaleraCluster, type PrivateServer } from '../helpers/mariadb-servers.js';

/**
 * A real 3-node Galera cluster (MariaDB + galera-4) on private ports 33300-33323, started once
 * for this file. "Hosts" are separate spanel processes, each pointed at a different node.
 */
const NOW = '2026-11-25T02:00:00+08:00';
const NOW_UNIX = Date.parse(NOW) / 1000;
const DB = 'spanel_galera';

describe('Galera: one lease for every node, conflicts retried, read-only nodes refused', () => {
  let cluster: GaleraCluster;
  let nodes: PrivateServer[];
  let node1: Database;

  beforeAll(async () => {
    cluster = await startGaleraCluster(33300);
    nodes = cluster.nodes;
    const admin = await nodes[0]!.connect();
    await admin.query(`CREATE DATABASE ${DB} CHARACTER SET utf8mb4`);
    await admin.end();
    node1 = await openDatabase(nodes[0]!.url(DB));
    await migrateLatest(node1.knex);
    // Bounded, but generous: state transfers crawl on a loaded 2-core CI machine.
  }, 600_000);
  afterAll(async () => {
    await node1?.close();
    await cluster?.stop();
  }, 120_000);

  const env = (node: number, extra: Record<string, string> = {}) => ({ DATABASE_URL: nodes[node]!.url(DB), SPANEL_TIMEZONE: 'Asia/Shanghai', ...extra });
  /** A read through `node` that first waits for every write the cluster has committed. */
  const read = async <T = Record<string, unknown>>(node: number, sql: string, params: unknown[] = []): Promise<T[]> => {
    const conn = await mysql.createConnection({ uri: nodes[node]!.url(DB), dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
    try {
      await conn.query('SET SESSION wsrep_sync_wait = 1');
      const [rows] = await conn.query(sql, params);
      return rows as T[];
    } finally {
      await conn.end();
    }
  };
  const count = async (node: number, table: string) => Number((await read<{ n: number }>(node, `SELECT COUNT(*) AS n FROM ${table}`))[0]!.n);
  const leaseHolder = async (node: number) =>
    (await read<{ pid: string }>(node, "SELECT pid FROM spanel_lock WHERE name = 'job:daily' AND expires_at > ROUND(UNIX_TIMESTAMP(NOW(6)) * 1000)"))[0]?.pid ?? null;

  /** A daily run through `node`, held inside its transaction by `blocker`'s row lock on a node row. */
  const startDaily = (node: number, extra: Record<string, string> = {}) => {
    const child = spawn(process.execPath, [BIN, 'job', 'daily', '--now', NOW, '--json'], {
      env: { ...process.env, ...env(node, extra), LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
    return { child, done };
  };
  const holdNodeRow = async (node: number) => {
    await node1.knex('ss_node').del();
    await node1.knex('user').del();
    const userId = await insertUser(node1.knex, { class: 1, renew_time: 0, u: 100, d: 50 });
    const lockedNodeId = await insertNode(node1.knex, { type: 1, node_heartbeat: NOW_UNIX });
    await waitUntil(async () => (await read(node, 'SELECT id FROM ss_node WHERE id = ?', [lockedNodeId])).length === 1, 30_000);
    const blocker = await mysql.createConnection({ uri: nodes[node]!.url(DB) });
    await blocker.query('START TRANSACTION');
    await blocker.query('SELECT id FROM ss_node WHERE id = ? FOR UPDATE', [lockedNodeId]);
    const blockedOnRowLock = async () => {
      const [rows] = (await node1.knex.raw(
        "SELECT COUNT(*) AS n FROM information_schema.processlist WHERE db = DATABASE() AND command = 'Query' AND info LIKE 'select%from `ss_node`%for update'",
      )) as [{ n: number }[]];
      return Number(rows[0]!.n) > 0;
    };
    return { userId, blocker, blockedOnRowLock };
  };

  it('a second host starting the job through another node while the first is inside its transaction exits 75', async () => {
    const { userId, blocker, blockedOnRowLock } = await holdNodeRow(0);
    const runsBefore = await count(1, 'spanel_run');
    const first = startDaily(0);
    try {
      await waitUntil(blockedOnRowLock, 60_000, 100);
      // The lease row committed on node 1 is what node 2 sees.
      expect(Number(await leaseHolder(1))).toBe(first.child.pid);
      const second = await spawnCli(['job', 'daily', '--now', NOW], env(1));
      expect([second.code, second.stderr.trim()]).toEqual([75, 'spanel: skipped: another run holds the lock "job:daily"']);
      const third = await spawnCli(['job', 'daily', '--now', NOW], env(2));
      expect(third.code).toBe(75);
      expect(await count(2, 'spanel_run')).toBe(runsBefore + 1);
    } finally {
      await blocker.query('COMMIT');
      await blocker.end();
    }
    const r = await first.done;
    expect(r.code, r.stderr).toBe(0);
    expect((await read(2, 'SELECT u, d FROM user WHERE id = ?', [userId]))[0]).toEqual({ u: '150', d: '0' });
    expect(await leaseHolder(2)).toBeNull();
  });

  it('a killed holder\'s lease expires (SPANEL_LOCK_LEASE) and the next run, through another node, proceeds', async () => {
    const { userId, blocker, blockedOnRowLock } = await holdNodeRow(0);
    const lease = { SPANEL_LOCK_LEASE: '3s' };
    const first = startDaily(0, lease);
    await waitUntil(blockedOnRowLock, 60_000, 100);
    first.child.kill('SIGKILL');
    await first.done;
    await blocker.query('ROLLBACK');
    await blocker.end();
    const meanwhile = await spawnCli(['job', 'daily', '--now', NOW], env(1, lease));
    // Unless the lease already ran out on a slow machine: then it must have proceeded.
    expect([75, 0]).toContain(meanwhile.code);
    if (meanwhile.code === 75) {
      await waitUntil(async () => (await leaseHolder(1)) === null, 30_000);
      const next = await spawnCli(['job', 'daily', '--now', NOW], env(1, lease));
      expect(next.code, next.stderr).toBe(0);
    }
    // The dead run's transaction was rolled back; the next run renewed the user once.
    expect((await read(2, 'SELECT u, d FROM user WHERE id = ?', [userId]))[0]).toEqual({ u: '150', d: '0' });
    const last = await read<{ outcome: string }>(2, "SELECT outcome FROM spanel_run WHERE command = 'job daily' ORDER BY id DESC LIMIT 2");
    expect(last.map((h) => h.outcome)).toEqual(['success', 'running']);
  });

  it('many confirmations of one order spread over the three nodes pay once', async () => {
    const r2 = await insertUser(node1.knex, { money: '0.00' });
    const r1 = await insertUser(node1.knex, { money: '0.00', ref_by: r2 });
    const payer = await insertUser(node1.knex, { money: '0.00', ref_by: r1 });
    const order = await insertOrder(node1.knex, { userid: payer, total: '10.00' });
    await waitUntil(async () => (await read(2, 'SELECT id FROM paylist WHERE id = ?', [order])).length === 1, 30_000);
    const ledgerBefore = await count(0, 'spanel_money_ledger');
    const N = 9;
    const results = await Promise.all(Array.from({ length: N }, (_, i) => spawnCli(['payment', 'confirm', String(order)], env(i % 3))));
    expect(results.map((r) => [r.code, r.stderr])).toEqual(Array(N).fill([0, '']));
    expect(results.filter((r) => r.stdout.includes('marked paid'))).toHaveLength(1);
    expect(results.filter((r) => r.stdout.includes('already paid'))).toHaveLength(N - 1);
    for (const node of [0, 1, 2]) {
      const money = await read<{ id: string; money: string }>(node, 'SELECT id, money FROM user WHERE id IN (?) ORDER BY id', [[r2, r1, payer]]);
      expect(money.map((u) => u.money)).toEqual(['2.00', '2.00', '10.00']);
      expect(await count(node, 'spanel_money_ledger')).toBe(ledgerBefore + 3);
    }
    expect(await read(1, 'SELECT COUNT(*) AS n FROM payback WHERE paylist_id = ?', [order])).toEqual([{ n: '2' }]);
  });

  it('a certification failure at COMMIT is retried to a correct result, and the retry is logged', async () => {
    const id = await insertUser(node1.knex, { money: '1.00' });
    await waitUntil(async () => (await read(1, 'SELECT id FROM user WHERE id = ?', [id])).length === 1, 30_000);
    const logs: string[] = [];
    const log = pino({ level: 'warn' }, new Writable({ write: (chunk, _e, cb) => (logs.push(String(chunk)), cb()) }));
    let attempts = 0;
    const conflicted: Step = {
      name: 'conflicted',
      title: 'Adds 1 on node 1 while node 2 commits +10 to the same row',
      async run(ctx) {
        attempts++;
        await ctx.trx('user').where('id', id).increment('money', 1);
        if (attempts === 1) {
          // Node 2 commits first; when its write set reaches node 1 it aborts this open
          // transaction, which learns it only at its COMMIT.
          await read(1, 'UPDATE user SET money = money + 10 WHERE id = ?', [id]);
          await waitUntil(async () => (await read<{ money: string }>(0, 'SELECT money FROM user WHERE id = ?', [id]))[0]!.money === '11.00', 30_000, 50);
        }
        return { count: 1, changes: [] };
      },
    };
    const settings = loadSettings({ env: { DATABASE_URL: nodes[0]!.url(DB) }, cwd: '/' }).settings;
    const result = await runCommand({ command: 'test certification', lockName: null, steps: [conflicted] }, { settings, log, database: node1 }, {
      dryRun: false,
      force: false,
      now: new Date(NOW),
      operator: 'tester',
    });
    expect([result.outcome, result.exitCode, result.error]).toEqual(['success', 0, null]);
    expect(attempts).toBe(2);
    for (const node of [0, 1, 2]) expect((await read<{ money: string }>(node, 'SELECT money FROM user WHERE id = ?', [id]))[0]!.money).toBe('12.00');
    const retries = logs.map((l) => JSON.parse(l)).filter((l) => l.msg.includes('running it again'));
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ level: 40, attempt: 1 });
  });

  it('a read-only node is refused with exit 2 before anything is written; doctor says why', async () => {
    const ro = await nodes[2]!.connect();
    await ro.query('SET GLOBAL read_only = ON');
    try {
      const runs = await count(2, 'spanel_run');
      const leases = await read(2, 'SELECT name, token, expires_at FROM spanel_lock ORDER BY name');
      const url = `mysql://root@127.0.0.1:${nodes[2]!.port}/${DB}`;
      const line = `spanel: the database at ${url} is read-only (read_only = ON, a replica?): nothing was written; point DATABASE_URL at the primary (or any synced Galera node)`;
      for (const args of [['job', 'daily'], ['payment', 'confirm', '1'], ['migrate']]) {
        const r = await spawnCli(args, env(2));
        expect([r.code, r.stderr.trim()], args.join(' ')).toEqual([2, line]);
      }
      expect(await count(2, 'spanel_run')).toBe(runs);
      expect(await read(2, 'SELECT name, token, expires_at FROM spanel_lock ORDER BY name')).toEqual(leases);
      const doctor = await spawnCli(['doctor', '--json'], env(2));
      expect(doctor.code).toBe(1);
      const checks = Object.fromEntries(doctor.json().checks.map((c: { check: string; level: string; detail: string }) => [c.check, c]));
      expect(checks['read-only'].level).toBe('fail');
      expect(checks.galera).toMatchObject({ level: 'ok', detail: 'wsrep_on = ON, cluster size 3, cluster status Primary, node state Synced' });
    } finally {
      await ro.query('SET GLOBAL read_only = OFF');
      await ro.end();
    }
    const healthy = await spawnCli(['doctor', '--json'], env(2));
    expect(healthy.json().checks.find((c: { check: string }) => c.check === 'read-only').level).toBe('ok');
  });
});
