import { randomUUID } from 'node:crypto';
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { LEASE_TABLE } from '../../migrations/20261202001200_lease_lock.js';
import type { Database } from '../db/connect.js';
import { LockHeldError, OperationError } from '../errors.js';
import { isConflict } from './retry.js';
import { processAlive } from '../util/process.js';

export interface RunLock {
  /**
   * Throws unless this run still holds the lock. Called inside the run's transaction (`trx`),
   * just before its COMMIT, so that the check commits (or conflicts) together with the work.
   */
  verify(trx?: Knex.Transaction): Promise<void>;
  release(): Promise<void>;
}

export interface LeaseOptions {
  /** Lease length in seconds (SPANEL_LOCK_LEASE); renewed every third of it. */
  leaseSeconds: number;
  log?: Logger;
}

/** Milliseconds since the epoch on the database server's clock; no session time zone enters. */
const SERVER_MS = 'ROUND(UNIX_TIMESTAMP(NOW(6)) * 1000)';
/** A Galera certification conflict on the acquiring write: the other writer's row wins; look again. */
const ACQUIRE_ATTEMPTS = 3;

/**
 * MySQL/MariaDB: a lease row in spanel_lock (name, token, holder, expires_at on the server's
 * clock). Taking, renewing and releasing it are single autocommit statements on any pooled
 * connection, so nothing depends on one session surviving (a proxy may route every statement
 * elsewhere, every Galera node sees the same row). The run's own transaction updates the row by
 * its token just before COMMIT: a run whose lease expired and was taken over rolls back, and two
 * runs overlapping despite the lease conflict through the row lock (one server) or certification
 * (Galera). A run that dies leaves the row, which expires within one lease.
 * SQLite (embedded, single host): an exclusive lock file next to the database, stale when its
 * process is gone.
 */
export async function acquireLock(db: Database, name: string, opts: LeaseOptions = { leaseSeconds: 60 }): Promise<RunLock> {
  if (db.target.kind === 'sqlite') return acquireFileLock(`${db.target.filename}.${name.replace(/[^\w.-]/g, '_')}.lock`, name);
  return acquireLease(db.knex, name, opts);
}

async function acquireLease(knex: Knex, name: string, opts: LeaseOptions): Promise<RunLock> {
  const token = randomUUID();
  const leaseMs = Math.round(opts.leaseSeconds * 1000);
  const holder = { host: hostname().slice(0, 255), pid: process.pid };
  const took = await takeLease(knex, name, token, holder, leaseMs).catch((err: { code?: string }) => {
    if (err?.code === 'ER_NO_SUCH_TABLE') throw new OperationError(`the lock table ${LEASE} is missing (spanel was upgraded): run \`spanel migrate\` first`);
    throw err;
  });
  if (!took) throw new LockHeldError(name);

  let lost = false;
  let renewing: Promise<void> = Promise.resolve();
  const renew = async () => {
    try {
      const n = await affected(knex.raw(`UPDATE ${LEASE} SET expires_at = ${SERVER_MS} + ? WHERE name = ? AND token = ?`, [leaseMs, name, token]));
      if (n === 0) lost = true;
    } catch (err) {
      // The next tick tries again; the check inside the transaction has the last word.
      opts.log?.warn({ lock: name, err: (err as Error).message }, 'could not renew the lock lease');
    }
  };
  const timer = setInterval(() => void (renewing = renew()), Math.max(200, Math.floor(leaseMs / 3)));
  timer.unref();

  return {
    verify: async (trx) => {
      const n = lost
        ? 0
        : await affected((trx ?? knex).raw(`UPDATE ${LEASE} SET checks = checks + 1 WHERE name = ? AND token = ? AND expires_at > ${SERVER_MS}`, [name, token]));
      if (n === 0) {
        lost = true;
        throw new OperationError(`lost the overlap lock "${name}" (its lease expired or another run took it over): rolled back so that no other run overlaps this one; run the job again`);
      }
    },
    release: async () => {
      clearInterval(timer);
      await renewing;
      await knex.raw(`UPDATE ${LEASE} SET expires_at = 0 WHERE name = ? AND token = ?`, [name, token]);
    },
  };
}

const LEASE = LEASE_TABLE.name;

/**
 * Takes over an expired (or released) lease, else creates the row; neither when a live lease
 * exists. On Galera a concurrent taker through another node makes one of the two writes fail
 * certification (a deadlock error): look again, by then the winner's row has arrived.
 */
async function takeLease(knex: Knex, name: string, token: string, holder: { host: string; pid: number }, leaseMs: number): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      const took = await affected(
        knex.raw(
          `UPDATE ${LEASE} SET token = ?, host = ?, pid = ?, acquired_at = ${SERVER_MS}, expires_at = ${SERVER_MS} + ?, checks = 0
           WHERE name = ? AND expires_at <= ${SERVER_MS}`,
          [token, holder.host, holder.pid, leaseMs, name],
        ),
      );
      if (took === 1) return true;
      try {
        await knex.raw(
          `INSERT INTO ${LEASE} (name, token, host, pid, acquired_at, expires_at, checks) VALUES (?, ?, ?, ?, ${SERVER_MS}, ${SERVER_MS} + ?, 0)`,
          [name, token, holder.host, holder.pid, leaseMs],
        );
        return true;
      } catch (err) {
        if ((err as { code?: string }).code === 'ER_DUP_ENTRY') return false;
        throw err;
      }
    } catch (err) {
      if (!isConflict(err) || attempt >= ACQUIRE_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

async function affected(q: Promise<unknown> | Knex.Raw): Promise<number> {
  const [res] = (await q) as [{ affectedRows?: number }];
  return Number(res?.affectedRows ?? 0);
}

export interface LeaseHolder {
  name: string;
  host: string;
  pid: number;
  acquiredAtMs: number;
  expiresAtMs: number;
}

/** Leases alive now (by the server's clock), for `spanel status`; none on SQLite. */
export async function activeLeases(db: Database): Promise<LeaseHolder[]> {
  if (db.target.kind !== 'mysql') return [];
  if (!(await db.dialect.existingTables(db.knex, [LEASE])).has(LEASE)) return [];
  const [rows] = (await db.knex.raw(`SELECT name, host, pid, acquired_at, expires_at FROM ${LEASE} WHERE expires_at > ${SERVER_MS} ORDER BY name`)) as [
    { name: string; host: string; pid: number; acquired_at: string; expires_at: string }[],
  ];
  return rows.map((r) => ({ name: r.name, host: r.host, pid: Number(r.pid), acquiredAtMs: Number(r.acquired_at), expiresAtMs: Number(r.expires_at) }));
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
  return !processAlive(pid);
}
