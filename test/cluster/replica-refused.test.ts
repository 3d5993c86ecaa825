import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connect.js';
import { migrateLatest } from '../../src/db/migrations.js';
import { spawnCli } from '../helpers/cli.js';
import { insertUser } from '../helpers/fixtures.js';
import { query, startReplicaPair, waitUntil, type ReplicaPair } from '../helpers/mariadb-servers.js';

/**
 * A private primary (33340) and a writable replica of it (33341): the case where a replica took
 * a whole job and then broke replication. spanel must refuse it before writing anything.
 */
const NOW = '2026-11-25T02:00:00+08:00';
const DB = 'spanel_replica';

describe('a replica is refused (exit 2) before anything is written', () => {
  let pair: ReplicaPair;

  beforeAll(async () => {
    pair = await startReplicaPair(33340);
    await query(pair.primary, `CREATE DATABASE ${DB} CHARACTER SET utf8mb4`);
    const db = await openDatabase(pair.primary.url(DB));
    try {
      await migrateLatest(db.knex);
      await insertUser(db.knex, { class: 1, renew_time: 0, u: 100, d: 50 });
    } finally {
      await db.close();
    }
    await waitUntil(async () => (await query(pair.replica, `SELECT id FROM ${DB}.user`)).length === 1, 60_000);
  }, 300_000);
  afterAll(async () => {
    await pair?.stop();
  }, 120_000);

  const env = (url: string) => ({ DATABASE_URL: url, SPANEL_TIMEZONE: 'Asia/Shanghai' });
  const replicaRows = async () => ({
    runs: await query(pair.replica, `SELECT id, outcome FROM ${DB}.spanel_run ORDER BY id`),
    locks: await query(pair.replica, `SELECT name, token FROM ${DB}.spanel_lock ORDER BY name`),
    users: await query(pair.replica, `SELECT id, u, d FROM ${DB}.user ORDER BY id`),
  });

  it('job, payment and migrate against the replica: exit 2, one line, nothing written, replication intact', async () => {
    const before = await replicaRows();
    expect(before.runs).toEqual([]);
    const url = pair.replica.url(DB);
    for (const args of [['job', 'daily', '--now', NOW], ['job', 'daily'], ['payment', 'confirm', '1'], ['migrate']]) {
      const r = await spawnCli(args, env(url));
      expect([r.code, r.stderr.trim()], args.join(' ')).toEqual([
        2,
        `spanel: the database at ${url} is a replica (1 replication thread(s) running): nothing was written, since writes there break replication; point DATABASE_URL at the primary (or any synced Galera node)`,
      ]);
    }
    expect(await replicaRows()).toEqual(before);
    const [status] = await query<{ Slave_SQL_Running: string; Last_SQL_Errno: number }>(pair.replica, 'SHOW SLAVE STATUS');
    expect([status!.Slave_SQL_Running, Number(status!.Last_SQL_Errno)]).toEqual(['Yes', 0]);
  });

  it('doctor on the replica fails naming the primary; on the primary it passes', async () => {
    const doctor = await spawnCli(['doctor', '--json'], env(pair.replica.url(DB)));
    expect(doctor.code).toBe(1);
    const replication = doctor.json().checks.find((c: { check: string }) => c.check === 'replication');
    expect(replication).toEqual({
      check: 'replication',
      level: 'fail',
      detail: `this server is a replica of 127.0.0.1:${pair.primary.port} (1 replication thread(s) running): spanel refuses to write here; point DATABASE_URL at the primary`,
    });
    const onPrimary = await spawnCli(['doctor', '--json'], env(pair.primary.url(DB)));
    expect(onPrimary.json().checks.find((c: { check: string }) => c.check === 'replication')).toMatchObject({ level: 'ok', detail: 'not a replica' });
  });

  it('the same job on the primary runs, and the replica follows it', async () => {
    const r = await spawnCli(['job', 'daily', '--now', NOW], env(pair.primary.url(DB)));
    expect(r.code, r.stderr).toBe(0);
    await waitUntil(async () => (await query(pair.replica, `SELECT outcome FROM ${DB}.spanel_run`)).length === 1, 30_000);
    expect(await query(pair.replica, `SELECT u, d FROM ${DB}.user`)).toEqual([{ u: 150, d: 0 }]);
  });
});
