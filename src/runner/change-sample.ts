import type { Knex } from 'knex';
import type { RowChange, StepReport } from './types.js';

export const RUN_CHANGE_TABLE = 'spanel_run_change';

/** Rows per INSERT, well under SQLite's bound-parameter limit at 7 columns a row. */
const INSERT_CHUNK = 500;

/**
 * Keeps the rows a real run changed with the run, so `spanel history show` can say what it did
 * long after the report scrolled away. Steps already bound their samples (SPANEL_SAMPLE_SIZE per
 * table), and this keeps at most that many per step and table again, so a step that forgot to
 * bound cannot fill the table. Written in the run's transaction, so the sample commits (or is
 * rolled back) with the changes it describes. A database whose migration adding the table is
 * still pending keeps no sample rather than failing the job.
 */
export async function recordChangeSample(db: Knex, runId: number, steps: StepReport[], sampleSize: number, tables: ReadonlySet<string>): Promise<void> {
  if (!steps.some((s) => s.changes.length > 0) || !tables.has(RUN_CHANGE_TABLE)) return;
  const rows: Record<string, unknown>[] = [];
  for (const step of steps) {
    const perTable = new Map<string, number>();
    for (const ch of step.changes) {
      const n = perTable.get(ch.table) ?? 0;
      if (n >= sampleSize) continue;
      perTable.set(ch.table, n + 1);
      rows.push(changeRow(runId, step.name, ch));
    }
  }
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) await db(RUN_CHANGE_TABLE).insert(rows.slice(i, i + INSERT_CHUNK));
}

function changeRow(runId: number, step: string, ch: RowChange): Record<string, unknown> {
  return {
    run_id: runId,
    step: step.slice(0, 64),
    table_name: ch.table.slice(0, 64),
    row_id: String(ch.id).slice(0, 64),
    action: ch.action,
    before_json: ch.before ? JSON.stringify(ch.before) : null,
    after_json: ch.after ? JSON.stringify(ch.after) : null,
  };
}
