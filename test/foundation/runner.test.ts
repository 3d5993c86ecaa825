import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadSettings } from '../../src/config/load.js';
import { reportedUpdate } from '../../src/runner/changes.js';
import { runCommand } from '../../src/runner/run.js';
import type { CommandSpec, Step } from '../../src/runner/types.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';
import { dump, insertUser } from '../helpers/fixtures.js';

const log = pino({ level: 'silent' });

describe.each(DIALECTS)('runner on %s', (dialect) => {
  const t = useTestDatabase(dialect);
  const settings = () => loadSettings({ env: { DATABASE_URL: t.url }, cwd: '/' }).settings;
  const run = (spec: CommandSpec, dryRun = false) =>
    runCommand(spec, { settings: settings(), log, database: t.db }, { dryRun, force: false, now: new Date('2026-11-25T00:00:00Z'), operator: 'tester' });

  const disableAll: Step = {
    name: 'disable',
    title: 'Disable everyone',
    run: async (ctx) => reportedUpdate(ctx, { table: 'user', where: (qb) => qb.where('enable', 1), set: { enable: 0 }, columns: ['enable'] }),
  };
  const boom: Step = {
    name: 'boom',
    title: 'Fails midway',
    run: async () => {
      throw new Error('step exploded');
    },
  };

  it('rolls back every step when a later step throws, and records the failure', async () => {
    const id = await insertUser(t.knex, { enable: 1 });
    const before = await dump(t.knex, 'user');
    const result = await run({ command: 'test rollback', lockName: 'test', steps: [disableAll, boom] });
    expect(result.outcome).toBe('failed');
    expect(result.exitCode).toBe(1);
    expect(result.error).toContain('step exploded');
    expect(await dump(t.knex, 'user')).toEqual(before);
    const history = await t.knex('spanel_run').where('id', result.runId!).first();
    expect(history.outcome).toBe('failed');
    expect(history.error).toContain('step exploded');
    await t.knex('user').where('id', id).del();
  });

  it('dry run reports the change exactly and persists nothing, not even a history row', async () => {
    const a = await insertUser(t.knex, { enable: 1 });
    const b = await insertUser(t.knex, { enable: 1 });
    const before = await dump(t.knex, 'user');
    const runsBefore = await t.knex('spanel_run').count({ n: '*' }).first();
    let effectRan = false;
    const withEffect: Step = {
      ...disableAll,
      run: async (ctx) => {
        ctx.afterCommit({ label: 'test effect', run: async () => void (effectRan = true) });
        return disableAll.run(ctx);
      },
    };
    const result = await run({ command: 'test dry', lockName: 'test', steps: [withEffect] }, true);
    expect(result.outcome).toBe('success');
    expect(result.runId).toBeNull();
    expect(result.steps[0]!.count).toBe(2);
    expect(result.steps[0]!.changes).toEqual([
      { table: 'user', id: a, action: 'update', before: { enable: 1 }, after: { enable: 0 } },
      { table: 'user', id: b, action: 'update', before: { enable: 1 }, after: { enable: 0 } },
    ]);
    expect(effectRan).toBe(false);
    expect(await dump(t.knex, 'user')).toEqual(before);
    expect(await t.knex('spanel_run').count({ n: '*' }).first()).toEqual(runsBefore);

    const real = await run({ command: 'test dry', lockName: 'test', steps: [withEffect] });
    expect(real.steps[0]!.changes).toEqual(result.steps[0]!.changes);
    expect(effectRan).toBe(true);
    const history = await t.knex('spanel_run').where('id', real.runId!).first();
    expect(history.outcome).toBe('success');
    expect(JSON.parse(history.steps)).toEqual([expect.objectContaining({ name: 'disable', count: 2 })]);
    await t.knex('user').del();
  });

  it('commits, then reports after-commit writes that failed as missing (exit 1, outcome partial)', async () => {
    const id = await insertUser(t.knex, { enable: 1 });
    const failing: Step = {
      ...disableAll,
      run: async (ctx) => {
        ctx.afterCommit({ label: 'snapshot writes for 1 user', run: async () => Promise.reject(new Error('redis is gone')) });
        return disableAll.run(ctx);
      },
    };
    const result = await run({ command: 'test partial', lockName: 'test', steps: [failing] });
    expect(result.outcome).toBe('partial');
    expect(result.exitCode).toBe(1);
    expect(result.error).toContain('snapshot writes for 1 user (redis is gone)');
    expect((await t.knex('user').where('id', id).first()).enable).toBe(0);
    await t.knex('user').del();
  });

  it('bounds the reported sample but counts every row', async () => {
    for (let i = 0; i < 5; i++) await insertUser(t.knex, { enable: 1 });
    const result = await runCommand(
      { command: 'test sample', lockName: null, steps: [disableAll] },
      { settings: settings(), log, database: t.db },
      { dryRun: true, force: false, now: new Date(), operator: 'tester', sampleSize: 2 },
    );
    expect(result.steps[0]!.count).toBe(5);
    expect(result.steps[0]!.changes).toHaveLength(2);
    await t.knex('user').del();
  });

  it('refuses to run on a database that was never migrated', async () => {
    await t.knex.schema.renameTable('spanel_run', 'spanel_run_away');
    try {
      const result = await run({ command: 'test', lockName: null, steps: [disableAll] });
      expect(result.exitCode).toBe(1);
      expect(result.error).toMatch(/run `spanel migrate` first/);
    } finally {
      await t.knex.schema.renameTable('spanel_run_away', 'spanel_run');
    }
  });
});
