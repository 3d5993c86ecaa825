import type { Database } from './connect.js';
import { SpanelError, EXIT } from '../errors.js';

/** What spanel needs to know about the server before it writes, read in one round trip. */
export interface ServerState {
  readOnly: boolean;
  innodbReadOnly: boolean;
  /** Replication SQL threads running on this server (MariaDB's Slaves_running); null if unknown. */
  replicaThreads: number | null;
  /** Galera, when wsrep is on; null otherwise (or on a server without wsrep). */
  galera: { clusterSize: number; clusterStatus: string; nodeState: string } | null;
  /** The server's clock, ms since the epoch: every host running spanel shares it. */
  serverNowMs: number;
  /** This host's clock when the answer arrived, for the skew. */
  hostNowMs: number;
}

const STATUS_NAMES = ['SLAVES_RUNNING', 'WSREP_CLUSTER_SIZE', 'WSREP_CLUSTER_STATUS', 'WSREP_LOCAL_STATE_COMMENT'];

/**
 * MariaDB: variables, the status that tells a replica and a Galera node apart, and the server's
 * clock in one SELECT (no privilege needed). MySQL has neither @@wsrep_on nor
 * information_schema.GLOBAL_STATUS: it falls back to the variables and the clock.
 */
const MARIADB_STATE = `SELECT @@GLOBAL.read_only AS ro, @@GLOBAL.innodb_read_only AS iro, @@GLOBAL.wsrep_on AS wsrep,
  UNIX_TIMESTAMP(NOW(6)) AS now,
  (SELECT GROUP_CONCAT(CONCAT(variable_name, '=', variable_value) SEPARATOR '\\n') FROM information_schema.GLOBAL_STATUS
    WHERE variable_name IN (${STATUS_NAMES.map((n) => `'${n}'`).join(', ')})) AS status`;
const MYSQL_STATE = 'SELECT @@GLOBAL.read_only AS ro, @@GLOBAL.innodb_read_only AS iro, 0 AS wsrep, UNIX_TIMESTAMP(NOW(6)) AS now, NULL AS status';

interface StateRow {
  ro: number | string;
  iro: number | string;
  wsrep: number | string | null;
  now: string;
  status: string | null;
}

/** null for SQLite (embedded, one host, never a replica). */
export async function serverState(db: Database): Promise<ServerState | null> {
  if (db.target.kind !== 'mysql') return null;
  let row: StateRow;
  try {
    row = await one(db, MARIADB_STATE);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code !== 'ER_UNKNOWN_SYSTEM_VARIABLE' && code !== 'ER_UNKNOWN_TABLE' && code !== 'ER_NO_SUCH_TABLE') throw err;
    row = await one(db, MYSQL_STATE);
  }
  const hostNowMs = Date.now();
  const status = new Map(
    (row.status ?? '').split('\n').filter(Boolean).map((l) => {
      const i = l.indexOf('=');
      return [l.slice(0, i).toUpperCase(), l.slice(i + 1)] as const;
    }),
  );
  const on = (v: unknown) => Number(v) === 1 || String(v).toUpperCase() === 'ON';
  return {
    readOnly: on(row.ro),
    innodbReadOnly: on(row.iro),
    replicaThreads: status.has('SLAVES_RUNNING') ? Number(status.get('SLAVES_RUNNING')) : null,
    galera: on(row.wsrep)
      ? {
          clusterSize: Number(status.get('WSREP_CLUSTER_SIZE') ?? 0),
          clusterStatus: status.get('WSREP_CLUSTER_STATUS') ?? 'unknown',
          nodeState: status.get('WSREP_LOCAL_STATE_COMMENT') ?? 'unknown',
        }
      : null,
    serverNowMs: Math.round(Number(row.now) * 1000),
    hostNowMs,
  };
}

async function one(db: Database, sql: string): Promise<StateRow> {
  const [rows] = (await db.knex.raw(sql)) as [StateRow[]];
  return rows[0]!;
}

const TO_PRIMARY = 'point DATABASE_URL at the primary (or any synced Galera node)';

/** Why spanel must not write to this server, in one line; null when it may. */
export function writeRefusal(s: ServerState, url: string): string | null {
  if (s.innodbReadOnly) return `the database at ${url} is read-only (innodb_read_only): nothing was written; ${TO_PRIMARY}`;
  if (s.readOnly) return `the database at ${url} is read-only (read_only = ON, a replica?): nothing was written; ${TO_PRIMARY}`;
  if (s.replicaThreads) return `the database at ${url} is a replica (${s.replicaThreads} replication thread(s) running): nothing was written, since writes there break replication; ${TO_PRIMARY}`;
  if (s.galera && s.galera.clusterStatus !== 'Primary') {
    return `the database at ${url} is a Galera node outside the primary component (cluster status ${s.galera.clusterStatus}, node ${s.galera.nodeState}): nothing was written; ${TO_PRIMARY}`;
  }
  return null;
}

/**
 * Refuses (exit 2) a server spanel must not write to, before the first write of a command (the
 * lock, the history row, a migration). Returns the state for the clock. `replicaStatus` adds
 * SHOW SLAVE STATUS (a replica whose threads are stopped), at the cost of a round trip.
 */
export async function assertWritable(db: Database, opts: { replicaStatus?: boolean } = {}): Promise<ServerState | null> {
  const state = await serverState(db);
  if (!state) return null;
  let refusal = writeRefusal(state, db.safeUrl);
  if (!refusal && opts.replicaStatus) {
    const r = await replicationSources(db);
    if (r.kind === 'replica') refusal = `the database at ${db.safeUrl} is a replica of ${r.sources.join(', ')}: nothing was written, since writes there break replication; ${TO_PRIMARY}`;
  }
  if (refusal) throw new SpanelError(refusal, EXIT.USAGE);
  return state;
}

export type Replication = { kind: 'replica'; sources: string[] } | { kind: 'none' } | { kind: 'unknown'; why: string };

/**
 * SHOW ALL SLAVES STATUS (MariaDB), SHOW REPLICA STATUS (MySQL 8.0.22+), SHOW SLAVE STATUS: a row
 * means replication is configured, running or not. They need REPLICATION CLIENT (SLAVE MONITOR
 * on MariaDB 10.5+); without it the answer is "unknown", never an error.
 */
export async function replicationSources(db: Database): Promise<Replication> {
  let lastError = '';
  for (const sql of ['SHOW ALL SLAVES STATUS', 'SHOW REPLICA STATUS', 'SHOW SLAVE STATUS']) {
    try {
      const [rows] = (await db.knex.raw(sql)) as [Record<string, unknown>[]];
      if (!rows.length) return { kind: 'none' };
      return {
        kind: 'replica',
        sources: rows.map((r) => `${r.Master_Host ?? r.Source_Host ?? '?'}:${r.Master_Port ?? r.Source_Port ?? '?'}`),
      };
    } catch (err) {
      const e = err as { code?: string; message?: string };
      if (e.code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR' || e.code === 'ER_ACCESS_DENIED_ERROR' || e.code === 'ER_DBACCESS_DENIED_ERROR') {
        return { kind: 'unknown', why: `not allowed to read the replication status (${e.message}): GRANT REPLICATION CLIENT (SLAVE MONITOR on MariaDB 10.5+) to see it` };
      }
      if (e.code !== 'ER_PARSE_ERROR') throw err;
      lastError = e.message ?? '';
    }
  }
  return { kind: 'unknown', why: lastError };
}

/** Host clock minus server clock, in seconds (positive: the host is ahead). */
export function hostSkewSeconds(s: ServerState): number {
  return (s.hostNowMs - s.serverNowMs) / 1000;
}
