import type { Logger } from 'pino';
import type { SkippedRow, StepReport } from './types.js';

/** Rows the steps of a run skipped (SPEC §5 "no poison rows"). */
export function skippedRowsOf(steps: readonly StepReport[]): (SkippedRow & { step: string })[] {
  return steps.flatMap((s) => (s.skippedRows ?? []).map((r) => ({ step: s.name, ...r })));
}

/** One warning per skipped row, so the log names every id and reason even beyond the report's sample. */
export function logSkippedRows(log: Logger, step: StepReport, dryRun: boolean): void {
  for (const r of step.skippedRows ?? []) {
    log.warn({ step: step.name, table: r.table, id: r.id, reason: r.reason, dryRun }, `${dryRun ? 'would skip' : 'skipped'} ${r.table} #${r.id}: ${r.reason}`);
  }
}

/**
 * The run's message when rows were skipped. Such a run still did (or, dry, would do) everything
 * else; it ends `partial` with exit 1 so that monitoring sees the rows that need a hand.
 */
export function describeSkipped(steps: readonly StepReport[], dryRun: boolean): string | null {
  const rows = skippedRowsOf(steps);
  if (rows.length === 0) return null;
  const shown = rows.slice(0, 5).map((r) => `${r.table} #${r.id} (${r.step}: ${r.reason})`);
  const more = rows.length > shown.length ? `; and ${rows.length - shown.length} more` : '';
  const verb = dryRun ? 'would be' : rows.length === 1 ? 'was' : 'were';
  return `${rows.length} row${rows.length === 1 ? '' : 's'} ${verb} skipped because of their values, everything else ${dryRun ? 'would be' : 'was'} done: ${shown.join('; ')}${more}`;
}
