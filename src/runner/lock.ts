import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import type { Knex } from 'knex';
import type { Database } from '../db/connect.js';
import { LockHeldError, OperationError } from '../errors.js';

export interface RunLock {
  /** Throws unless this run still holds the lock (checked just before commit). */
  verify(): Promise<void>;
  release(): Promise<void>;
}

/**
 * The lock's connection sits idle while the run works on another one; a server whose
 * wait_timeout is shorter than the run would close it and so free the lock under a running job.
 * A day is longer than any job's TimeoutStartSec.
 */
const LOCK_IDLE_SECONDS = 86_400;

/**
 * MySQL/MariaDB: GET_LOCK on a connection held for the whole run. The lock lives in the database
 * server, so it covers every host that runs spanel against the same database, and the server frees
 * it the moment the holding connection closes: a killed or crashed run never leaves it held.
 * SQLite (embedded, single host): an exclusive lock file next to the database, stale when its
 * process is gone.
 */
export async function acquireLock(db: Database, name: string): Promise<RunLock> {
  if (db.target.kind === 'sqlite') return acquireFileLock(`${db.target.filename}.${name.replace(/[^\w.-]/g, '_')}.lock`, name);
  const lockName = serverLockName(db.target.database, name);
  const client = db.knex.client as { acquireConnection(): Promise<unknown>; releaseConnection(c: unknown): Promise<void> };
  const conn = await client.acquireConnection();
  const on = (sql: string, bindings: Knex.RawBinding[]) => db.knex.raw(sql, bindings).connection(conn);
  let got: unknown;
  try {
    const [rows] = (await on('SELECT GET_LOCK(?, 0) AS got', [lockName])) as [{ got: number | null }[]];
    got = rows[0]?.got;
  } catch (err) {
    await client.releaseConnection(conn);
    throw err;
  }
  if (Number(got) !== 1) {
    await client.releaseConnection(conn);
    throw new LockHeldError(name);
  }
  await on('SET SESSION wait_timeout = ?', [LOCK_IDLE_SECONDS]).catch(() => undefined);
  return {
    verify: async () => {
      const held = await on('SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine', [lockName])
        .then(([rows]: [{ mine: number | null }[]]) => Number(rows[0]?.mine) === 1)
        .catch(() => false);
      if (!held) throw new OperationError(`lost the overlap lock "${name}" (the database closed its connection): rolled back so that no other run overlaps this one; run the job again`);
    },
    release: async () => {
      try {
        await on('SELECT RELEASE_LOCK(?)', [lockName]);
      } finally {
        await client.releaseConnection(conn);
      }
    },
  };
}

/** GET_LOCK names longer than this are refused by MySQL 5.7+ and MariaDB. */
const MAX_LOCK_NAME = 64;

/**
 * `spanel:<database>:<name>`; a database name too long for that is replaced by a digest of it,
 * since cutting the string short could make two jobs (or two databases) share one lock.
 */
export function serverLockName(database: string, name: string): string {
  const plain = `spanel:${database}:${name}`;
  if (plain.length <= MAX_LOCK_NAME) return plain;
  return `spanel:${createHash('sha256').update(database).digest('hex').slice(0, 24)}:${name}`.slice(0, MAX_LOCK_NAME);
}

/** A lock with no server behind it, for commands that run without one (payment confirm). */
export const NO_LOCK: RunLock = { verify: async () => undefined, release: async () => undefined };

function acquireFileLock(path: string, name: string): RunLock {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return {
        verify: async () => undefined,
        release: async () => {
          try {
            unlinkSync(path);
          } catch {
            /* already gone */
          }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!isStale(path)) throw new LockHeldError(name);
      try {
        unlinkSync(path);
      } catch {
        /* another process took it over first */
      }
    }
  }
  throw new LockHeldError(name);
}

function isStale(path: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(path, 'utf8').trim());
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
