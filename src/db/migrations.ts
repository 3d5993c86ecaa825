import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import type { SpanelMigration } from '../../migrations/_schema.js';
import { checkedSchema } from './schema-family.js';

/**
 * Migrations are compiled with the package (dist/migrations/*.js) and loaded through a custom
 * source, so `spanel migrate` runs from an installed package without ts-node or a knexfile.
 */
export const MIGRATIONS_TABLE = 'spanel_migrations';
const DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));

/** Compiled .js in an installed package; .ts when the tests run the sources directly. */
function migrationFiles(): Map<string, string> {
  const files = readdirSync(DIR).filter((f) => /^\d+_[\w-]+\.(js|ts)$/.test(f) && !f.endsWith('.d.ts'));
  return new Map(files.map((f) => [f.replace(/\.(js|ts)$/, ''), f]));
}

export function migrationNames(): string[] {
  return [...migrationFiles().keys()].sort();
}

async function load(name: string): Promise<SpanelMigration> {
  const file = migrationFiles().get(name);
  if (!file) throw new Error(`migration ${name} is missing from ${DIR}`);
  const mod = (await import(new URL(`../../migrations/${file}`, import.meta.url).href)) as { default: SpanelMigration };
  return mod.default;
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
