import type { Knex } from 'knex';
import { OperationError } from '../errors.js';
import { maskSecrets, maskUrl } from '../util/mask.js';
import { dialectFor, type Dialect } from './dialect.js';
import { boundQueries, DEFAULT_DB_LIMITS, lockWaitSql, type DbLimits } from './limits.js';
import { parseDatabaseUrl, type DatabaseTarget } from './url.js';

export interface Database {
  knex: Knex;
  dialect: Dialect;
  target: DatabaseTarget;
  /** DATABASE_URL with the password masked: the only form that may be printed or logged. */
  safeUrl: string;
  close(): Promise<void>;
}

/** Opens the pool and proves it works with one query, failing fast with an actionable message. */
export async function openDatabase(url: string, limits: DbLimits = DEFAULT_DB_LIMITS): Promise<Database> {
  const target = parseDatabaseUrl(url);
  const { default: knexFactory } = await import('knex');
  const knex = knexFactory(knexConfig(target, limits));
  const db: Database = {
    knex,
    dialect: dialectFor(target.kind),
    target,
    safeUrl: maskUrl(url),
    close: () => knex.destroy(),
  };
  try {
    await knex.raw('select 1 as ok');
  } catch (err) {
    await knex.destroy().catch(() => undefined);
    throw new OperationError(describeConnectError(db.safeUrl, target, err));
  }
  return db;
}

/** Knex would print its own warnings (with stacks) to the console; spanel reports errors itself. */
const quietKnexLog = { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined };

export function knexConfig(target: DatabaseTarget, limits: DbLimits = DEFAULT_DB_LIMITS): Knex.Config {
  if (target.kind === 'sqlite') {
    return {
      log: quietKnexLog,
      client: 'better-sqlite3',
      connection: { filename: target.filename },
      useNullAsDefault: true,
      pool: {
        afterCreate(conn: { pragma(s: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
          conn.pragma('journal_mode = WAL');
          conn.pragma(`busy_timeout = ${Math.max(1, Math.round(limits.lockWaitMs))}`);
          done(null, conn);
        },
      },
    };
  }
  return {
    log: quietKnexLog,
    client: 'mysql2',
    connection: {
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      database: target.database,
      charset: 'utf8mb4',
      connectTimeout: limits.connectMs,
      // DATETIME columns are panel-local wall time: keep them as strings, never as JS Dates
      // shifted by Node's zone. BIGINT/DECIMAL stay strings too, so nothing loses precision.
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
    },
    pool: { min: 0, max: 4, afterCreate: sessionSetup(limits) },
    acquireConnectionTimeout: limits.connectMs + 2000,
  };
}

type RawMysql = { query(sql: string, cb: (err: Error | null) => void): void; destroy(): void };

/** Every new session: zero dates allowed (below), server lock waits bounded, queries timed. */
function sessionSetup(limits: DbLimits) {
  return (conn: RawMysql, done: (err: Error | null, conn: unknown) => void): void => {
    boundQueries(conn as unknown as Parameters<typeof boundQueries>[0], limits.statementMs);
    allowPanelZeroDates(conn, (err) => {
      if (err) return done(err, conn);
      conn.query(lockWaitSql(limits.lockWaitMs), (e) => done(e, conn));
    });
  };
}

/**
 * Old panels declare DATETIME columns with DEFAULT '0000-00-00 00:00:00'. Under MySQL 5.7/8's
 * default sql_mode (NO_ZERO_DATE, NO_ZERO_IN_DATE) any ALTER of such a table fails with
 * "Invalid default value", so `spanel migrate` could not add a column. spanel never writes a
 * zero date itself, so its sessions drop just those two modes and keep the rest (strictness
 * included).
 */
const RELAX_ZERO_DATES = `SET SESSION sql_mode = TRIM(BOTH ',' FROM REPLACE(REPLACE(CONCAT(',', @@SESSION.sql_mode, ','), ',NO_ZERO_IN_DATE,', ','), ',NO_ZERO_DATE,', ','))`;

function allowPanelZeroDates(conn: { query(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null) => void): void {
  conn.query(RELAX_ZERO_DATES, (err) => done(err));
}

function describeConnectError(safeUrl: string, target: DatabaseTarget, err: unknown): string {
  const e = err as { code?: string; message?: string };
  const why = maskSecrets(e.code ?? e.message ?? String(err));
  if (target.kind === 'sqlite') {
    return `cannot open the SQLite database ${target.filename}: ${maskSecrets(e.message ?? why)}`;
  }
  switch (e.code) {
    case 'ECONNREFUSED':
    case 'ETIMEDOUT':
    case 'ENOTFOUND':
    case 'EHOSTUNREACH':
      return `cannot reach the database at ${safeUrl} (${why}): is MariaDB/MySQL running, and is DATABASE_URL right?`;
    case 'ER_ACCESS_DENIED_ERROR':
      return `the database at ${safeUrl} refused the user "${target.user}" (${why}): check the user and password in DATABASE_URL`;
    case 'ER_BAD_DB_ERROR':
      return `database "${target.database}" does not exist on ${safeUrl}: create it or fix DATABASE_URL`;
    default:
      return `cannot connect to the database at ${safeUrl}: ${maskSecrets(e.message ?? why)}`;
  }
}
