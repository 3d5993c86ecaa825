import { OperationError } from '../errors.js';

/**
 * How long spanel waits for the database, so that a frozen or blocked server ends a run with a
 * message instead of holding it forever (cron would stack runs behind it).
 */
export interface DbLimits {
  /** TCP connect and handshake (DB_CONNECT_TIMEOUT). */
  connectMs: number;
  /** Any one statement, measured on the client: also covers a server that stopped answering. */
  statementMs: number;
  /** Row, metadata and global-read-lock waits inside the server (DB_LOCK_WAIT_TIMEOUT). */
  lockWaitMs: number;
}

export const DEFAULT_DB_LIMITS: DbLimits = { connectMs: 5_000, statementMs: 600_000, lockWaitMs: 120_000 };

export function dbLimitsOf(s: { dbConnectTimeout: number; dbStatementTimeout: number; dbLockWaitTimeout: number }): DbLimits {
  return { connectMs: s.dbConnectTimeout * 1000, statementMs: s.dbStatementTimeout * 1000, lockWaitMs: s.dbLockWaitTimeout * 1000 };
}

interface RawConnection {
  query(...args: unknown[]): unknown;
  destroy(): void;
}

/**
 * Gives every query on a mysql2 connection a client-side timeout (mysql2's per-query `timeout`),
 * unless the caller set one. A timed-out connection is destroyed: its session may still be busy,
 * and the pool must not hand it out again. Installed once per connection, in the pool's
 * afterCreate, so no query path can forget it.
 */
export function boundQueries(conn: RawConnection, statementMs: number): void {
  const query = conn.query.bind(conn);
  conn.query = (...args: unknown[]) => {
    const [opts] = args;
    if (opts && typeof opts === 'object' && (opts as { timeout?: number }).timeout === undefined) {
      (opts as { timeout?: number }).timeout = statementMs;
    }
    const last = args.length - 1;
    const cb = args[last];
    if (typeof cb === 'function') {
      args[last] = (err: { code?: string } | null, ...rest: unknown[]) => {
        if (err?.code === 'PROTOCOL_SEQUENCE_TIMEOUT') conn.destroy();
        return (cb as (...a: unknown[]) => unknown)(err, ...rest);
      };
    }
    return query(...args);
  };
}

/** Session settings bounding the server's own lock waits (seconds, at least 1). */
export function lockWaitSql(lockWaitMs: number): string {
  const s = Math.max(1, Math.ceil(lockWaitMs / 1000));
  return `SET SESSION innodb_lock_wait_timeout = ${s}, SESSION lock_wait_timeout = ${s}`;
}

/**
 * A bounded wait that ran out, as one line saying what happened and which setting governs it;
 * null for any other error.
 */
export function describeWaitError(err: unknown, limits: DbLimits): OperationError | null {
  const e = err as { code?: string; errno?: number } | null;
  if (e?.code === 'PROTOCOL_SEQUENCE_TIMEOUT') {
    return new OperationError(`the database did not answer within ${limits.statementMs / 1000} s (DB_STATEMENT_TIMEOUT): it may be frozen or overloaded; rolled back, nothing was changed`);
  }
  if (e?.code === 'ER_LOCK_WAIT_TIMEOUT' || e?.errno === 1205 || e?.code === 'ER_LOCK_WAIT_TIMEOUT_EXCEEDED') {
    return new OperationError(`waited ${limits.lockWaitMs / 1000} s (DB_LOCK_WAIT_TIMEOUT) for a lock another session holds (a long transaction or FLUSH TABLES WITH READ LOCK?); rolled back, nothing was changed`);
  }
  if (e?.code === 'SQLITE_BUSY') {
    return new OperationError(`waited ${limits.lockWaitMs / 1000} s (DB_LOCK_WAIT_TIMEOUT) for another writer of the SQLite database; rolled back, nothing was changed`);
  }
  return null;
}
