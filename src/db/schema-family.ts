import type { Knex } from 'knex';
import { EXIT, SpanelError } from '../errors.js';
import type { Database } from './connect.js';

/**
 * Which panel a database belongs to, recognised before any command touches it (SPEC §2
 * "Supported panels"). spanel's rules read columns of the SPanel / ss-panel-v3-mod family
 * (`user.enable`, `user.t`, `ss_node`…); run against another descendant, SSPanel-UIM above all,
 * they would read columns that mean something else or that a migrate re-added with zeros, and
 * delete active users. So anything that is not that family, nor an empty database, is refused.
 */
export type SchemaFamily = 'spanel' | 'empty' | 'sspanel-uim' | 'unknown';

export interface SchemaInfo {
  family: SchemaFamily;
  /** Human name of what was recognised, and the evidence, for the refusal line and doctor. */
  recognised: string;
  evidence: string[];
  /** Every base table of the database, with its engine (null on SQLite). */
  tables: Map<string, string | null>;
  /** The columns of `user` and `payback` that recognition and the rules look at. */
  columns: Map<string, Set<string>>;
}

/** Columns whose presence or absence tells the families apart (or that steps adapt to). */
const WATCHED_COLUMNS: Record<string, readonly string[]> = {
  user: ['enable', 't', 'u', 'd', 'expire_in', 'money', 'ref_by', 'last_use_time', 'is_banned', 'transfer_today'],
  payback: ['callback'],
};
const SPANEL_PREFIX = 'spanel_';

/**
 * Tables (with engines) and the watched columns, in ONE round trip: this runs before every
 * command, so it also answers "is spanel migrated" and "which tables cannot roll back".
 */
export async function inspectSchema(db: Pick<Database, 'knex'>): Promise<SchemaInfo> {
  const rows = /sqlite/.test(String(db.knex.client.config.client)) ? await sqliteRows(db.knex) : await mysqlRows(db.knex);
  const tables = new Map<string, string | null>();
  const columns = new Map<string, Set<string>>();
  for (const r of rows) {
    if (!r.col || !tables.has(r.tbl)) tables.set(r.tbl, r.engine ?? tables.get(r.tbl) ?? null);
    if (r.col) {
      const set = columns.get(r.tbl) ?? new Set<string>();
      set.add(r.col);
      columns.set(r.tbl, set);
    }
  }
  return { tables, columns, ...classify(tables, columns) };
}

interface Row {
  tbl: string;
  engine: string | null;
  col: string | null;
}

async function mysqlRows(knex: Knex): Promise<Row[]> {
  const bindings: string[] = [];
  const conds = Object.entries(WATCHED_COLUMNS).map(([table, cols]) => {
    bindings.push(table, ...cols);
    return `(table_name = ? AND column_name IN (${cols.map(() => '?').join(',')}))`;
  });
  // Two constant-filtered halves rather than a join: MariaDB then reads the columns of this
  // schema only ("Scanned 1 database"); joined on t.table_schema it scanned every database.
  const [rows] = (await knex.raw(
    `SELECT table_name AS tbl, engine AS engine, NULL AS col
       FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'
     UNION ALL
     SELECT table_name, NULL, column_name
       FROM information_schema.columns WHERE table_schema = DATABASE() AND (${conds.join(' OR ')})`,
    bindings,
  )) as [Row[]];
  return rows;
}

async function sqliteRows(knex: Knex): Promise<Row[]> {
  const watched = Object.keys(WATCHED_COLUMNS);
  // pragma_table_info as a table-valued function: tables and watched columns in one statement.
  const rows: { tbl: string; col: string | null }[] = await knex.raw(
    `SELECT m.name AS tbl, p.name AS col FROM sqlite_master m
       LEFT JOIN pragma_table_info(m.name) p ON m.name IN (${watched.map(() => '?').join(',')})
      WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'`,
    watched,
  );
  return rows.map((r) => ({ tbl: r.tbl, engine: null, col: WATCHED_COLUMNS[r.tbl]?.includes(r.col ?? '') ? r.col : null }));
}

function classify(tables: Map<string, string | null>, columns: Map<string, Set<string>>): Pick<SchemaInfo, 'family' | 'recognised' | 'evidence'> {
  const user = columns.get('user') ?? new Set<string>();
  const hasUser = tables.has('user');
  const uim: string[] = [];
  if (tables.has('node') && !tables.has('ss_node')) uim.push('table node without ss_node');
  for (const c of ['last_use_time', 'is_banned', 'transfer_today']) if (user.has(c)) uim.push(`user.${c}`);
  // A UIM database an older spanel migrate already touched has ss_node and user.enable/t back;
  // its own columns still give it away, so two UIM signs are enough whatever else is there.
  if (uim.length >= 2 || (hasUser && uim.length >= 1 && !user.has('enable'))) {
    const lacks = ['enable', 't', 'expire_in'].filter((c) => !user.has(c)).map((c) => `user.${c}`);
    const tablesSign = uim.filter((e) => !e.startsWith('user.'));
    const userSigns = uim.filter((e) => e.startsWith('user.'));
    const evidence = [...tablesSign, ...(userSigns.length ? [userSigns.join(', ')] : []), ...(lacks.length ? [`no ${lacks.join(', ')}`] : [])];
    return { family: 'sspanel-uim', recognised: 'SSPanel-UIM', evidence };
  }
  if (hasUser) {
    const missing = ['enable', 't', 'u', 'd'].filter((c) => !user.has(c));
    if (missing.length === 0) {
      return { family: 'spanel', recognised: 'SPanel / ss-panel-v3-mod', evidence: ['user.enable, user.t, user.u, user.d'] };
    }
    return { family: 'unknown', recognised: 'an unknown panel', evidence: [`table user without ${missing.map((c) => `user.${c}`).join(', ')}`] };
  }
  const others = [...tables.keys()].filter((t) => !t.startsWith(SPANEL_PREFIX));
  if (others.length === 0) return { family: 'empty', recognised: 'an empty database', evidence: ['no tables but spanel’s own'] };
  const shown = others.sort().slice(0, 5).join(', ') + (others.length > 5 ? ` and ${others.length - 5} more` : '');
  return { family: 'unknown', recognised: 'an unknown schema', evidence: [`no user table, but ${shown}`] };
}

export function isSupported(info: SchemaInfo): boolean {
  return info.family === 'spanel' || info.family === 'empty';
}

/** The one line an unsupported schema is refused with (doctor prints the same words). */
export function describeUnsupported(info: SchemaInfo): string {
  return `recognised ${info.recognised} (${info.evidence.join('; ')}): spanel supports only the SPanel / ss-panel-v3-mod family and empty databases (docs/compatibility.md), so it changes nothing here`;
}

/** Exit 2 before anything is written. */
export function assertSupportedSchema(info: SchemaInfo, safeUrl: string): void {
  if (!isSupported(info)) throw new SpanelError(`refusing the database at ${safeUrl}: ${describeUnsupported(info)}`, EXIT.USAGE);
}

/** For the commands that do not go through the runner (migrate, status). */
export async function checkedSchema(db: Pick<Database, 'knex' | 'safeUrl'>): Promise<SchemaInfo> {
  const info = await inspectSchema(db);
  assertSupportedSchema(info, db.safeUrl);
  return info;
}
