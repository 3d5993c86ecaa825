import type { Knex } from 'knex';
import { pino } from 'pino';
import { loadSettings } from '../../src/config/load.js';
import { runCommand } from '../../src/runner/run.js';
import type { RowChange, RunResult, Step } from '../../src/runner/types.js';
import type { TestDatabase } from '../helpers/db.js';
import { normalise, normaliseValue } from '../helpers/fixtures.js';

// The host side of the panel-time trap: Node in UTC, the panel in Asia/Shanghai (UTC+8).
process.env.TZ = 'UTC';

const log = pino({ level: 'silent' });

/** The instant the check tests act at: 02:00 UTC is 10:00 in the panel's zone. */
export const NOW = new Date('2026-11-25T02:00:00Z');
export const NOW_ISO = NOW.toISOString();
export const UNIX = Math.floor(NOW.getTime() / 1000);
export const DAY = 86_400;

/** The per-user tables SPEC §2 lists, keyed by their user column (ss_password_reset goes by email). */
export const DEPENDENTS: [table: string, column: string][] = [
  ['link', 'userid'],
  ['login_ip', 'userid'],
  ['ss_invite_code', 'user_id'],
  ['user_token', 'user_id'],
  ['bought', 'userid'],
  ['code', 'userid'],
  ['disconnect_ip', 'userid'],
  ['radius_ban', 'userid'],
];

/** Panel-local (Asia/Shanghai) wall time of NOW + offset seconds, as the DATETIME columns hold it. */
export function panelLocal(offsetSeconds = 0): string {
  const d = new Date(NOW.getTime() + (offsetSeconds + 8 * 3600) * 1000);
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

export interface RunOpts {
  env?: Record<string, string>;
  dryRun?: boolean;
  force?: boolean;
  sampleSize?: number;
}

/** Runs `steps` through the real runner (transaction, dry-run rollback) on the test database. */
export function stepRunner(t: TestDatabase) {
  return (steps: Step[], opts: RunOpts = {}): Promise<RunResult> => {
    const { settings } = loadSettings({ env: { DATABASE_URL: t.url, SPANEL_TIMEZONE: 'Asia/Shanghai', ...opts.env }, cwd: '/' });
    return runCommand(
      { command: 'test check', lockName: null, steps },
      { settings, log, database: t.db },
      { dryRun: opts.dryRun ?? false, force: opts.force ?? false, now: NOW, operator: 'tester', ...(opts.sampleSize !== undefined ? { sampleSize: opts.sampleSize } : {}) },
    );
  };
}

/** A user that no check rule touches at NOW: recently used, checked in, registered, no debt. */
export const ACTIVE = {
  t: UNIX - 60,
  u: 1,
  d: 1,
  last_check_in_time: UNIX - 60,
  reg_date: panelLocal(-DAY),
  expire_in: '2099-01-01 00:00:00',
};

/** Report rows with MySQL's numeric strings (BIGINT ids, counts) as numbers, like SQLite's. */
export function norm(changes: RowChange[]): RowChange[] {
  return changes.map((c) => ({
    ...c,
    id: normaliseValue(c.id) as number,
    ...(c.before ? { before: normalise(c.before) } : {}),
    ...(c.after ? { after: normalise(c.after) } : {}),
  }));
}

export async function countRows(knex: Knex, table: string, where: Record<string, unknown> = {}): Promise<number> {
  const row = await knex(table).where(where).count({ n: '*' }).first();
  return Number(row?.n ?? 0);
}
