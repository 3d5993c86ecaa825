import { hostname } from 'node:os';
import type { Knex } from 'knex';
import type { Settings } from '../config/settings.js';
import { RUN_TABLE } from '../runner/history.js';
import { Clock } from '../time/clock.js';
import { processAlive } from '../util/process.js';

/**
 * The health of each scheduled job, from the run history (spanel_run): its last run, last
 * success, and whether it is overdue. A job is healthy when its last finished run succeeded,
 * its last success is recent enough, and no run is stuck.
 */
export const STATUS_JOBS = ['daily', 'hourly', 'check', 'dbclean'] as const;
export type StatusJob = (typeof STATUS_JOBS)[number];

/**
 * Longest a run may take: the TimeoutStartSec of the job's systemd unit. A "running" row older
 * than this was killed without recording its end (SIGKILL, power loss, OOM).
 */
export const MAX_RUN_SECONDS: Record<StatusJob, number> = { daily: 3600, hourly: 1800, check: 1200, dbclean: 6 * 3600 };

/**
 * Jobs whose steps commit their own batches (mode "batched" in the job registry): a failure keeps
 * what they committed before it. Every other job runs in one transaction that a failure undoes.
 */
export const BATCHED_JOBS: ReadonlySet<StatusJob> = new Set(['dbclean']);

/** Outcomes whose changes were committed, so their step counts are rows really changed. */
const COMMITTED = new Set(['success', 'partial']);
/** Outcomes of a run that stopped before committing. */
const STOPPED = new Set(['failed', 'interrupted']);

export interface RunSummary {
  id: number;
  outcome: string;
  startedAt: string;
  startedAtPanelLocal: string;
  finishedAt: string | null;
  durationMs: number | null;
  host: string;
  pid: number;
  error: string | null;
  /** A failed or interrupted run of a one-transaction job: nothing it did was kept. */
  rolledBack: boolean;
  /** Rows changed per step: only for a run that committed (success, partial), else empty. */
  steps: { name: string; count: number; counts?: Record<string, number>; skipped?: string[] }[];
}

export interface JobStatus {
  job: StatusJob;
  ok: boolean;
  /** never-run, success, failed, partial, interrupted, running (alive), crashed or stale (dead "running" row). */
  state: string;
  problems: string[];
  /** The last run that finished (or the dead "running" row that stands in for it). */
  lastRun: RunSummary | null;
  /** A run in progress right now. */
  running: RunSummary | null;
  lastSuccessAt: string | null;
  lastSuccessPanelLocal: string | null;
  secondsSinceSuccess: number | null;
  overdue: boolean;
  overdueAfterSeconds: number;
}

export interface StatusReport {
  ok: boolean;
  now: string;
  nowPanelLocal: string;
  timezone: string;
  jobs: JobStatus[];
}

export function overdueLimits(s: Settings): Record<StatusJob, number> {
  return { daily: s.overdueDaily, hourly: s.overdueHourly, check: s.overdueCheck, dbclean: s.overdueDbclean };
}

export async function jobStatuses(db: Knex, settings: Settings, now: Date): Promise<StatusReport> {
  const limits = overdueLimits(settings);
  const jobs: JobStatus[] = [];
  for (const job of STATUS_JOBS) jobs.push(await jobStatus(db, job, limits[job], settings.timezone, now));
  return {
    ok: jobs.every((j) => j.ok),
    now: now.toISOString(),
    nowPanelLocal: new Clock(now, settings.timezone).panelLocal(),
    timezone: settings.timezone,
    jobs,
  };
}

type Row = Record<string, unknown>;

async function jobStatus(db: Knex, job: StatusJob, limit: number, tz: string, now: Date): Promise<JobStatus> {
  const command = `job ${job}`;
  // Each is one row off the (command, started_at) index.
  const latest = (q: (qb: Knex.QueryBuilder) => void = () => undefined): Promise<Row | undefined> =>
    db(RUN_TABLE).where('command', command).modify(q).orderBy([{ column: 'started_at', order: 'desc' }, { column: 'id', order: 'desc' }]).first();
  const newest = await latest();
  const lastSuccess = await latest((qb) => qb.where('outcome', 'success'));

  let running: RunSummary | null = null;
  let lastRun: RunSummary | null = null;
  let state = 'never-run';
  const problems: string[] = [];
  if (newest) {
    const summary = summarise(newest, job, tz);
    if (summary.outcome !== 'running') {
      lastRun = summary;
      state = summary.outcome;
    } else {
      const dead = deadRun(summary, job, now);
      if (dead) {
        lastRun = summary;
        state = dead.state;
        problems.push(dead.problem);
      } else {
        running = summary;
        const finished = await latest((qb) => qb.whereNot('outcome', 'running'));
        lastRun = finished ? summarise(finished, job, tz) : null;
        state = lastRun ? lastRun.outcome : 'running';
      }
    }
  }
  if (!newest) problems.push('never run');
  else if (lastRun && lastRun.outcome !== 'success' && lastRun.outcome !== 'running') {
    problems.push(`last run ${lastRun.outcome} at ${lastRun.startedAtPanelLocal}${lastRun.error ? `: ${firstLine(lastRun.error)}` : ''}`);
  }

  const successMs = lastSuccess ? Number(lastSuccess.started_at) : null;
  const secondsSinceSuccess = successMs === null ? null : Math.floor((now.getTime() - successMs) / 1000);
  // Never run is reported as such, not also as overdue; a job that ran but never succeeded is overdue.
  const overdue = newest !== undefined && (secondsSinceSuccess === null || secondsSinceSuccess > limit);
  if (overdue) {
    problems.push(
      secondsSinceSuccess === null
        ? 'overdue: it has never succeeded'
        : `overdue: last success ${formatAge(secondsSinceSuccess)} ago (limit ${formatAge(limit)})`,
    );
  }
  return {
    job,
    ok: problems.length === 0,
    state,
    problems,
    lastRun,
    running,
    lastSuccessAt: successMs === null ? null : new Date(successMs).toISOString(),
    lastSuccessPanelLocal: successMs === null ? null : new Clock(new Date(successMs), tz).panelLocal(),
    secondsSinceSuccess,
    overdue,
    overdueAfterSeconds: limit,
  };
}

/**
 * A "running" row whose process is gone (same host) or that is older than the job may run:
 * the run ended without recording how (killed, host crash). Other hosts' processes cannot be
 * checked, so there only the age counts.
 */
function deadRun(r: RunSummary, job: StatusJob, now: Date): { state: string; problem: string } | null {
  const age = Math.floor((now.getTime() - Date.parse(r.startedAt)) / 1000);
  if (r.host === hostname() && !processAlive(r.pid)) {
    return { state: 'crashed', problem: `run #${r.id} started ${r.startedAtPanelLocal} ended without recording its outcome (process ${r.pid} is gone)` };
  }
  if (age > MAX_RUN_SECONDS[job]) {
    return {
      state: 'stale',
      problem: `run #${r.id} on ${r.host} has been "running" for ${formatAge(age)} (longer than the ${formatAge(MAX_RUN_SECONDS[job])} a run may take): it was probably killed`,
    };
  }
  return null;
}

function summarise(row: Row, job: StatusJob, tz: string): RunSummary {
  const started = Number(row.started_at);
  const outcome = String(row.outcome);
  const finished = row.finished_at === null || row.finished_at === undefined ? null : Number(row.finished_at);
  return {
    id: Number(row.id),
    outcome,
    startedAt: new Date(started).toISOString(),
    startedAtPanelLocal: new Clock(new Date(started), tz).panelLocal(),
    finishedAt: finished === null ? null : new Date(finished).toISOString(),
    durationMs: row.duration_ms === null || row.duration_ms === undefined ? null : Number(row.duration_ms),
    host: String(row.host),
    pid: Number(row.pid),
    error: row.error === null || row.error === undefined ? null : String(row.error),
    rolledBack: STOPPED.has(outcome) && !BATCHED_JOBS.has(job),
    // A stopped run records the counts of the steps it got through, but they were not kept.
    steps: COMMITTED.has(outcome) ? parseSteps(row.steps) : [],
  };
}

function parseSteps(raw: unknown): RunSummary['steps'] {
  if (typeof raw !== 'string' || raw === '') return [];
  try {
    const steps = JSON.parse(raw) as RunSummary['steps'];
    return Array.isArray(steps)
      ? steps.map((s) => ({
          name: String(s.name),
          count: Number(s.count),
          ...(s.counts ? { counts: s.counts } : {}),
          ...(s.skipped?.length ? { skipped: s.skipped } : {}),
        }))
      : [];
  } catch {
    return [];
  }
}

/** 93600 → "1d 2h", 7260 → "2h 1m", 95 → "1m 35s". */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return h ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m ? `${h}h ${m}m` : `${h}h`;
  if (m > 0) return s % 60 ? `${m}m ${s % 60}s` : `${m}m`;
  return `${s}s`;
}

function firstLine(s: string): string {
  const line = s.split('\n')[0] ?? '';
  return line.length > 160 ? `${line.slice(0, 157)}...` : line;
}
