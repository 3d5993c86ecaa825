import type { Knex } from 'knex';
import type { Database } from './connect.js';

/** Engines whose changes a ROLLBACK undoes. */
const ROLLBACK_ENGINES = new Set(['innodb', 'rocksdb', 'tokudb']);

/**
 * Which of `tables` use an engine that cannot roll back (MyISAM, Aria, MEMORY …), with their
 * engine, from a table → engine map (see inspectSchema). On such a table a dry run or a failed
 * run would leave its changes behind. Which tables matter is the command's business: each
 * CommandSpec declares the tables it writes in its transaction.
 */
export function nonTransactionalIn(engines: ReadonlyMap<string, string | null>, tables: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const t of tables) {
    const engine = engines.get(t);
    if (engine && !ROLLBACK_ENGINES.has(engine.toLowerCase())) out.set(t, engine);
  }
  return out;
}

/** The same, asking the server (doctor). */
export async function nonTransactionalTables(db: Database, tables: readonly string[]): Promise<Map<string, string>> {
  if (db.target.kind !== 'mysql' || tables.length === 0) return new Map();
  const rows: { name: string; engine: string | null }[] = await (db.knex as Knex)
    .select('table_name as name', 'engine')
    .from('information_schema.tables')
    .whereRaw('table_schema = DATABASE()')
    .where('table_type', 'BASE TABLE')
    .whereIn('table_name', tables as string[]);
  return nonTransactionalIn(new Map(rows.map((r) => [r.name, r.engine])), tables);
}

/** The one-line fix for `nonTransactional`, as the refusal message and doctor print it. */
export function describeNonTransactional(found: Map<string, string>): string {
  const list = [...found].map(([t, e]) => `${t} (${e})`).join(', ');
  const alter = [...found.keys()].map((t) => `ALTER TABLE \`${t}\` ENGINE=InnoDB;`).join(' ');
  return `these panel tables cannot roll back a change: ${list}; a dry run or a failed run would leave its changes behind, so spanel refuses to change them. Convert them (back up first, at a quiet moment): ${alter}`;
}
