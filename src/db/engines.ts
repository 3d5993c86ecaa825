import type { Knex } from 'knex';
import { DEPENDENT_TABLES } from '../jobs/check/delete-archived.js';
import { IP_RECORD_MAX_AGE } from '../jobs/check/ip-records.js';
import type { Database } from './connect.js';

/**
 * Panel tables that commands change inside their one transaction. dbclean's log tables are not
 * here: it commits each batch on its own, so it needs no rollback.
 */
export const TRANSACTIONAL_TABLES: readonly string[] = [
  'user',
  'ss_node',
  'paylist',
  'payback',
  ...Object.keys(IP_RECORD_MAX_AGE),
  ...DEPENDENT_TABLES.map((d) => d.table),
];

/** Engines whose changes a ROLLBACK undoes. */
const ROLLBACK_ENGINES = new Set(['innodb', 'rocksdb', 'tokudb']);

/**
 * Which of `tables` use an engine that cannot roll back (MyISAM, Aria, MEMORY …), with their
 * engine. On such a table a dry run or a failed run would leave its changes behind.
 */
export async function nonTransactionalTables(db: Database, tables: readonly string[] = TRANSACTIONAL_TABLES): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (db.target.kind !== 'mysql' || tables.length === 0) return out;
  const rows: { name: string; engine: string | null }[] = await (db.knex as Knex)
    .select('table_name as name', 'engine')
    .from('information_schema.tables')
    .whereRaw('table_schema = DATABASE()')
    .where('table_type', 'BASE TABLE')
    .whereIn('table_name', tables as string[]);
  for (const r of rows) if (r.engine && !ROLLBACK_ENGINES.has(r.engine.toLowerCase())) out.set(r.name, r.engine);
  return out;
}

/** The one-line fix for `nonTransactional`, as the refusal message and doctor print it. */
export function describeNonTransactional(found: Map<string, string>): string {
  const list = [...found].map(([t, e]) => `${t} (${e})`).join(', ');
  const alter = [...found.keys()].map((t) => `ALTER TABLE \`${t}\` ENGINE=InnoDB;`).join(' ');
  return `these panel tables cannot roll back a change: ${list}; a dry run or a failed run would leave its changes behind, so spanel refuses to change them. Convert them (back up first, at a quiet moment): ${alter}`;
}
