import type { CommandContext } from '../cli/context.js';
import { openDatabase } from '../db/connect.js';
import { EXIT, OperationError } from '../errors.js';
import { formatAge, jobStatuses, type RunSummary, type StatusReport } from '../ops/job-status.js';
import { RUN_TABLE } from '../runner/history.js';
import { activeLeases, type LeaseHolder } from '../runner/lock.js';
import { Clock } from '../time/clock.js';
import { checkedSchema } from '../db/schema-family.js';

/**
 * `spanel status`: last run, outcome, duration, step counts and overdue state of every job.
 * Exit 0 when all are healthy, 1 otherwise, so it works as a Nagios/monit-style check.
 */
export async function statusHandler(ctx: CommandContext): Promise<number> {
  const db = await openDatabase(ctx.settings.databaseUrl);
  let report: StatusReport;
  let leases: LeaseHolder[];
  try {
    if (!(await checkedSchema(db)).tables.has(RUN_TABLE)) {
      throw new OperationError(`the database at ${db.safeUrl} has no run history yet: run \`spanel migrate\` first`);
    }
    report = await jobStatuses(db.knex, ctx.settings, ctx.runOptions.now);
    leases = await activeLeases(db);
  } finally {
    await db.close();
  }
  if (ctx.opts.json) ctx.io.stdout.write(`${JSON.stringify({ ...report, locks: leases.map((l) => leaseJson(l, report.timezone)) })}\n`);
  else ctx.say(renderStatus(report) + renderLeases(leases, report.timezone));
  return report.ok ? EXIT.OK : EXIT.FAILED;
}

export function renderStatus(r: StatusReport): string {
  const header = ['JOB', 'STATE', `LAST RUN (${r.timezone})`, 'DURATION', 'LAST SUCCESS', 'OVERDUE AFTER'];
  const rows = r.jobs.map((j) => [
    j.job,
    j.ok ? j.state : j.state.toUpperCase(),
    j.lastRun?.startedAtPanelLocal ?? 'never',
    j.lastRun?.durationMs != null ? `${(j.lastRun.durationMs / 1000).toFixed(1)} s` : '-',
    j.secondsSinceSuccess === null ? 'never' : `${formatAge(j.secondsSinceSuccess)} ago${j.overdue ? ' (OVERDUE)' : ''}`,
    formatAge(j.overdueAfterSeconds),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [`spanel status, now ${r.nowPanelLocal} ${r.timezone}`, line(header), ...rows.map(line)];

  const changed = r.jobs.flatMap((j) => {
    const what = j.lastRun && changedBy(j.lastRun);
    return what ? [`  ${j.job.padEnd(8)} ${what}`] : [];
  });
  if (changed.length) out.push('', 'Rows changed by the last run:', ...changed);
  const running = r.jobs.filter((j) => j.running);
  for (const j of running) out.push(`  ${j.job} is running now: run #${j.running!.id} on ${j.running!.host} since ${j.running!.startedAtPanelLocal}`);

  const bad = r.jobs.filter((j) => !j.ok);
  out.push('');
  if (bad.length === 0) out.push('OK: every job ran successfully and on time');
  else {
    out.push(`ATTENTION: ${bad.length} job${bad.length === 1 ? '' : 's'} need${bad.length === 1 ? 's' : ''} attention`);
    for (const j of bad) for (const p of j.problems) out.push(`  ${j.job}: ${p}`);
  }
  return out.join('\n');
}

/** What the last run left changed: step counts only when it committed them. */
function changedBy(run: RunSummary): string | null {
  const how = run.outcome === 'interrupted' ? 'was interrupted' : 'failed';
  if (run.rolledBack) return `nothing: it ${how} and was rolled back`;
  if (run.steps.length) return run.steps.map((s) => `${s.name} ${s.count}`).join(', ');
  if (run.outcome === 'failed' || run.outcome === 'interrupted') return `not counted: it ${how}; the batches it committed before are kept`;
  return null;
}

const panelTime = (ms: number, tz: string) => new Clock(new Date(ms), tz).panelLocal();

function leaseJson(l: LeaseHolder, tz: string) {
  return { name: l.name, host: l.host, pid: l.pid, since: new Date(l.acquiredAtMs).toISOString(), expires: new Date(l.expiresAtMs).toISOString(), sincePanelLocal: panelTime(l.acquiredAtMs, tz), expiresPanelLocal: panelTime(l.expiresAtMs, tz) };
}

/** Who holds an overlap lock now (by the database server's clock), with when its lease ends. */
export function renderLeases(leases: LeaseHolder[], tz: string): string {
  if (!leases.length) return '';
  const lines = leases.map((l) => `  ${l.name} held by ${l.host} pid ${l.pid} since ${panelTime(l.acquiredAtMs, tz)}, lease expires ${panelTime(l.expiresAtMs, tz)} unless renewed`);
  return `\n\nLocks held now:\n${lines.join('\n')}`;
}
