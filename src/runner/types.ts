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

/**
 * A row a step could not process (SPEC §5 "no poison rows"): left as it is, reported with the
 * reason, while the step goes on for every other row. Any makes the run `partial` (exit 1).
 */
export interface SkippedRow {
  table: string;
  id: number | string;
  reason: string;
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
  /** Rows left unprocessed because of their values (NULL where a value is needed, overflow). */
  skippedRows?: SkippedRow[];
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
  /** The command's single transaction. */
  trx: Knex.Transaction;
  /** The pool: only for batched commands that run their own short transactions. */
  db: Knex;
  dialect: Dialect;
  /** Every base table of the database, as the runner's preflight found them: ask this, not information_schema. */
  tables: ReadonlySet<string>;
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
  /**
   * How far a long step is (set only when someone watches: a terminal, not --json, not a pipe).
   * Cheap to call after every batch; the display throttles itself.
   */
  progress?: (p: ProgressUpdate) => void;
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


/** Shows the progress of each step somewhere (a terminal); the runner clears it when a step ends. */
export interface ProgressSink {
  step(title: string): (p: ProgressUpdate) => void;
  clear(): void;
}

/** `done` units (rows) so far; `total` or `fraction` (0..1) when the step knows how far it is. */
export interface ProgressUpdate {
  done: number;
  total?: number | null;
  fraction?: number;
  /** What `done` counts, e.g. "ss_node_info rows deleted" (default "rows"). */
  what?: string;
}

export interface Step {
  name: string;
  title: string;
  run(ctx: StepContext): Promise<StepOutcome>;
}

/**
 * What a batched step sees: no transaction at all (each of its batches is its own short
 * autocommitted statement on `db`), so `trx` cannot be used by mistake.
 */
export type BatchedStepContext = Omit<StepContext, 'trx'> & { trx: null };

export interface BatchedStep {
  name: string;
  title: string;
  /** Returns what its committed batches did, also when `signal` stopped it early. */
  run(ctx: BatchedStepContext): Promise<StepOutcome>;
}

/**
 * "transaction" (default): every step in one transaction, committed at the end.
 * "batched": steps commit their own bounded batches (dbclean only, SPEC §3).
 */
export type StepPlan = { mode?: 'transaction'; steps: Step[] } | { mode: 'batched'; steps: BatchedStep[] };

export type TransactionSpec = SpecBase & { mode?: 'transaction'; steps: Step[] };
export type BatchedSpec = SpecBase & { mode: 'batched'; steps: BatchedStep[] };
export type CommandSpec = TransactionSpec | BatchedSpec;

interface SpecBase {
  /** As typed by the operator: "job daily", "payment confirm". */
  command: string;
  /** Overlap-lock name, or null for commands whose SQL already serialises concurrent runs. */
  lockName: string | null;
  /**
   * Panel tables the steps change inside the transaction: the runner refuses to start when one
   * of them cannot roll back (MyISAM…), since a dry run or a failed run would leave changes.
   */
  writes?: readonly string[];
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

/** `unknown`: the COMMIT's answer was lost and could not be resolved (never counted as success). */
export type Outcome = 'success' | 'failed' | 'partial' | 'interrupted' | 'skipped' | 'unknown';

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
  /**
   * Whether the rows the steps report are in the database: after a confirmed commit, and for a
   * batched command also after a failure or a signal (its batches committed one by one).
   */
  changesKept?: boolean;
}
