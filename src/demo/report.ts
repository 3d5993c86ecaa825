import type { ChalkInstance } from 'chalk';
import type { Knex } from 'knex';
import type { Settings } from '../config/settings.js';
import { renderHuman } from '../output/render.js';
import type { RowChange, RunResult } from '../runner/types.js';
import type { DemoFile } from './database.js';
import type { DemoResult, DemoRun } from './script.js';
import { AGED_ROWS, DEPENDENT_ROWS, NODES, ORDERS, REWARDS, SCENARIOS, SNAPSHOTS, USERS, type Scenario } from './seed.js';
import { DEMO_TIMES, DEMO_TIMEZONE } from './time.js';

/** What the demo says at each stage: as text for a person, or as JSON lines for a program. */
export interface DemoPrinter {
  intro(configured: Pick<Settings, 'databaseUrl' | 'redisUrl'>, file: DemoFile): void;
  seeded(migrations: number, rows: Record<string, number>): void;
  run(run: DemoRun, dry: RunResult, real: RunResult | null): void;
  summary(results: DemoResult[], end: EndState, durationMs: number): void;
  where(file: DemoFile): void;
}

export interface EndState {
  users: number;
  disabled: number;
  archived: number;
  ledgerRows: number;
  runs: number;
}

export async function endState(knex: Knex): Promise<EndState> {
  const count = async (table: string, where: Record<string, unknown> = {}) => {
    const row = await knex(table).where(where).count({ n: '*' }).first();
    return Number(row?.n ?? 0);
  };
  return {
    users: await count('user'),
    disabled: await count('user', { enable: 0 }),
    archived: await count('spanel_archived_user'),
    ledgerRows: await count('spanel_money_ledger'),
    runs: await count('spanel_run'),
  };
}

export const IGNORING = 'ignoring DATABASE_URL / REDIS_URL: the demo never touches a configured database';

type Write = (text: string) => void;

export function humanPrinter(write: Write, c: ChalkInstance): DemoPrinter {
  const line = (text = '') => write(`${text}\n`);
  return {
    intro(configured, file) {
      line(c.bold('spanel demo: every job, a payment and a referral recovery on a small embedded SQLite panel'));
      const set = [configured.databaseUrl ? 'DATABASE_URL' : null, configured.redisUrl ? 'REDIS_URL' : null].filter(Boolean);
      line(`${IGNORING}${set.length ? c.dim(` (${set.join(' and ')} ${set.length > 1 ? 'are' : 'is'} set here, and unused)`) : ''}`);
      line(`database: ${file.path} ${c.dim(file.temporary ? '(temporary, deleted at the end; --keep PATH keeps it)' : file.replaced ? '(replaces the earlier demo database there)' : '(kept after the demo)')}`);
      line(c.dim(`settings: the defaults (SPANEL_TIMEZONE ${DEMO_TIMEZONE}, caps 32 GiB/day and 6 GiB/hour, …), not this environment's; snapshots in the spanel_traffic_snapshot table`));
      line(c.dim(`time: fixed, one night in the panel's zone (daily ${hhmm('daily')}, hourly ${hhmm('hourly')}, check ${hhmm('check')}, dbclean ${hhmm('dbclean')}), so the output is the same everywhere`));
    },
    seeded(migrations, rows) {
      const n = (t: string) => rows[t] ?? 0;
      line(`migrated: ${migrations} migration${migrations === 1 ? '' : 's'} applied`);
      line(`seeded: ${n('user')} users, ${n('ss_node')} nodes, ${n('paylist')} orders, ${n('payback')} registration rewards, ${n('spanel_traffic_snapshot')} traffic snapshots, ${AGED_ROWS.length} IP/log rows, ${DEPENDENT_ROWS.length} per-user rows`);
      line();
      line(c.bold('The panel: who is on which side of which rule'));
      for (const s of [...USERS, ...NODES, ...ORDERS, ...REWARDS]) line(scenarioLine(s, c));
      line(c.dim(`  traffic snapshots: ${SNAPSHOTS.map((s) => `${s.name} (${s.expect})`).join(', ')}`));
      line(c.dim(`  IP and log tables: one old row (deleted) and one fresh row (kept) in each of ${[...new Set(AGED_ROWS.map((s) => s.table))].join(', ')}`));
      line(c.dim(`  per-user tables: rows of #71 (deleted with it) and of #75 (kept) in ${[...new Set(DEPENDENT_ROWS.map((s) => s.table))].join(', ')}`));
    },
    run(run, dry, real) {
      line();
      line(c.bold.cyan(`━━ spanel ${run.command} --now ${DEMO_TIMES[run.moment]} ━━`));
      line(c.yellow('dry run: what would change, row by row'));
      write(renderHuman(dry, c));
      if (!real) {
        line(c.red('not run for real: the dry run did not succeed'));
        return;
      }
      line(c.yellow('for real:'));
      write(renderHuman(withoutRows(real), c));
      const diff = differences(dry, real);
      if (real.exitCode === 0) {
        line(diff.length ? c.red(`differs from the dry run: ${diff.join('; ')}`) : c.green('✓ the real run changed exactly what the dry run reported'));
      }
    },
    summary(results, end, durationMs) {
      line();
      line(c.bold('━━ summary ━━'));
      for (const { run, dry, real } of results) {
        const total = (r: RunResult) => r.steps.reduce((n, s) => n + s.count, 0);
        const rows = (n: number) => `${n} row${n === 1 ? '' : 's'}`;
        const state = real ? `${real.outcome === 'success' ? 'changed' : real.outcome} ${rows(total(real))} (run #${real.runId})` : c.red(`dry run ${dry.outcome}: ${dry.error}`);
        line(`  ${`spanel ${run.command}`.padEnd(30)} ${state}`);
      }
      line(`panel afterwards: ${end.users} of ${USERS.length} users left (${end.archived} deleted, archived in spanel_archived_user), ${end.disabled} disabled, ${end.ledgerRows} balance changes in spanel_money_ledger, ${end.runs} runs in spanel_run`);
      line(c.dim(`finished in ${(durationMs / 1000).toFixed(1)} s`));
    },
    where(file) {
      if (file.temporary) {
        line(`database ${file.path} deleted. To look inside, run: npx spanel demo --keep ./spanel-demo.sqlite`);
        return;
      }
      line(`database kept at ${file.path}. Look inside, or run any command on it:`);
      line(`  sqlite3 ${file.path} "select id, email, enable, class, money, warming from user"`);
      line(`  DATABASE_URL=sqlite:${file.path} npx spanel job check --dry-run --now ${DEMO_TIMES.referral}`);
      line(`  DATABASE_URL=sqlite:${file.path} npx spanel status`);
    },
  };
}

/** One JSON object per line: the setup, each run's result, the summary. */
export function jsonPrinter(write: Write): DemoPrinter {
  const emit = (o: Record<string, unknown>) => write(`${JSON.stringify(o)}\n`);
  return {
    intro(configured, file) {
      emit({
        demo: 'start',
        message: IGNORING,
        ignored: { DATABASE_URL: Boolean(configured.databaseUrl), REDIS_URL: Boolean(configured.redisUrl) },
        database: file.path,
        temporary: file.temporary,
        times: DEMO_TIMES,
      });
    },
    seeded(migrations, rows) {
      emit({ demo: 'seeded', migrations, rows, scenarios: SCENARIOS.map(({ row: _row, ...s }) => s) });
    },
    run(run, dry, real) {
      emit({ demo: 'run', command: run.command, dryRun: dry, real });
    },
    summary(results, end, durationMs) {
      emit({ demo: 'summary', ok: results.every((r) => r.real?.exitCode === 0), runs: results.length, end, durationMs });
    },
    where(file) {
      emit({ demo: 'end', database: file.path, kept: !file.temporary });
    },
  };
}

function scenarioLine(s: Scenario, c: ChalkInstance): string {
  const what = s.table === 'user' ? `#${s.id} ${s.name}` : `${s.table} #${s.id} ${s.name}`;
  return `  ${what.padEnd(34)} ${c.dim(s.rule.padEnd(34))} ${s.expect}`;
}

const hhmm = (moment: keyof typeof DEMO_TIMES): string => DEMO_TIMES[moment].slice(11, 16);

function withoutRows(r: RunResult): RunResult {
  return { ...r, steps: r.steps.map((s) => ({ ...s, changes: [] })) };
}

/** Steps whose count or listed rows differ between the dry run and the real run. */
export function differences(dry: RunResult, real: RunResult): string[] {
  const out: string[] = [];
  real.steps.forEach((s, i) => {
    const d = dry.steps[i];
    if (!d || d.name !== s.name) out.push(`step ${s.name} missing from the dry run`);
    else if (d.count !== s.count) out.push(`${s.title}: dry run ${d.count}, real ${s.count}`);
    else if (d.changes.length && s.changes.length && comparable(d.changes) !== comparable(s.changes)) out.push(`${s.title}: other rows`);
  });
  return out;
}

/**
 * Inserted rows compare without their id: MySQL does not give back auto-increment values a
 * rolled-back dry run used, so the real run's new rows get later ids.
 */
function comparable(changes: RowChange[]): string {
  return JSON.stringify(changes.map((ch) => (ch.action === 'insert' ? { ...ch, id: null } : ch)));
}
