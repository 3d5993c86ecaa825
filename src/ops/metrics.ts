import type { RunObserver } from '../runner/observer.js';
import type { Outcome, RunResult } from '../runner/types.js';
import { renderSamples, updateTextfile, type Family, type Sample } from './textfile.js';

/**
 * Prometheus metrics of the job runs, for node_exporter's textfile collector. One file serves
 * all jobs: each run replaces its own job's series and keeps the others' (read-merge-write under
 * a lock, then an atomic rename). With `{job}` in the path each job writes its own file instead.
 */
export const FAMILIES: Family[] = [
  { name: 'spanel_job_last_run_timestamp_seconds', type: 'gauge', help: 'Unix time the last real run of the job finished.' },
  { name: 'spanel_job_last_success_timestamp_seconds', type: 'gauge', help: 'Unix time the last successful run of the job finished.' },
  { name: 'spanel_job_last_run_duration_seconds', type: 'gauge', help: 'Duration of the last run of the job.' },
  { name: 'spanel_job_last_run_success', type: 'gauge', help: '1 if the last run of the job succeeded, else 0.' },
  { name: 'spanel_job_last_run_outcome', type: 'gauge', help: 'Outcome of the last run of the job: 1 for the outcome it had, 0 for the others.' },
  { name: 'spanel_job_rows_changed', type: 'gauge', help: 'Rows changed per step by the last run of the job that committed (success or partial).' },
];

/** Outcomes a recorded run can end with (skipped runs are never recorded nor observed). */
const OUTCOMES: Outcome[] = ['success', 'partial', 'failed', 'interrupted'];


export function metricsPath(template: string, job: string): string {
  return template.replaceAll('{job}', job);
}

export function metricsObserver(o: { path: string; job: string; now?: () => number }): RunObserver {
  const now = o.now ?? Date.now;
  return {
    name: 'metrics',
    onFinish: (result) =>
      updateTextfile(o.path, (current) => renderSamples(FAMILIES, mergeJob(current, o.job, result, now() / 1000)), { ownPrefix: 'spanel_' }),
  };
}

/** The other jobs' samples unchanged, then this job's new ones (jobs in name order). */
export function mergeJob(current: Sample[], job: string, r: RunResult, finishedAt: number): Sample[] {
  // An interrupted batched run (dbclean) committed its batches: its rows count too.
  const committed = r.changesKept ?? (r.outcome === 'success' || r.outcome === 'partial');
  const mine = (s: Sample) => s.labels.job === job && FAMILIES.some((f) => f.name === s.name);
  const kept = current.filter((s) => !mine(s));
  // A run that did not succeed keeps the previous success time; one that rolled back, the rows.
  const carried = current.filter(
    (s) =>
      mine(s) &&
      ((s.name === 'spanel_job_last_success_timestamp_seconds' && r.outcome !== 'success') || (s.name === 'spanel_job_rows_changed' && !committed)),
  );
  const g = (name: string, value: number, extra: Record<string, string> = {}): Sample => ({ name, labels: { job, ...extra }, value: num(value) });
  const fresh: Sample[] = [
    g('spanel_job_last_run_timestamp_seconds', finishedAt),
    g('spanel_job_last_run_duration_seconds', r.durationMs / 1000),
    g('spanel_job_last_run_success', r.outcome === 'success' ? 1 : 0),
    ...OUTCOMES.map((outcome) => g('spanel_job_last_run_outcome', r.outcome === outcome ? 1 : 0, { outcome })),
  ];
  if (r.outcome === 'success') fresh.push(g('spanel_job_last_success_timestamp_seconds', finishedAt));
  if (committed) for (const s of r.steps) fresh.push(g('spanel_job_rows_changed', s.count, { step: s.name }));
  const ordered = [...kept, ...carried, ...fresh];
  // Stable sort: every job's series stay in their own order (steps as they ran).
  return ordered.sort((a, b) => (a.labels.job ?? '').localeCompare(b.labels.job ?? ''));
}

function num(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}
