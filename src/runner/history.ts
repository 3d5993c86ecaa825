import { hostname } from 'node:os';
import type { Knex } from 'knex';
import type { Outcome, StepReport } from './types.js';

export const RUN_TABLE = 'spanel_run';

export interface RunStart {
  command: string;
  startedAtMs: number;
  nowMs: number;
  operator: string;
  args?: Record<string, unknown>;
}

/**
 * The history row is written outside the command's transaction (autocommit), first as
 * "running" so a crashed run is visible afterwards. A committing run sets it to success inside
 * its transaction (runner/commit.ts); every other end is recorded afterwards.
 */
export async function recordStart(db: Knex, run: RunStart): Promise<number> {
  const row = {
    command: run.command,
    started_at: run.startedAtMs,
    now_at: run.nowMs,
    outcome: 'running',
    host: hostname().slice(0, 255),
    pid: process.pid,
    operator: run.operator.slice(0, 64),
    args: run.args ? JSON.stringify(run.args) : null,
  };
  const [id] = await db(RUN_TABLE).insert(row);
  return Number(id);
}

export async function recordFinish(
  db: Knex,
  runId: number,
  finish: { outcome: Outcome; finishedAtMs: number; durationMs: number; steps: StepReport[]; error: string | null },
  /** Only a row still "running": a failure must never overwrite a success committed with the data. */
  onlyIfRunning = false,
): Promise<void> {
  const q = db(RUN_TABLE).where('id', runId);
  if (onlyIfRunning) q.where('outcome', 'running');
  await q.update({
    outcome: finish.outcome,
    finished_at: finish.finishedAtMs,
    duration_ms: Math.round(finish.durationMs),
    steps: JSON.stringify(finish.steps.map(stepSummary)),
    error: finish.error ? finish.error.slice(0, 65_000) : null,
  });
}

/** What history keeps of a step: counts, not row samples (those are for the live report). */
export function stepSummary(s: StepReport): Record<string, unknown> {
  return {
    name: s.name,
    count: s.count,
    ...(s.counts ? { counts: s.counts } : {}),
    ...(s.skipped?.length ? { skipped: s.skipped } : {}),
    ...(s.skippedRows?.length ? { skippedRows: s.skippedRows.slice(0, 100) } : {}),
    durationMs: Math.round(s.durationMs),
  };
}
