import type { Knex } from 'knex';

/**
 * The few places where MySQL/MariaDB and SQLite differ. Steps keep their SQL in the Knex
 * builder and come here for anything dialect-specific, so the embedded database cannot drift.
 */
export interface Dialect {
  readonly name: 'mysql' | 'sqlite';
  /** Locking read, so the rows sampled for a report are the rows the following UPDATE changes. */
  forUpdate<T extends Knex.QueryBuilder>(qb: T): T;
  /**
   * SQL for DATETIME expression `datetime` moved back by `seconds` (an SQL expression, truncated
   * to whole seconds). Comparing a column with this, rather than taking the difference of two
   * dates, keeps a zero date ('0000-00-00 00:00:00') "long ago" instead of NULL.
   */
  datetimeMinusSeconds(datetime: string, seconds: string): string;
  /** Which of `tables` exist in the connected database, in one query. */
  existingTables(db: Knex | Knex.Transaction, tables: readonly string[]): Promise<Set<string>>;
}

const mysql: Dialect = {
  name: 'mysql',
  forUpdate: (qb) => qb.forUpdate() as typeof qb,
  datetimeMinusSeconds: (datetime, seconds) => `DATE_SUB(${datetime}, INTERVAL CAST(${seconds} AS SIGNED) SECOND)`,
  async existingTables(db, tables) {
    if (tables.length === 0) return new Set();
    const rows: { name: string }[] = await db
      .select('table_name as name')
      .from('information_schema.tables')
      .whereRaw('table_schema = DATABASE()')
      .whereIn('table_name', tables as string[]);
    return new Set(rows.map((r) => r.name));
  },
};

const sqlite: Dialect = {
  name: 'sqlite',
  // SQLite has one writer at a time and the transaction holds it: reads are already stable.
  forUpdate: (qb) => qb,
  datetimeMinusSeconds: (datetime, seconds) => `datetime(${datetime}, printf('%+d seconds', -round(${seconds})))`,
  async existingTables(db, tables) {
    if (tables.length === 0) return new Set();
    const rows: { name: string }[] = await db
      .select('name')
      .from('sqlite_master')
      .where('type', 'table')
      .whereIn('name', tables as string[]);
    return new Set(rows.map((r) => r.name));
  },
};

export function dialectFor(name: 'mysql' | 'sqlite'): Dialect {
  return name === 'mysql' ? mysql : sqlite;
}
