import type { Knex } from 'knex';
import { existingColumns, tableExists, type Change, type SpanelMigration } from './_schema.js';

/**
 * The money ledger's `created_at` is the time the command acted as (`--now`, for a replayed
 * run); auditors also need when the row was really written. Added nullable: rows from before
 * this migration keep NULL (their wall-clock time is unknown), nothing existing is rewritten.
 */
const migration: SpanelMigration = {
  async plan(knex: Knex): Promise<Change[]> {
    if (!(await tableExists(knex, 'spanel_money_ledger'))) return [];
    if ((await existingColumns(knex, 'spanel_money_ledger')).has('recorded_at')) return [];
    return [
      {
        description: 'add column spanel_money_ledger.recorded_at (wall-clock Unix time of the write; created_at is the acted-as time)',
        apply: (k) => k.schema.alterTable('spanel_money_ledger', (t) => void t.bigInteger('recorded_at').nullable()),
      },
    ];
  },
};

export default migration;
