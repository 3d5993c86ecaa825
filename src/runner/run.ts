import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import { openDatabase, type Database } from '../db/connect.js';
import { describeNonTransactional, nonTransactionalTables } from '../db/engines.js';
import { EXIT, InterruptedError, OperationError, SpanelError } from '../errors.js';
import { Clock } from '../time/clock.js';
import { maskSecrets } from '../util/mask.js';
import { recordFinish, recordStart, RUN_TABLE } from './history.js';
import { acquireLock, NO_LOCK, type RunLock } from './lock.js';
import type { RunObserver } from './observer.js';
import { describeIncomplete } from './partial.js';
import type { AfterCommitEffect, CommandSpec, Outcome, RunResult, Services, StepContext, StepReport } from './types.js';

const NO_SERVICES: Services = { close: async () => undefined };

export interface RunOptions {
  dryRun: boolean;
  force: boolean;
  now: Date;
  operator: string;
  sampleSize?: number;
}

export interface RunDeps {
  settings: Settings;
  log: Logger;
  observers?: RunObserver[];
  /** Install SIGINT/SIGTERM handlers for the run (the CLI does; in-process tests do not). */
  handleSignals?: boolean;
  /** An already open database (tests, demo); otherwise DATABASE_URL is opened and closed here. */
  database?: Database;
}

/**
 * Runs one command: owns the connection, the overlap lock, the single transaction (or the
 * batches of a batched command), dry-run rollback, the run history, after-commit side effects,
 * observers and signal handling. Steps only see a StepContext.
 */
export async function runCommand(spec: CommandSpec, deps: RunDeps, opts: RunOptions): Promise<RunResult> {
  const { settings, log } = deps;
  const clock = new Clock(opts.now, settings.timezone);
  const started = Date.now();
  const steps: StepReport[] = [];
  const effects: AfterCommitEffect[] = [];
  const db = deps.database ?? (await openDatabase(settings.databaseUrl));
  const abort = new AbortController();
  const stopSignals = deps.handleSignals ? onSignals((sig) => abort.abort(sig)) : () => undefined;
  let lock: RunLock = NO_LOCK;
  let runId: number | null = null;
  let services: Services = NO_SERVICES;
  let outcome: Outcome = 'success';
  let error: unknown = null;
  const missingEffects: RunResult['missingEffects'] = [];

  try {
    await assertMigrated(db);
    if (spec.mode !== 'batched') await assertTransactional(db);
    if (spec.lockName && !opts.dryRun) lock = await acquireLock(db, spec.lockName);
    if (!opts.dryRun) {
      runId = await recordStart(db.knex, {
        command: spec.command,
        startedAtMs: started,
        nowMs: opts.now.getTime(),
        operator: opts.operator,
        args: spec.args,
      });
      await notify(deps, log, (o) => o.onStart?.(spec));
    }
    services = (await spec.services?.({ db: db.knex, dialect: db.dialect, settings, log, clock })) ?? NO_SERVICES;
    const base = {
      db: db.knex,
      dialect: db.dialect,
      clock,
      settings,
      dryRun: opts.dryRun,
      force: opts.force,
      runId,
      operator: opts.operator,
      sampleSize: opts.sampleSize ?? settings.sampleSize,
      log,
      signal: abort.signal,
      services,
      afterCommit: (e: AfterCommitEffect) => void effects.push(e),
    };
    if (spec.mode === 'batched') {
      await runSteps(spec, { ...base, trx: db.knex as Knex.Transaction }, steps, abort.signal);
    } else {
      await retryingDeadlocks(log, () => {
        steps.length = 0;
        effects.length = 0;
        spec.reset?.();
        return inTransaction(db, opts.dryRun, abort.signal, async (trx) => {
          await runSteps(spec, { ...base, trx }, steps, abort.signal);
          if (!opts.dryRun) await lock.verify();
        });
      });
    }
    if (!opts.dryRun) {
      for (const effect of effects) {
        try {
          await effect.run();
        } catch (err) {
          missingEffects.push({ label: effect.label, error: maskSecrets((err as Error).message) });
        }
      }
    }
    if (missingEffects.length || steps.some((s) => s.notRun)) outcome = 'partial';
  } catch (err) {
    error = err;
    outcome = err instanceof InterruptedError ? 'interrupted' : err instanceof SpanelError && err.exitCode === EXIT.LOCKED ? 'skipped' : 'failed';
  } finally {
    stopSignals();
  }

  const durationMs = Date.now() - started;
  const message = error ? errorMessage(error) : outcome === 'partial' ? maskSecrets(describeIncomplete(opts.dryRun, steps, missingEffects)) : null;
  if (error && !(error instanceof SpanelError)) log.error({ err: error }, 'command failed with an unexpected error');
  const result: RunResult = {
    command: spec.command,
    runId,
    dryRun: opts.dryRun,
    outcome,
    now: opts.now.toISOString(),
    nowPanelLocal: clock.panelLocal(),
    timezone: settings.timezone,
    startedAt: new Date(started).toISOString(),
    durationMs,
    steps,
    missingEffects,
    error: message,
    exitCode: exitCodeOf(error, outcome === 'partial'),
  };

  try {
    if (runId !== null) {
      await recordFinish(db.knex, runId, { outcome, finishedAtMs: Date.now(), durationMs, steps, error: message }).catch(
        (err) => log.error({ err }, 'could not record the end of the run in spanel_run'),
      );
      await notify(deps, log, (o) => o.onFinish?.(result));
    }
  } finally {
    await lock.release().catch((err) => log.warn({ err }, 'could not release the lock (the server frees it on disconnect)'));
    await services.close().catch((err: unknown) => log.warn({ err }, 'closing a service failed'));
    if (!deps.database) await db.close();
  }
  return result;
}

async function runSteps(spec: CommandSpec, ctx: StepContext, steps: StepReport[], signal: AbortSignal): Promise<void> {
  for (const step of spec.steps) {
    throwIfAborted(signal);
    const t0 = performance.now();
    ctx.log.debug({ step: step.name }, 'step start');
    const outcome = await raceAbort(step.run(ctx), signal);
    const report: StepReport = { name: step.name, title: step.title, ...outcome, durationMs: performance.now() - t0 };
    steps.push(report);
    ctx.log.info({ step: step.name, count: report.count, counts: report.counts, skipped: report.skipped, dryRun: ctx.dryRun }, 'step done');
  }
}

/**
 * One transaction for the whole command. A signal kills the statement in flight (MySQL) so the
 * rollback does not wait for a long UPDATE to finish on its own.
 */
async function inTransaction(
  db: Database,
  dryRun: boolean,
  signal: AbortSignal,
  body: (trx: Knex.Transaction) => Promise<void>,
): Promise<void> {
  const trx = await db.knex.transaction();
  let connectionId: number | null = null;
  const onAbort = () => {
    if (connectionId !== null) void db.knex.raw('KILL QUERY ?', [connectionId]).catch(() => undefined);
  };
  try {
    if (db.target.kind === 'mysql') {
      const [rows] = (await trx.raw('SELECT CONNECTION_ID() AS id')) as [{ id: number }[]];
      connectionId = Number(rows[0]?.id);
    }
    signal.addEventListener('abort', onAbort, { once: true });
    await body(trx);
    throwIfAborted(signal);
    if (dryRun) await trx.rollback();
    else await trx.commit();
  } catch (err) {
    if (!trx.isCompleted()) await trx.rollback().catch(() => undefined);
    throw signal.aborted ? new InterruptedError(signal.reason as NodeJS.Signals) : err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Attempts of one transaction that InnoDB chose as a deadlock victim (it rolled it back whole). */
const DEADLOCK_ATTEMPTS = 5;

/**
 * InnoDB resolves a deadlock by rolling one transaction back entirely, and the MySQL manual's
 * advice is to run it again. Confirmations, recoveries and the check job lock overlapping user
 * rows in different orders (a referral chain runs towards lower ids, a scan towards higher), so
 * this happens under load; every attempt starts from nothing, so a retry is safe.
 */
async function retryingDeadlocks(log: Logger, attempt: () => Promise<void>): Promise<void> {
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isDeadlock(err)) throw err;
      if (n >= DEADLOCK_ATTEMPTS) {
        throw new OperationError(`the transaction deadlocked with concurrent changes ${n} times and was rolled back each time: nothing was changed; run the command again`);
      }
      log.warn({ attempt: n }, 'deadlock: the transaction was rolled back, running it again');
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 50 * 2 ** n)));
    }
  }
}

function isDeadlock(err: unknown): boolean {
  const e = err as { code?: string; errno?: number } | null;
  return e?.code === 'ER_LOCK_DEADLOCK' || e?.errno === 1213;
}

async function assertTransactional(db: Database): Promise<void> {
  const found = await nonTransactionalTables(db);
  if (found.size > 0) throw new SpanelError(describeNonTransactional(found), EXIT.USAGE);
}

async function assertMigrated(db: Database): Promise<void> {
  const found = await db.dialect.existingTables(db.knex, [RUN_TABLE]);
  if (!found.has(RUN_TABLE)) {
    throw new OperationError(`the database at ${db.safeUrl} has no spanel tables yet: run \`spanel migrate\` first`);
  }
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new InterruptedError(signal.reason as NodeJS.Signals));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new InterruptedError(signal.reason as NodeJS.Signals));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new InterruptedError(signal.reason as NodeJS.Signals);
}

function onSignals(handler: (sig: NodeJS.Signals) => void): () => void {
  const h = (sig: NodeJS.Signals) => handler(sig);
  process.on('SIGINT', h);
  process.on('SIGTERM', h);
  return () => {
    process.off('SIGINT', h);
    process.off('SIGTERM', h);
  };
}

async function notify(deps: RunDeps, log: Logger, call: (o: RunObserver) => Promise<void> | undefined): Promise<void> {
  for (const o of deps.observers ?? []) {
    try {
      await call(o);
    } catch (err) {
      log.warn({ observer: o.name, err: maskSecrets((err as Error).message) }, 'observer failed; the run is not affected');
    }
  }
}

function errorMessage(err: unknown): string {
  if (err instanceof SpanelError) return maskSecrets(err.message);
  return maskSecrets(`unexpected error: ${(err as Error)?.message ?? String(err)}`);
}

function exitCodeOf(err: unknown, partial: boolean): number {
  if (err instanceof SpanelError) return err.exitCode;
  if (err) return EXIT.FAILED;
  return partial ? EXIT.FAILED : EXIT.OK;
}
