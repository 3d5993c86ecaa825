import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import type { Dialect } from '../db/dialect.js';
import type { SpoolDirectory } from '../snapshots/spool.js';
import type { SnapshotStore } from '../snapshots/store.js';
import type { Clock } from '../time/clock.js';

/** One changed row in a report: id, and for each changed column its value before → after. */
export interface RowChange {
  table: string;
  id: number | string;
  action: 'update' | 'delete' | 'insert';
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
}

/** What a step returns: how many rows it changed, and a bounded sample of them. */
export interface StepOutcome {
  /** Rows changed (or, in a dry run, that would be changed). */
  count: number;
  /** Per-table counts where a step touches several tables. */
  counts?: Record<string, number>;
  /** At most `sampleSize` changed rows per table. */
  changes: RowChange[];
  /** Tables this install lacks, so the step skipped them. */
  skipped?: string[];
  /** Short human lines shown under the step (e.g. "user #5 balance 1.00 → 11.00"). */
  notes?: string[];
  /** Command-specific structured result for --json. */
  data?: unknown;
  /**
   * Why the step did not run, when it could not but the rest of the run may still commit (the
   * cap steps during a Redis outage): the step changed nothing and the run ends `partial`.
   */
  notRun?: string;
}

export interface StepReport extends StepOutcome {
  name: string;
  title: string;
  durationMs: number;
}

/** Pending writes outside the database; run by the runner only after commit, never in a dry run. */
export interface AfterCommitEffect {
  label: string;
  run(): Promise<void>;
}

export interface StepContext {
  /** The command's single transaction (in batched commands: null; use `db`). */
  trx: Knex.Transaction;
  /** The pool: only for batched commands that run their own short transactions. */
  db: Knex;
  dialect: Dialect;
  clock: Clock;
  settings: Settings;
  dryRun: boolean;
  force: boolean;
  /** The run-history id of this run (null in a dry run, which records nothing). */
  runId: number | null;
  operator: string;
  sampleSize: number;
  log: Logger;
  /** Aborted on SIGINT/SIGTERM: long steps check it between statements or batches. */
  signal: AbortSignal;
  afterCommit(effect: AfterCommitEffect): void;
  /** Services the command asked for (snapshot store, …). */
  services: Services;
}

/** What a command's `services` give its steps; every member is optional but close(). */
export interface Services {
  /** Traffic snapshots of the cap steps (Redis or the snapshot table). */
  snapshotStore?: SnapshotStore;
  /** Where the cap steps keep new snapshots on disk until the commit. */
  snapshotSpools?: SpoolDirectory;
  /** Releases connections and files; the runner calls it once on every exit path. */
  close(): Promise<void>;
}

export interface Step {
  name: string;
  title: string;
  run(ctx: StepContext): Promise<StepOutcome>;
}

export interface CommandSpec {
  /** As typed by the operator: "job daily", "payment confirm". */
  command: string;
  /** Overlap-lock name, or null for commands whose SQL already serialises concurrent runs. */
  lockName: string | null;
  steps: Step[];
  /**
   * "transaction" (default): every step in one transaction, committed at the end.
   * "batched": steps commit their own bounded batches (dbclean only, SPEC §3).
   */
  mode?: 'transaction' | 'batched';
  /** Arguments worth keeping in the run history (order id, user id, flags). */
  args?: Record<string, unknown>;
  /**
   * Clears what the steps learned in an earlier attempt, before the runner runs them again
   * (after a deadlock rolled the transaction back). Steps that keep no state between them
   * need none.
   */
  reset?: () => void;
  /** Builds services (snapshot store…) from the open connections; closed by the runner. */
  services?: (deps: ServiceDeps) => Promise<Services>;
}

export interface ServiceDeps {
  db: Knex;
  dialect: Dialect;
  settings: Settings;
  log: Logger;
  clock: Clock;
}

export type Outcome = 'success' | 'failed' | 'partial' | 'interrupted' | 'skipped';

export interface RunResult {
  command: string;
  runId: number | null;
  dryRun: boolean;
  outcome: Outcome;
  /** The instant the command acted as (real time, or --now). */
  now: string;
  nowPanelLocal: string;
  timezone: string;
  startedAt: string;
  durationMs: number;
  steps: StepReport[];
  /** After-commit writes that failed: the database committed, these did not happen. */
  missingEffects: { label: string; error: string }[];
  error: string | null;
  exitCode: number;
}
