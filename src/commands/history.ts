import { hostname } from 'node:os';
import type { Knex } from 'knex';
import type { CommandContext } from '../cli/context.js';
import { UsageError } from '../errors.js';
import { LEDGER_TABLE } from '../ledger/ledger.js';
import { BATCHED_JOBS } from '../ops/job-status.js';
import { renderChange } from '../output/render.js';
import { RUN_CHANGE_TABLE } from '../runner/change-sample.js';
import { RUN_TABLE } from '../runner/history.js';
import type { RowChange } from '../runner/types.js';
import { withDatabase, output } from '../support/database.js';
import { durationText, moneyText, panelTime, parseLimit, parseSince, table } from '../support/format.js';
import { parseId } from '../util/ids.js';
import { processAlive } from '../util/process.js';

/** Outcomes whose changes were committed: only their counts are rows really changed. */
const COMMITTED = new Set(['success', 'partial']);

interface StepSummary {
  name: string;
  count: number;
  counts?: Record<string, number>;
  skipped?: string[];
  durationMs?: number;
}

export interface RunListItem {
  id: number;
  command: string;
  outcome: string;
  startedAt: string;
  startedAtPanelLocal: string;
  /** The time the run acted as (`--now`), when it differs from the start. */
  actedAs: string | null;
  durationMs: number | null;
  operator: string;
  host: string;
  /** Rows changed, summed over the steps; null when nothing was committed. */
  rowsChanged: number | null;
}

/** `spanel history [--command C] [--since TIME] [--limit N]`: recent runs, newest first. */
export async function historyHandler(ctx: CommandContext, _args: string[], opts: Record<string, unknown>): Promise<number> {
  const limit = parseLimit(opts.limit, 20);
  const since = parseSince(opts.since, ctx.runOptions.now, ctx.settings.timezone);
  const command = opts.command === undefined ? null : String(opts.command).trim();
  const tz = ctx.settings.timezone;
  const runs = await withDatabase(ctx, async (db) => {
    const q = db.knex(RUN_TABLE).select('*').orderBy('id', 'desc').limit(limit);
    if (command) q.where((w) => w.where('command', command).orWhere('command', `job ${command}`));
    if (since !== null) q.where('started_at', '>=', since * 1000);
    return ((await q) as Record<string, unknown>[]).map((r) => listItem(r, tz));
  });
  output(ctx, { timezone: tz, runs }, () => {
    if (runs.length === 0) return ['no runs recorded' + (command || since !== null ? ' that match' : '')];
    const rows = runs.map((r) => [
      `#${r.id}`,
      r.command,
      r.startedAtPanelLocal,
      durationText(r.durationMs),
      r.outcome,
      r.operator,
      r.host,
      r.rowsChanged === null ? '-' : String(r.rowsChanged),
    ]);
    return table(['RUN', 'COMMAND', `STARTED (${tz})`, 'DURATION', 'OUTCOME', 'OPERATOR', 'HOST', 'ROWS CHANGED'], rows);
  });
  return 0;
}

/**
 * A "running" row of a process on this host that no longer exists ended without recording how
 * (killed, crashed): shown as crashed. Other hosts' processes cannot be checked.
 */
function shownOutcome(r: Record<string, unknown>): string {
  const outcome = String(r.outcome);
  if (outcome !== 'running' || String(r.host) !== hostname()) return outcome;
  return processAlive(Number(r.pid)) ? outcome : 'crashed';
}

/** A batched job keeps the batches it committed before it failed, so its counts stand. */
const batched = (command: string): boolean => BATCHED_JOBS.has(command.replace(/^job /, '') as never);

function listItem(r: Record<string, unknown>, tz: string): RunListItem {
  const startedMs = Number(r.started_at);
  const nowMs = Number(r.now_at);
  const steps = parseJson<StepSummary[]>(r.steps) ?? [];
  const outcome = shownOutcome(r);
  return {
    id: Number(r.id),
    command: String(r.command),
    outcome,
    startedAt: new Date(startedMs).toISOString(),
    startedAtPanelLocal: panelTime(Math.floor(startedMs / 1000), tz) ?? '-',
    actedAs: Math.abs(nowMs - startedMs) > 60_000 ? new Date(nowMs).toISOString() : null,
    durationMs: r.duration_ms === null || r.duration_ms === undefined ? null : Number(r.duration_ms),
    operator: String(r.operator),
    host: String(r.host),
    rowsChanged: COMMITTED.has(outcome) || (batched(String(r.command)) && steps.length > 0) ? steps.reduce((n, s) => n + Number(s.count ?? 0), 0) : null,
  };
}

export interface RunDetail extends RunListItem {
  args: Record<string, unknown> | null;
  pid: number;
  error: string | null;
  steps: (StepSummary & { changes: RowChange[] })[];
  /** The money ledger rows this run wrote. */
  money: { user: number; before: string; after: string; delta: string; reason: string; reference: string | null }[];
}

/** `spanel history show <run>`: one run with its arguments, step counts, errors and changed rows. */
export async function historyShowHandler(ctx: CommandContext, args: string[]): Promise<number> {
  const id = parseId(args[0], 'run id');
  const tz = ctx.settings.timezone;
  const detail = await withDatabase(ctx, (db) => runDetail(db.knex, id, tz));
  if (!detail) throw new UsageError(`run #${id} is not in the run history: list runs with \`spanel history\``);
  output(ctx, detail, () => renderDetail(detail, tz));
  return 0;
}

export async function runDetail(knex: Knex, id: number, tz: string): Promise<RunDetail | null> {
  const row: Record<string, unknown> | undefined = await knex(RUN_TABLE).where('id', id).first();
  if (!row) return null;
  const base = listItem(row, tz);
  const changes: Record<string, unknown>[] = (await knex.schema.hasTable(RUN_CHANGE_TABLE))
    ? await knex(RUN_CHANGE_TABLE).where('run_id', id).orderBy('id')
    : [];
  const steps = (parseJson<StepSummary[]>(row.steps) ?? []).map((s) => ({
    ...s,
    changes: changes.filter((c) => c.step === s.name).map(toRowChange),
  }));
  const ledger: Record<string, unknown>[] = await knex(LEDGER_TABLE).where('run_id', id).orderBy('id');
  return {
    ...base,
    args: parseJson<Record<string, unknown>>(row.args),
    pid: Number(row.pid),
    error: (row.error as string | null) ?? null,
    steps,
    money: ledger.map((l) => ({
      user: Number(l.user_id),
      before: moneyText(l.amount_before),
      after: moneyText(l.amount_after),
      delta: moneyText(l.delta),
      reason: String(l.reason),
      reference: (l.reference as string | null) ?? null,
    })),
  };
}

function toRowChange(c: Record<string, unknown>): RowChange {
  const id = String(c.row_id);
  return {
    table: String(c.table_name),
    id: /^\d+$/.test(id) ? Number(id) : id,
    action: String(c.action) as RowChange['action'],
    ...(c.before_json ? { before: parseJson<Record<string, unknown>>(c.before_json)! } : {}),
    ...(c.after_json ? { after: parseJson<Record<string, unknown>>(c.after_json)! } : {}),
  };
}

function renderDetail(d: RunDetail, tz: string): string[] {
  const out = [
    `run #${d.id}: spanel ${d.command}`,
    `  outcome   ${d.outcome}${d.rowsChanged !== null ? `, ${d.rowsChanged} rows changed` : ''}`,
    `  started   ${d.startedAtPanelLocal} ${tz}, took ${durationText(d.durationMs)}`,
    ...(d.actedAs ? [`  acted as  ${d.actedAs} (--now)`] : []),
    `  by        ${d.operator} on ${d.host} (pid ${d.pid})`,
    `  arguments ${d.args && Object.keys(d.args).length ? Object.entries(d.args).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ') : '(none)'}`,
  ];
  if (d.error) out.push(`  error     ${d.error}`);
  if (d.rowsChanged === null && d.steps.length > 0) out.push('  (rolled back: nothing below was kept)');
  d.steps.forEach((s, i) => {
    const counts = s.counts && Object.keys(s.counts).length > 1 ? ` (${Object.entries(s.counts).map(([t, n]) => `${t} ${n}`).join(', ')})` : '';
    out.push(`${String(i + 1).padStart(2)}. ${s.name.padEnd(24)} ${s.count} row${s.count === 1 ? '' : 's'}${counts}`);
    if (s.skipped?.length) out.push(`      skipped (not in this database): ${s.skipped.join(', ')}`);
    for (const ch of s.changes) out.push(renderChange(ch, tz));
    if (s.changes.length > 0 && s.count > s.changes.length) out.push(`      … and ${s.count - s.changes.length} more (sample of SPANEL_SAMPLE_SIZE per table kept)`);
  });
  if (d.money.length) {
    out.push('money ledger rows of this run:');
    for (const m of d.money) out.push(`      user #${m.user} ${m.before} → ${m.after} (${m.delta.startsWith('-') ? m.delta : `+${m.delta}`}) ${m.reason}${m.reference ? ` ${m.reference}` : ''}`);
  }
  return out;
}

function parseJson<T>(v: unknown): T | null {
  if (v === null || v === undefined || v === '') return null;
  try {
    return JSON.parse(String(v)) as T;
  } catch {
    return null;
  }
}
