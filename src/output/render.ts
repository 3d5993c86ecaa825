import type { ChalkInstance } from 'chalk';
import type { RowChange, RunResult, StepReport } from '../runner/types.js';
import { formatValue, wrapFields } from './format.js';
import { stableResult } from './json.js';

/** How wide a report line may grow before its fields wrap (the terminal's width when known). */
export interface HumanOptions {
  width?: number;
}

const DEFAULT_WIDTH = 100;

/** The short human summary on stdout. Colour is decided by the caller (TTY, NO_COLOR). */
export function renderHuman(r: RunResult, c: ChalkInstance, opts: HumanOptions = {}): string {
  const width = Math.max(40, opts.width ?? DEFAULT_WIDTH);
  const lines: string[] = [];
  const mode = r.dryRun ? c.yellow(' — DRY RUN, nothing was written') : r.runId !== null ? c.dim(` (run #${r.runId})`) : '';
  lines.push(`${c.bold(`spanel ${r.command}`)}${mode}`);
  lines.push(c.dim(`now ${r.nowPanelLocal} ${r.timezone} (${r.now})`));
  r.steps.forEach((s, i) => lines.push(...renderStep(s, i + 1, r.dryRun, c, r.timezone, width)));
  const took = `${(r.durationMs / 1000).toFixed(2)} s`;
  if (r.outcome === 'success') {
    const total = r.steps.reduce((n, s) => n + s.count, 0);
    const verb = r.dryRun ? 'would change' : 'changed';
    lines.push(c.green(`done in ${took}: ${verb} ${total} row${total === 1 ? '' : 's'}`) + (r.dryRun ? c.yellow(' (rolled back)') : ''));
  } else if (r.outcome === 'partial' && r.dryRun) {
    lines.push(c.red(`dry run after ${took}: rolled back; some steps could not run (see below)`));
  } else if (r.outcome === 'partial') {
    const skipped = r.steps.reduce((n, s) => n + (s.skippedRows?.length ?? 0), 0);
    if (skipped > 0) {
      const verb = r.dryRun ? `would commit, but would skip` : `committed after ${took}, but skipped`;
      lines.push(c.red(`${verb} ${skipped} row${skipped === 1 ? '' : 's'} it cannot process (listed above)`) + (r.dryRun ? c.yellow(' (rolled back)') : ''));
    }
    if (r.steps.some((s) => s.notRun)) lines.push(c.red(`committed after ${took}, but some steps did not run (see below)`));
    if (r.missingEffects.length > 0) lines.push(c.red(`committed after ${took}, but some writes outside the database are missing (see below)`));
  } else if (r.outcome === 'skipped') {
    lines.push(c.yellow('skipped: another run of this command is in progress'));
  } else if (r.outcome === 'unknown') {
    lines.push(c.red(`outcome unknown after ${took}: the answer to COMMIT was lost; check \`spanel status\` (run #${r.runId}) before running it again`));
  } else if (r.changesKept) {
    const kept = r.steps.reduce((n, s) => n + s.count, 0);
    lines.push(c.red(`${r.outcome} after ${took}: ${kept} row${kept === 1 ? '' : 's'} changed in committed batches are kept`));
  } else {
    // The reason itself goes to stderr once (see CommandContext.print).
    lines.push(c.red(`${r.outcome} after ${took}: rolled back, nothing was changed`));
  }
  return lines.join('\n') + '\n';
}

/** Skipped rows listed per step; the log and --json have them all. */
const SKIPPED_SHOWN = 20;

function renderStep(s: StepReport, n: number, dryRun: boolean, c: ChalkInstance, timezone: string, width: number): string[] {
  const count = s.notRun ? c.red('NOT RUN') : s.count === 0 ? c.dim('no change') : `${s.count} row${s.count === 1 ? '' : 's'}`;
  const out = [`${String(n).padStart(2)}. ${s.title.padEnd(34)} ${count}`];
  if (s.counts && Object.keys(s.counts).length > 1) {
    out.push(c.dim(wrapFields('     ', Object.entries(s.counts).map(([t, k]) => `${t} ${k}`), width, '      ')));
  }
  if (s.skipped?.length) out.push(c.yellow(`      skipped (not in this database): ${s.skipped.join(', ')}`));
  const skippedRows = s.skippedRows ?? [];
  for (const r of skippedRows.slice(0, SKIPPED_SHOWN)) out.push(c.red(`      ${dryRun ? 'would skip' : 'skipped'} ${r.table} #${r.id}: ${r.reason}`));
  if (skippedRows.length > SKIPPED_SHOWN) out.push(c.red(`      … and ${skippedRows.length - SKIPPED_SHOWN} more skipped (every one is in the log and --json)`));
  for (const note of s.notes ?? []) out.push(`      ${note}`);
  for (const ch of s.changes) out.push(c.dim(renderChange(ch, timezone, width)));
  const shown = s.changes.length;
  if (shown > 0 && s.count > shown) out.push(c.dim(`      … and ${s.count - shown} more`));
  return out;
}

/** One changed row, indented under its step, its fields wrapped to `width`. */
export function renderChange(ch: RowChange, timezone: string, width = DEFAULT_WIDTH): string {
  const who = `      ${ch.table} #${ch.id}`;
  const fmt = (k: string, v: unknown) => formatValue(ch.table, k, v, timezone);
  const row = (r: Record<string, unknown>) => Object.entries(r).map(([k, v]) => `${k}=${fmt(k, v)}`);
  const indent = ' '.repeat(8);
  if (ch.action === 'delete' || ch.action === 'insert') {
    const verb = ch.action === 'delete' ? 'deleted' : 'inserted';
    const fields = row((ch.action === 'delete' ? ch.before : ch.after) ?? {});
    if (fields.length === 0) return `${who} ${verb}`;
    fields[0] = `(${fields[0]}`;
    fields[fields.length - 1] += ')';
    return wrapFields(`${who} ${verb}`, fields, width, indent);
  }
  const cols = Object.keys(ch.after ?? {});
  if (cols.length === 0) return `${who} unchanged`;
  return wrapFields(`${who}:`, cols.map((k) => `${k} ${fmt(k, ch.before?.[k])} → ${fmt(k, ch.after?.[k])}`), width, indent);
}

/** The one machine-readable object of --json. */
export function renderJson(r: RunResult): string {
  return JSON.stringify(stableResult(r)) + '\n';
}
