import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll } from 'vitest';
import { openDatabase, type Database } from '../../src/db/connect.js';
import { migrateLatest } from '../../src/db/migrations.js';
import { MYSQL_ADMIN_URL } from './services.js';

export type DialectName = 'mysql' | 'sqlite';

/** Dialects the dialect-parametrised tests run on (`SPANEL_TEST_DIALECTS=mysql` narrows it). */
export const DIALECTS: DialectName[] = (process.env.SPANEL_TEST_DIALECTS?.split(',') as DialectName[] | undefined) ?? ['mysql', 'sqlite'];

export interface TestDatabase {
  /** DATABASE_URL of this test database (give it to the CLI through env). */
  url: string;
  dialect: DialectName;
  db: Database;
  knex: Knex;
  drop(): Promise<void>;
}

/**
 * A database of its own for one test file: a fresh MariaDB schema `spanel_t_<random>` or a
 * temporary SQLite file, created empty (migrate: false) or migrated. Dropped by drop().
 */
export async function createTestDatabase(dialect: DialectName = 'mysql', opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  let url: string;
  let cleanup: () => Promise<void>;
  if (dialect === 'mysql') {
    const name = `spanel_t_${randomBytes(6).toString('hex')}`;
    const admin = await mysql.createConnection({ uri: MYSQL_ADMIN_URL });
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
    await admin.end();
    const u = new URL(MYSQL_ADMIN_URL);
    u.pathname = `/${name}`;
    url = u.toString();
    cleanup = async () => {
      const a = await mysql.createConnection({ uri: MYSQL_ADMIN_URL });
      await a.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await a.end();
    };
  } else {
    const dir = mkdtempSync(join(tmpdir(), 'spanel-test-'));
    url = `sqlite:${join(dir, 'panel.sqlite')}`;
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  }
  const db = await openDatabase(url);
  if (opts.migrate !== false) await migrateLatest(db.knex);
  return {
    url,
    dialect,
    db,
    knex: db.knex,
    drop: async () => {
      await db.close();
      await cleanup();
    },
  };
}

/** beforeAll/afterAll wrapper: `const t = useTestDatabase('mysql')`, then `t.knex` in tests. */
export function useTestDatabase(dialect: DialectName = 'mysql', opts: { migrate?: boolean } = {}): TestDatabase {
  const holder = {} as TestDatabase;
  beforeAll(async () => {
    Object.assign(holder, await createTestDatabase(dialect, opts));
  });
  afterAll(async () => {
    await holder.drop?.();
  });
  return holder;
}
