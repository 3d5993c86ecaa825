import type { CommandContext } from '../cli/context.js';
import { openDatabase, type Database } from '../db/connect.js';
import { migrateLatest } from '../db/migrations.js';
import { EXIT } from '../errors.js';
import { jobSpec } from '../jobs/registry.js';
import { confirmSpec } from '../payments/confirm.js';
import { recoverSpec } from '../referrals/recover-spec.js';
import { runCommand } from '../runner/run.js';
import type { CommandSpec, RunResult } from '../runner/types.js';
import { prepareDemoFile } from './database.js';
import { endState, type DemoPrinter } from './report.js';
import { DEMO_ORDER_ID, DEMO_RECOVER_USER_ID, seedDemo } from './seed.js';
import { demoSettings } from './settings.js';
import { demoDate, type DemoMoment } from './time.js';

/** One demo run: a command as an operator would type it, at its scheduled demo time. */
export interface DemoRun {
  command: string;
  moment: DemoMoment;
  /** A fresh spec per run: specs may keep per-run state (the confirmation's order and payer). */
  spec(): Promise<CommandSpec>;
}

export const DEMO_RUNS: DemoRun[] = [
  { command: 'job daily', moment: 'daily', spec: () => jobSpec('daily') },
  { command: 'job hourly', moment: 'hourly', spec: () => jobSpec('hourly') },
  { command: 'job check', moment: 'check', spec: () => jobSpec('check') },
  { command: 'job dbclean', moment: 'dbclean', spec: () => jobSpec('dbclean') },
  { command: `payment confirm ${DEMO_ORDER_ID}`, moment: 'payment', spec: async () => confirmSpec(DEMO_ORDER_ID, {}) },
  { command: `referral recover ${DEMO_RECOVER_USER_ID}`, moment: 'referral', spec: async () => recoverSpec(DEMO_RECOVER_USER_ID) },
];

/** Recorded as the operator of the demo's money changes, so the output is the same for everyone. */
const DEMO_OPERATOR = 'demo';

export interface DemoResult {
  run: DemoRun;
  dry: RunResult;
  /** Null when the dry run failed (the real run would fail the same way) or a signal arrived. */
  real: RunResult | null;
}

/**
 * `spanel demo`: an embedded SQLite panel, migrated and seeded with the scenarios of seed.ts;
 * each run is a dry run (reported row by row) followed by the same run for real (its summary).
 * The configured database and Redis are never opened: the settings are the demo's own.
 */
export async function runDemo(ctx: CommandContext, keep: string | undefined, out: DemoPrinter): Promise<number> {
  const started = Date.now();
  const file = prepareDemoFile(keep, ctx.io.cwd);
  const settings = demoSettings(ctx.settings, `sqlite:${file.path}`);
  const stop = stopOnSignals(ctx.io.handleSignals);
  const results: DemoResult[] = [];
  let db: Database | null = null;
  let exitCode: number = EXIT.OK;
  try {
    out.intro(ctx.settings, file);
    db = await openDatabase(settings.databaseUrl);
    const migrations = await migrateLatest(db.knex);
    out.seeded(migrations.length, await seedDemo(db.knex));
    for (const run of DEMO_RUNS) {
      if (stop.signal) break;
      const database = db;
      const go = async (dryRun: boolean) =>
        runCommand(
          await run.spec(),
          { settings, log: ctx.log, observers: [], handleSignals: ctx.io.handleSignals, database },
          { dryRun, force: false, now: demoDate(run.moment), operator: DEMO_OPERATOR, sampleSize: settings.sampleSize },
        );
      const dry = await go(true);
      const real = dry.exitCode === EXIT.OK && !stop.signal ? await go(false) : null;
      results.push({ run, dry, real });
      out.run(run, dry, real);
      const failed = [dry, real].find((r) => r && r.exitCode !== EXIT.OK);
      if (failed && exitCode === EXIT.OK) exitCode = failed.exitCode;
    }
    out.summary(results, await endState(db.knex), Date.now() - started);
  } finally {
    stop.remove();
    await db?.close();
    file.cleanup();
  }
  out.where(file);
  if (stop.signal) return stop.signal === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM;
  return exitCode;
}

/**
 * The runner handles a signal during a run (rolls back); between runs the demo must not die
 * with its temporary file left behind, so it notes the signal and stops after the current run.
 */
function stopOnSignals(enabled: boolean): { readonly signal: NodeJS.Signals | null; remove(): void } {
  let signal: NodeJS.Signals | null = null;
  const onSignal = (sig: NodeJS.Signals) => void (signal ??= sig);
  if (enabled) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  return {
    get signal() {
      return signal;
    },
    remove() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
