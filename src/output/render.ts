import type { ChalkInstance } from 'chalk';
import type { RowChange, RunResult, StepReport } from '../runner/types.js';

/** The short human summary on stdout. Colour is decided by the caller (TTY, NO_COLOR). */
export function renderHuman(r: RunResult, c: ChalkInstance): string {
  const lines: string[] = [];
  const mode = r.dryRun ? c.yellow(' — DRY RUN, nothing was written') : r.runId !== null ? c.dim(` (run #${r.runId})`) : '';
  lines.push(`${c.bold(`spanel ${r.command}`)}${mode}`);
  lines.push(c.dim(`now ${r.nowPanelLocal} ${r.timezone} (${r.now})`));
  r.steps.forEach((s, i) => lines.push(...renderStep(s, i + 1, r.dryRun, c)));
  const took = `${(r.durationMs / 1000).toFixed(2)} s`;
  if (r.outcome === 'success') {
    const total = r.steps.reduce((n, s) => n + s.count, 0);
    const verb = r.dryRun ? 'would change' : 'changed';
    lines.push(c.green(`done in ${took}: ${verb} ${total} row${total === 1 ? '' : 's'}`) + (r.dryRun ? c.yellow(' (rolled back)') : ''));
  } else if (r.outcome === 'partial' && r.dryRun) {
    lines.push(c.red(`dry run after ${took}: rolled back; some steps could not run (see below)`));
  } else if (r.outcome === 'partial') {
    const what = r.steps.some((s) => s.notRun) ? 'some steps did not run' : 'some writes outside the database are missing';
    lines.push(c.red(`committed after ${took}, but ${what} (see below)`));
  } else if (r.outcome === 'skipped') {
    lines.push(c.yellow('skipped: another run of this command is in progress'));
  } else {
    // The reason itself goes to stderr once (see CommandContext.print).
    lines.push(c.red(`${r.outcome} after ${took}: rolled back, nothing was changed`));
  }
  return lines.join('\n') + '\n';
}

function renderStep(s: StepReport, n: number, dryRun: boolean, c: ChalkInstance): string[] {
  const count = s.notRun ? c.red('NOT RUN') : s.count === 0 ? c.dim('no change') : `${s.count} row${s.count === 1 ? '' : 's'}`;
  const out = [`${String(n).padStart(2)}. ${s.title.padEnd(34)} ${count}`];
  if (s.counts && Object.keys(s.counts).length > 1) {
    out.push(c.dim(`      ${Object.entries(s.counts).map(([t, k]) => `${t} ${k}`).join(', ')}`));
  }
  if (s.skipped?.length) out.push(c.yellow(`      skipped (not in this database): ${s.skipped.join(', ')}`));
  for (const note of s.notes ?? []) out.push(`      ${note}`);
  for (const ch of s.changes) out.push(c.dim(`      ${renderChange(ch)}`));
  const shown = s.changes.length;
  if (shown > 0 && s.count > shown) out.push(c.dim(`      … and ${s.count - shown} more`));
  void dryRun;
  return out;
}

export function renderChange(ch: RowChange): string {
  const who = `${ch.table} #${ch.id}`;
  if (ch.action === 'delete') return `${who} deleted${ch.before ? ` (${fmtRow(ch.before)})` : ''}`;
  if (ch.action === 'insert') return `${who} inserted${ch.after ? ` (${fmtRow(ch.after)})` : ''}`;
  const cols = Object.keys(ch.after ?? {});
  if (cols.length === 0) return `${who} unchanged`;
  return `${who}: ${cols.map((k) => `${k} ${fmt(ch.before?.[k])} → ${fmt(ch.after?.[k])}`).join(', ')}`;
}

function fmtRow(row: Record<string, unknown>): string {
  return Object.entries(row)
    .map(([k, v]) => `${k}=${fmt(v)}`)
    .join(', ');
}

function fmt(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'string') return v.length > 60 ? JSON.stringify(`${v.slice(0, 57)}...`) : JSON.stringify(v);
  return String(v);
}

/** The one machine-readable object of --json. */
export function renderJson(r: RunResult): string {
  return JSON.stringify(r) + '\n';
}
