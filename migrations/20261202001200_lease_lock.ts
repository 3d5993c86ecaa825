import type { Knex } from 'knex';
import { createTableChange, missingPartsChanges, tableExists, type Change, type SpanelMigration, type TableDef } from './_schema.js';

/**
 * The overlap lock as a lease row (src/runner/lock.ts): one row per lock name, written in
 * committed statements and timed by the database server's clock (milliseconds since the epoch,
 * so no session time zone enters), so it holds through any Galera node and any proxy.
 */
export const LEASE_TABLE: TableDef = {
  name: 'spanel_lock',
  id: 'bigint',
  columns: [
    ['name', (t) => t.string('name', 128).notNullable()],
    ['token', (t) => t.string('token', 64).notNullable()],
    ['host', (t) => t.string('host', 255).notNullable()],
    ['pid', (t) => t.integer('pid').notNullable()],
    ['acquired_at', (t) => t.bigInteger('acquired_at').notNullable()],
    ['expires_at', (t) => t.bigInteger('expires_at').notNullable()],
    // Bumped inside each run's transaction: the write that makes an overlapping takeover conflict.
    ['checks', (t) => t.bigInteger('checks').notNullable().defaultTo(0)],
  ],
  indexes: [{ name: 'spanel_lock_name', columns: ['name'], unique: true }],
};

const migration: SpanelMigration = {
  async plan(knex: Knex): Promise<Change[]> {
    if (await tableExists(knex, LEASE_TABLE.name)) return missingPartsChanges(knex, LEASE_TABLE);
    return [createTableChange(LEASE_TABLE)];
  },
};

export default migration;
