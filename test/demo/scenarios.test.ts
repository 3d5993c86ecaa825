import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { differences } from '../../src/demo/report.js';
import { DEMO_RUNS } from '../../src/demo/script.js';
import { seedDemo } from '../../src/demo/seed.js';
import { demoSettings } from '../../src/demo/settings.js';
import { demoDate } from '../../src/demo/time.js';
import { runCommand } from '../../src/runner/run.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';
import { expectDemoEndState } from './end-state.js';

const log = pino({ level: 'silent' });

/**
 * The demo's scenarios behave the same on MariaDB as on the embedded SQLite file: the seed is
 * not tuned to one dialect, and every step of every run changes at least one row.
 */
describe.each(DIALECTS)('demo scenarios on %s', (dialect) => {
  const t = useTestDatabase(dialect);

  it('every run changes rows in every step, real runs match their dry runs, and the end state is as the scenarios say', async () => {
    await seedDemo(t.knex);
    const settings = demoSettings({ logLevel: 'silent' }, t.url);
    for (const run of DEMO_RUNS) {
      const go = async (dryRun: boolean) =>
        runCommand(await run.spec(), { settings, log, database: t.db }, { dryRun, force: false, now: demoDate(run.moment), operator: 'demo', sampleSize: 1000 });
      const dry = await go(true);
      const real = await go(false);
      expect([dry.exitCode, real.exitCode, real.error], run.command).toEqual([0, 0, null]);
      for (const step of real.steps) expect(step.count, `${run.command}: ${step.title}`).toBeGreaterThan(0);
      expect(differences(dry, real), run.command).toEqual([]);
    }
    await expectDemoEndState(t.knex);
  });
});
