import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import { openDatabase, type Database } from '../db/connect.js';
import { dbLimitsOf, describeWaitError } from '../db/limits.js';
import { EXIT, InterruptedError, OperationError, SpanelError, UsageError } from '../errors.js';
import { Clock, futureNowProblem } from '../time/clock.js';
import { maskSecrets } from '../util/mask.js';
import { recordChangeSample } from './change-sample.js';
import { commitConfirmed, isLostCommitAnswer, markCommittedInTransaction, NotCommittedError, OutcomeUnknownError, resolveLostCommit } from './commit.js';
import { recordFinish, recordStart } from './history.js';
import { acquireLock, NO_LOCK, type RunLock } from './lock.js';
import type { RunObserver } from './observer.js';
import { describeIncomplete } from './partial.js';
import { preflight } from './preflight.js';
import { retryingConflicts } from './retry.js';
import { onWritableServer } from './server.js';
import { describeSkipped, logSkippedRows } from './skips.js';
import type { AfterCommitEffect, BatchedStepContext, CommandSpec, Outcome, ProgressSink, RunResult, ServiceDeps, Services, StepContext, StepOutcome, StepReport } from './types.js';

const NO_SERVICES: Services = { close: async () => undefined };

export interface RunOptions {
  dryRun: boolean;
  force: boolean;
  now: Date;
  /** No --now: take "now" from the database server's clock (every host then agrees). */
  nowFromServer?: boolean;
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
  /** Progress of long steps, for a watching terminal (src/output/terminal.ts). */
  progress?: ProgressSink;
}

/**
 * Runs one command: owns the connection, the overlap lock, the single transaction (or the
 * batches of a batched command), dry-run rollback, the run history, after-commit side effects,
 * observers and signal handling. Steps only see a StepContext.
 */
export async function runCommand(spec: CommandSpec, deps: RunDeps, opts: RunOptions): Promise<RunResult> {
  const { settings, log } = deps;
  const future = futureNowProblem(opts.now, opts.dryRun);
  if (future) throw new UsageError(future);
  let clock = new Clock(opts.now, settings.timezone);
  const started = Date.now();
  const steps: StepReport[] = [];
  const effects: AfterCommitEffect[] = [];
  const limits = dbLimitsOf(settings);
  const db = deps.database ?? (await openDatabase(settings.databaseUrl, limits));
  const abort = new AbortController();
  const stopSignals = deps.handleSignals ? onSignals((sig) => abort.abort(sig), SIGNAL_GRACE_MS) : () => undefined;
  let lock: RunLock = NO_LOCK;
  let runId: number | null = null;
  let services: Services = NO_SERVICES;
  let opening: Promise<Services> | null = null;
  let outcome: Outcome = 'success';
  let error: unknown = null;
  const missingEffects: RunResult['missingEffects'] = [];

  try {
    // Before the transaction too, a signal ends the wait (a history insert held by a global
    // read lock, a lock or check on a frozen server): the process must not outlive its stop.
    const schema = await raceAbort(preflight(db, spec), abort.signal);
    const tables: ReadonlySet<string> = new Set(schema.tables.keys());
    opts = await raceAbort(onWritableServer(db, settings, log, opts), abort.signal);
    clock = new Clock(opts.now, settings.timezone);
    // The command's services (a Redis connection) open while the lease and history row are written.
    opening = openServices(spec, { db: db.knex, dialect: db.dialect, settings, log, clock });
    if (spec.lockName && !opts.dryRun) lock = await raceAbort(acquireLock(db, spec.lockName, { leaseSeconds: settings.lockLease, log }), abort.signal);
    if (!opts.dryRun) {
      runId = await raceAbort(recordStart(db.knex, {
        command: spec.command,
        startedAtMs: started,
        nowMs: opts.now.getTime(),
        operator: opts.operator,
        args: spec.args,
      }), abort.signal);
      await notify(deps, log, (o) => o.onStart?.(spec));
    }
    services = await opening;
    const base = {
      db: db.knex,
      dialect: db.dialect,
      tables,
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
      // Each batch commits on its own: a signal stops the steps between batches and they report
      // what their committed batches did, so the run says what was really deleted.
      await runSteps<BatchedStepContext>(spec.steps, { ...base, trx: null }, steps, abort.signal, false, deps.progress);
      if (runId !== null) await recordChangeSample(db.knex, runId, steps, base.sampleSize, tables);
      if (abort.signal.aborted) throw batchedInterruption(abort.signal.reason as NodeJS.Signals, steps);
    } else {
      const transactional = spec.steps;
      await retryingConflicts(log, settings.retryBudget, () => {
        steps.length = 0;
        effects.length = 0;
        spec.reset?.();
        return inTransaction(db, { dryRun: opts.dryRun, signal: abort.signal, runId, log }, async (trx) => {
          await runSteps<StepContext>(transactional, { ...base, trx }, steps, abort.signal, true, deps.progress);
          if (!opts.dryRun) await lock.verify(trx);
          if (runId !== null) await recordChangeSample(trx, runId, steps, base.sampleSize, tables);
          if (runId !== null) await markCommittedInTransaction(trx, runId, steps, started);
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
    if (missingEffects.length || steps.some((s) => s.notRun) || describeSkipped(steps, opts.dryRun)) outcome = 'partial';
  } catch (err) {
    error = describeWaitError(err, limits) ?? err;
    outcome = outcomeOf(error);
  } finally {
    stopSignals();
  }

  const durationMs = Date.now() - started;
  const incomplete = missingEffects.length > 0 || steps.some((s) => s.notRun) ? describeIncomplete(opts.dryRun, steps, missingEffects) : null;
  const partialWhy = error ? [] : [incomplete, describeSkipped(steps, opts.dryRun)].filter((m): m is string => Boolean(m));
  const message = error ? errorMessage(error) : partialWhy.length ? maskSecrets(partialWhy.join('; ')) : null;
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
    changesKept: !opts.dryRun && (outcome === 'success' || outcome === 'partial' || (spec.mode === 'batched' && runId !== null)),
  };

  try {
    if (runId !== null) {
      const committed = outcome === 'success' || outcome === 'partial';
      await recordFinish(db.knex, runId, { outcome, finishedAtMs: Date.now(), durationMs, steps, error: message }, !committed).catch(
        (err) => log.error({ err }, 'could not record the end of the run in spanel_run'),
      );
      await notify(deps, log, (o) => o.onFinish?.(result));
    }
  } finally {
    await lock.release().catch((err) => log.warn({ err }, 'could not release the lock (the server frees it on disconnect)'));
    if (services === NO_SERVICES && opening) services = await opening.catch(() => NO_SERVICES);
    await services.close().catch((err: unknown) => log.warn({ err }, 'closing a service failed'));
    if (!deps.database) await db.close();
  }
  return result;
}

/** Never an unhandled rejection: a failure surfaces where the run awaits the services. */
function openServices(spec: CommandSpec, deps: ServiceDeps): Promise<Services> {
  const opening = Promise.resolve(spec.services?.(deps)).then((s) => s ?? NO_SERVICES);
  opening.catch(() => undefined);
  return opening;
}

/**
 * `race`: a signal abandons the step at once (its transaction is rolled back anyway). Batched
 * steps are not raced: they stop between batches and return what they committed.
 */
async function runSteps<C extends StepContext | BatchedStepContext>(
  list: readonly { name: string; title: string; run(ctx: C): Promise<StepOutcome> }[],
  ctx: C,
  steps: StepReport[],
  signal: AbortSignal,
  race: boolean,
  progress?: ProgressSink,
): Promise<void> {
  for (const step of list) {
    if (race || !signal.aborted) throwIfAborted(signal);
    else break;
    const t0 = performance.now();
    ctx.log.debug({ step: step.name }, 'step start');
    const stepCtx: C = progress ? { ...ctx, progress: progress.step(step.title) } : ctx;
    const running = race ? raceAbort(step.run(stepCtx), signal) : step.run(stepCtx);
    const outcome = await running.finally(() => progress?.clear());
    const report: StepReport = { name: step.name, title: step.title, ...outcome, durationMs: Math.round(performance.now() - t0) };
    steps.push(report);
    logSkippedRows(ctx.log, report, ctx.dryRun);
    ctx.log.info({ step: step.name, count: report.count, counts: report.counts, skipped: report.skipped, dryRun: ctx.dryRun }, 'step done');
  }
}

/**
 * One transaction for the whole command. A signal kills the statement in flight (MySQL) so the
 * rollback does not wait for a long UPDATE to finish on its own.
 */
async function inTransaction(
  db: Database,
  { dryRun, signal, runId, log }: { dryRun: boolean; signal: AbortSignal; runId: number | null; log: Logger },
  body: (trx: Knex.Transaction) => Promise<void>,
): Promise<void> {
  const trx = await db.knex.transaction();
  let connectionId: number | null = null;
  let committing = false;
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
    if (dryRun) {
      await trx.rollback();
      return;
    }
    signal.removeEventListener('abort', onAbort);
    committing = true;
    await commitConfirmed(trx);
  } catch (err) {
    if (!trx.isCompleted()) await trx.rollback().catch(() => undefined);
    // A COMMIT SQLite refused (a deferred constraint, a busy database) leaves its transaction
    // open on the one connection; knex already counts it as finished, so end it here.
    else if (committing && db.target.kind === 'sqlite') await db.knex.raw('ROLLBACK').catch(() => undefined);
    if (committing && runId !== null && isLostCommitAnswer(err)) return settleLostCommit(db, runId, connectionId, err, log);
    throw signal.aborted && !committing ? new InterruptedError(signal.reason as NodeJS.Signals) : err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * The COMMIT was sent and its answer lost: find out from the run's history row (written inside
 * the transaction) whether it committed. Returns normally only when it did.
 */
async function settleLostCommit(db: Database, runId: number, connectionId: number | null, err: unknown, log: Logger): Promise<void> {
  const why = maskSecrets((err as Error)?.message ?? String(err));
  log.warn({ runId, err: why }, 'the answer to COMMIT was lost; checking whether the transaction committed');
  const resolution = await resolveLostCommit(db, runId, connectionId, log);
  if (resolution === 'committed') {
    log.warn({ runId }, 'the transaction did commit (its run-history row says success)');
    return;
  }
  if (resolution === 'not-committed') throw new NotCommittedError(runId);
  throw new OutcomeUnknownError(runId, `the connection to the database was lost while COMMIT was in flight (${why}) and spanel could not check whether it committed`);
}

function batchedInterruption(sig: NodeJS.Signals, steps: StepReport[]): InterruptedError {
  const kept = steps.reduce((n, s) => n + s.count, 0);
  return new InterruptedError(sig, `interrupted by ${sig} between batches: ${kept} row${kept === 1 ? '' : 's'} deleted in committed batches stay deleted; the next run resumes`);
}

function outcomeOf(err: unknown): Outcome {
  if (err instanceof InterruptedError) return 'interrupted';
  if (err instanceof OutcomeUnknownError) return 'unknown';
  if (err instanceof SpanelError && err.exitCode === EXIT.LOCKED) return 'skipped';
  return 'failed';
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

/**
 * A signal aborts the run; if rolling back and recording take longer than `graceMs` (a frozen
 * server does not answer), the process exits anyway: the server rolls back an open transaction
 * of a connection that goes away, and the run row left "running" shows as crashed.
 */
/** How long a signalled run may take to roll back and record itself before the process just exits. */
const SIGNAL_GRACE_MS = 5000;

function onSignals(handler: (sig: NodeJS.Signals) => void, graceMs: number): () => void {
  const h = (sig: NodeJS.Signals) => {
    handler(sig);
    setTimeout(() => {
      process.stderr.write(`spanel: interrupted by ${sig}; the database did not answer within ${graceMs} ms, exiting without waiting (an open transaction is rolled back by the server)\n`);
      process.exit(sig === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM);
    }, graceMs).unref();
  };
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
