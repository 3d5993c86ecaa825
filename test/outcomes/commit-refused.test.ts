import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/load.js';
import { runCommand } from '../../src/runner/run.js';
import type { Step } from '../../src/runner/types.js';
import { useTestDatabase } from '../helpers/db.js';

/**
 * A COMMIT the database refuses, injected without a network fault: SQLite checks deferred
 * foreign keys at COMMIT. knex's trx.commit() resolves anyway (only executionPromise rejects), so
 * before the fix this run reported and recorded success and ran its after-commit effect.
 */
describe('a COMMIT the database refuses (deferred constraint, SQLite)', () => {
  const t = useTestDatabase('sqlite');

  it('is a failure: exit 1, history not success, no after-commit effect, nothing kept, the connection usable', async () => {
    await t.knex.raw('PRAGMA foreign_keys = ON');
    await t.knex.raw('CREATE TABLE parent (id INTEGER PRIMARY KEY)');
    await t.knex.raw('CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)');
    let effectRan = false;
    const orphan: Step = {
      name: 'orphan',
      title: 'Insert a row whose parent does not exist',
      async run(ctx) {
        await ctx.trx('child').insert({ id: 1, parent_id: 42 });
        ctx.afterCommit({ label: 'snapshot', run: async () => void (effectRan = true) });
        return { count: 1, changes: [] };
      },
    };
    const settings = loadSettings({ env: { DATABASE_URL: t.url }, cwd: '/' }).settings;
    const r = await runCommand(
      { command: 'test commit refused', lockName: null, steps: [orphan] },
      { settings, log: pino({ level: 'silent' }), database: t.db },
      { dryRun: false, force: false, now: new Date('2026-11-25T00:00:00Z'), operator: 'tester' },
    );
    expect(r.outcome).toBe('failed');
    expect(r.exitCode).toBe(1);
    expect(r.error).toMatch(/FOREIGN KEY constraint failed/);
    expect(effectRan).toBe(false);
    expect(await t.knex('child')).toEqual([]);
    const run = await t.knex('spanel_run').where('id', r.runId!).first();
    expect(run.outcome).toBe('failed');
    // The refused transaction was ended: the next write is not swallowed by it.
    await t.knex('parent').insert({ id: 7 });
    expect(await t.knex('parent')).toEqual([{ id: 7 }]);
  });
});
