import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/connect.js';
import { migrateLatest } from '../../src/db/migrations.js';
import { serverState, writeRefusal } from '../../src/db/topology.js';
import { spawnCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { insertUser } from '../helpers/fixtures.js';
import { installDb, query, serverTempDir, startServer, stopAll, type PrivateServer } from '../helpers/mariadb-servers.js';

const NOW = '2026-11-25T02:00:00+08:00';
const DB = 'spanel_ro';

/**
 * A private mariadbd started with --read-only on port 33350 (never the shared server's global
 * settings). root may still write there (SUPER), which is exactly why spanel must check
 * @@read_only itself rather than rely on the server refusing its statements.
 */
describe('a read-only server is refused before any write (private mariadbd --read-only)', () => {
  let server: PrivateServer;
  let dir: string;
  let db: Database;

  beforeAll(async () => {
    dir = serverTempDir('readonly');
    installDb(join(dir, 'data'));
    server = await startServer({ name: 'read-only server', port: 33350, datadir: join(dir, 'data'), args: ['--read-only'] });
    await query(server, `CREATE DATABASE ${DB}`);
    db = await openDatabase(server.url(DB));
    await migrateLatest(db.knex);
    await insertUser(db.knex, { class: 1, renew_time: 0, u: 100, d: 50 });
  }, 180_000);
  afterAll(async () => {
    await db?.close();
    await stopAll(server ? [server] : [], dir ? [dir] : []);
  }, 120_000);

  it('job, payment confirm and migrate exit 2 with one line; nothing is written', async () => {
    const url = server.url(DB);
    const line = `spanel: the database at ${url} is read-only (read_only = ON, a replica?): nothing was written; point DATABASE_URL at the primary (or any synced Galera node)`;
    for (const args of [['job', 'daily', '--now', NOW], ['job', 'hourly'], ['job', 'daily', '--dry-run'], ['payment', 'confirm', '1'], ['migrate']]) {
      const r = await spawnCli(args, { DATABASE_URL: url });
      expect([r.code, r.stderr.trim()], args.join(' ')).toEqual([2, line]);
    }
    expect(await db.knex('spanel_run').count({ n: '*' })).toEqual([{ n: '0' }]);
    expect(await db.knex('spanel_lock').count({ n: '*' })).toEqual([{ n: '0' }]);
    expect(await db.knex('user').select('u', 'd')).toEqual([{ u: '100', d: '50' }]);
  });

  it('doctor fails on read-only and reports replication and Galera state', async () => {
    const r = await spawnCli(['doctor', '--json'], { DATABASE_URL: server.url(DB) });
    expect(r.code).toBe(1);
    const checks = Object.fromEntries(r.json().checks.map((c: { check: string; level: string; detail: string }) => [c.check, [c.level, c.detail]]));
    expect(checks['read-only']![0]).toBe('fail');
    expect(checks.replication).toEqual(['ok', 'not a replica']);
    expect(checks.galera).toEqual(['info', 'wsrep is off: a single server (or a primary), not a Galera node']);
    expect(checks['clock skew']![0]).toBe('ok');
  });

  it('serverState reads it in one query', async () => {
    const s = (await serverState(db))!;
    expect([s.readOnly, s.innodbReadOnly, s.replicaThreads, s.galera]).toEqual([true, false, 0, null]);
    expect(Math.abs(s.serverNowMs - s.hostNowMs)).toBeLessThan(5000);
    expect(writeRefusal(s, 'URL')).toMatch(/^the database at URL is read-only/);
  });
});

describe('the shared server is writable', () => {
  const t = useTestDatabase('mysql');
  it('no refusal, the server clock, no Galera', async () => {
    const s = (await serverState(t.db))!;
    expect([s.readOnly, s.innodbReadOnly, s.replicaThreads, s.galera]).toEqual([false, false, 0, null]);
    expect(writeRefusal(s, 'URL')).toBeNull();
  });
});
