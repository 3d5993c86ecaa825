import type { Knex } from 'knex';
import { MIGRATIONS } from '../../migrations/index.js';
import type { SpanelMigration } from '../../migrations/_schema.js';
import { checkedSchema } from './schema-family.js';

/**
 * Migrations are part of the build (migrations/index.ts lists them) and run through a custom
 * source, so `spanel migrate` works from an installed package without ts-node or a knexfile.
 */
export const MIGRATIONS_TABLE = 'spanel_migrations';

export function migrationNames(): string[] {
  return Object.keys(MIGRATIONS).sort();
}

async function load(name: string): Promise<SpanelMigration> {
  const m = MIGRATIONS[name];
  if (!m) throw new Error(`migration ${name} is not in migrations/index.ts`);
  return m;
}

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => migrationNames(),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const m = await load(name);
    return {
      async up(knex: Knex) {
        for (const change of await m.plan(knex)) await change.apply(knex);
      },
      async down() {
        throw new Error('spanel migrations are not reversible: they never drop panel data');
      },
    };
  },
};

const config: Knex.MigratorConfig = { migrationSource: source, tableName: MIGRATIONS_TABLE };

export async function appliedMigrations(knex: Knex): Promise<string[]> {
  if (!(await knex.schema.hasTable(MIGRATIONS_TABLE))) return [];
  const rows: { name: string }[] = await knex(MIGRATIONS_TABLE).select('name').orderBy('id');
  return rows.map((r) => r.name);
}

export async function pendingMigrations(knex: Knex): Promise<string[]> {
  const done = new Set(await appliedMigrations(knex));
  return migrationNames().filter((n) => !done.has(n));
}

/** What `migrate` would do, migration by migration, without changing anything. */
export async function planPending(knex: Knex): Promise<{ migration: string; changes: string[] }[]> {
  // Columns are added only to a panel spanel understands (the handler says where, first).
  await checkedSchema({ knex, safeUrl: 'this database' });
  const out = [];
  for (const name of await pendingMigrations(knex)) {
    const changes = await (await load(name)).plan(knex);
    out.push({ migration: name, changes: changes.map((c) => c.description) });
  }
  return out;
}

export async function migrateLatest(knex: Knex): Promise<{ migration: string; changes: string[] }[]> {
  const planned = await planPending(knex);
  await knex.migrate.latest(config);
  return planned;
}
