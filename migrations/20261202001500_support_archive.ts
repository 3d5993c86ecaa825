import type { Knex } from 'knex';
import { createTableChange, missingPartsChanges, tableExists, type Change, type SpanelMigration, type TableDef } from './_schema.js';

/**
 * Issue 15 (support and audit): the rows each run changed (a bounded sample per table, kept with
 * the run), the dependent rows archived with a deleted user, and when an archived user was
 * restored. Only new tables and columns: nothing existing is touched.
 */
const TABLES: TableDef[] = [
  {
    name: 'spanel_run_change',
    id: 'bigint',
    columns: [
      ['run_id', (t) => t.bigInteger('run_id').notNullable()],
      ['step', (t) => t.string('step', 64).notNullable()],
      ['table_name', (t) => t.string('table_name', 64).notNullable()],
      ['row_id', (t) => t.string('row_id', 64).notNullable()],
      ['action', (t) => t.string('action', 8).notNullable()],
      ['before_json', (t) => t.text('before_json').nullable()],
      ['after_json', (t) => t.text('after_json').nullable()],
    ],
    indexes: [
      { name: 'spanel_run_change_run', columns: ['run_id'] },
      { name: 'spanel_run_change_row', columns: ['table_name', 'row_id'] },
    ],
  },
  {
    name: 'spanel_archived_row',
    id: 'bigint',
    columns: [
      ['archive_id', (t) => t.bigInteger('archive_id').notNullable()],
      ['user_id', (t) => t.bigInteger('user_id').notNullable()],
      ['table_name', (t) => t.string('table_name', 64).notNullable()],
      ['row_json', (t) => t.text('row_json', 'longtext').notNullable()],
    ],
    indexes: [{ name: 'spanel_archived_row_archive', columns: ['archive_id'] }],
  },
  {
    name: 'spanel_archived_user',
    id: 'bigint',
    columns: [
      ['restored_at', (t) => t.bigInteger('restored_at').nullable()],
      ['restored_run_id', (t) => t.bigInteger('restored_run_id').nullable()],
    ],
  },
];

/** The archive table comes from an earlier migration; a dry run on an empty database plans it before it exists. */
function addColumn(table: string, name: string, build: TableDef['columns'][number][1]): Change {
  return { description: `add column ${table}.${name}`, apply: (k) => k.schema.alterTable(table, (t) => void build(t)) };
}

export const SUPPORT_TABLES = ['spanel_run_change', 'spanel_archived_row'];

const migration: SpanelMigration = {
  async plan(knex: Knex): Promise<Change[]> {
    const changes: Change[] = [];
    for (const def of TABLES) {
      if (await tableExists(knex, def.name)) changes.push(...(await missingPartsChanges(knex, def)));
      else if (def.name === 'spanel_archived_user') changes.push(...def.columns.map(([c, build]) => addColumn(def.name, c, build)));
      else changes.push(createTableChange(def));
    }
    return changes;
  },
};

export default migration;
