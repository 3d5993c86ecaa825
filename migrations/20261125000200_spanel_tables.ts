import type { Knex } from 'knex';
import { createTableChange, missingPartsChanges, tableExists, type Change, type SpanelMigration, type TableDef } from './_schema.js';

/** spanel's own tables: run history, money ledger, archive of deleted users, traffic snapshots. */
const TABLES: TableDef[] = [
  {
    name: 'spanel_run',
    id: 'bigint',
    columns: [
      ['command', (t) => t.string('command', 64).notNullable()],
      ['outcome', (t) => t.string('outcome', 16).notNullable()],
      ['started_at', (t) => t.bigInteger('started_at').notNullable()],
      ['finished_at', (t) => t.bigInteger('finished_at').nullable()],
      ['duration_ms', (t) => t.integer('duration_ms').nullable()],
      ['now_at', (t) => t.bigInteger('now_at').notNullable()],
      ['host', (t) => t.string('host', 255).notNullable()],
      ['pid', (t) => t.integer('pid').notNullable()],
      ['operator', (t) => t.string('operator', 64).notNullable()],
      ['args', (t) => t.text('args').nullable()],
      ['steps', (t) => t.text('steps').nullable()],
      ['error', (t) => t.text('error').nullable()],
    ],
    indexes: [{ name: 'spanel_run_command_started', columns: ['command', 'started_at'] }],
  },
  {
    name: 'spanel_money_ledger',
    id: 'bigint',
    columns: [
      ['user_id', (t) => t.bigInteger('user_id').notNullable()],
      ['amount_before', (t) => t.decimal('amount_before', 12, 2).notNullable()],
      ['amount_after', (t) => t.decimal('amount_after', 12, 2).notNullable()],
      ['delta', (t) => t.decimal('delta', 12, 2).notNullable()],
      ['reason', (t) => t.string('reason', 32).notNullable()],
      ['reference', (t) => t.string('reference', 64).nullable()],
      ['run_id', (t) => t.bigInteger('run_id').nullable()],
      ['operator', (t) => t.string('operator', 64).notNullable()],
      ['created_at', (t) => t.bigInteger('created_at').notNullable()],
    ],
    indexes: [
      { name: 'spanel_money_ledger_user', columns: ['user_id'] },
      { name: 'spanel_money_ledger_run', columns: ['run_id'] },
    ],
  },
  {
    name: 'spanel_archived_user',
    id: 'bigint',
    columns: [
      ['user_id', (t) => t.bigInteger('user_id').notNullable()],
      ['email', (t) => t.string('email', 255).notNullable().defaultTo('')],
      ['reason', (t) => t.string('reason', 64).notNullable()],
      ['row_json', (t) => t.text('row_json', 'longtext').notNullable()],
      ['run_id', (t) => t.bigInteger('run_id').nullable()],
      ['deleted_at', (t) => t.bigInteger('deleted_at').notNullable()],
    ],
    indexes: [{ name: 'spanel_archived_user_user', columns: ['user_id'] }],
  },
  {
    name: 'spanel_traffic_snapshot',
    id: 'bigint',
    columns: [
      ['kind', (t) => t.string('kind', 16).notNullable()],
      ['user_id', (t) => t.bigInteger('user_id').notNullable()],
      ['total', (t) => t.bigInteger('total').notNullable()],
      ['expires_at', (t) => t.bigInteger('expires_at').notNullable()],
    ],
    indexes: [{ name: 'spanel_traffic_snapshot_key', columns: ['kind', 'user_id'], unique: true }],
  },
];

export const SPANEL_TABLES = TABLES.map((t) => t.name);

const migration: SpanelMigration = {
  async plan(knex: Knex): Promise<Change[]> {
    const changes: Change[] = [];
    for (const def of TABLES) {
      if (await tableExists(knex, def.name)) changes.push(...(await missingPartsChanges(knex, def)));
      else changes.push(createTableChange(def));
    }
    return changes;
  },
};

export default migration;
