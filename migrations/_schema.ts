import type { Knex } from 'knex';

/**
 * Shared by the migrations: a migration first plans (inspects the schema and lists what is
 * missing), then applies exactly that plan. `spanel migrate --dry-run` prints the plan.
 */
export interface Change {
  description: string;
  apply(knex: Knex): Promise<void>;
}

export interface SpanelMigration {
  plan(knex: Knex): Promise<Change[]>;
}

export type ColumnBuilder = (t: Knex.CreateTableBuilder | Knex.AlterTableBuilder) => Knex.ColumnBuilder;

export interface TableDef {
  name: string;
  /** Columns in order; `id` is created with the table. */
  columns: [string, ColumnBuilder][];
  id?: 'int' | 'bigint';
  /** Indexes created with the table (and added to an existing table when missing). */
  indexes?: { name: string; columns: string[]; unique?: boolean }[];
}

export function isSqlite(knex: Knex): boolean {
  return /sqlite/.test(String(knex.client.config.client));
}

export async function tableExists(knex: Knex, table: string): Promise<boolean> {
  return knex.schema.hasTable(table);
}

export async function existingColumns(knex: Knex, table: string): Promise<Set<string>> {
  const info = await knex(table).columnInfo();
  return new Set(Object.keys(info));
}

export async function indexExists(knex: Knex, table: string, index: string): Promise<boolean> {
  if (isSqlite(knex)) {
    const rows: { name: string }[] = await knex.raw(`PRAGMA index_list(${JSON.stringify(table)})`);
    return rows.some((r) => r.name === index);
  }
  const rows = await knex('information_schema.statistics')
    .select('index_name')
    .whereRaw('table_schema = DATABASE()')
    .where({ table_name: table, index_name: index })
    .limit(1);
  return rows.length > 0;
}

export function createTableChange(def: TableDef): Change {
  return {
    description: `create table ${def.name} (${def.columns.map(([c]) => c).join(', ')})`,
    apply: (knex) =>
      knex.schema.createTable(def.name, (t) => {
        if (def.id === 'bigint') t.bigIncrements('id');
        else t.increments('id');
        for (const [, build] of def.columns) build(t);
        for (const ix of def.indexes ?? []) {
          if (ix.unique) t.unique(ix.columns, { indexName: ix.name });
          else t.index(ix.columns, ix.name);
        }
        if (!isSqlite(knex)) {
          t.engine('InnoDB');
          t.charset('utf8mb4');
        }
      }),
  };
}

/** For an existing table: only the columns and indexes it lacks. Existing columns are never touched. */
export async function missingPartsChanges(knex: Knex, def: TableDef): Promise<Change[]> {
  const have = await existingColumns(knex, def.name);
  const changes: Change[] = [];
  for (const [name, build] of def.columns) {
    if (have.has(name)) continue;
    changes.push({
      description: `add column ${def.name}.${name}`,
      apply: (k) => k.schema.alterTable(def.name, (t) => void build(t)),
    });
  }
  for (const ix of def.indexes ?? []) {
    if (await indexExists(knex, def.name, ix.name)) continue;
    changes.push({
      description: `add ${ix.unique ? 'unique ' : ''}index ${ix.name} on ${def.name} (${ix.columns.join(', ')})`,
      apply: (k) =>
        k.schema.alterTable(def.name, (t) => {
          if (ix.unique) t.unique(ix.columns, { indexName: ix.name });
          else t.index(ix.columns, ix.name);
        }),
    });
  }
  return changes;
}
