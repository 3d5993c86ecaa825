import { pino } from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { deleteInBatches, nextSpan } from '../../src/jobs/dbclean/delete-in-batches.js';
import { LOG_TABLES } from '../../src/jobs/dbclean/log-tables.js';
import type { BatchedStepContext } from '../../src/runner/types.js';
import { runCli } from '../helpers/cli.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';
import { NOW_ISO, UNIX, countRows } from './check.helpers.js';

const CUTOFF = UNIX - 3 * 86_400;
const FIXED_100 = { size: 100, targetMs: 0 };

describe.each(DIALECTS)('job dbclean on %s', (dialect) => {
  const t = useTestDatabase(dialect);
  const cli = (args: string[] = [], env: Record<string, string> = {}) =>
    runCli(['job', 'dbclean', '--now', NOW_ISO, '--json', ...args], { DATABASE_URL: t.url, DBCLEAN_BATCH_SIZE: '100', DBCLEAN_BATCH_MS: '0', ...env });

  beforeEach(async () => {
    for (const { table } of LOG_TABLES) if (await t.knex.schema.hasTable(table)) await t.knex(table).del();
  });

  /**
   * user_traffic_log: 1050 old rows with a new row after every 100th (so batches straddle new
   * rows), and a row exactly at the cutoff; every other table: one old row, one at the cutoff.
   */
  async function seed(): Promise<number[]> {
    const rows: { log_time: number }[] = [];
    for (let i = 0; i < 1050; i++) {
      rows.push({ log_time: CUTOFF - 1 - (i % 7) });
      if (i % 100 === 99) rows.push({ log_time: UNIX });
    }
    rows.push({ log_time: CUTOFF });
    for (let i = 0; i < rows.length; i += 200) await t.knex('user_traffic_log').insert(rows.slice(i, i + 200));
    for (const { table, column } of LOG_TABLES.filter((x) => x.table !== 'user_traffic_log')) {
      if (await t.knex.schema.hasTable(table)) await t.knex(table).insert([{ [column]: CUTOFF - 1 }, { [column]: CUTOFF }]);
    }
    const kept = await t.knex('user_traffic_log').select('id').where('log_time', '>=', CUTOFF).orderBy('id');
    return kept.map((r) => Number(r.id));
  }

  it('deletes old rows in batches of DBCLEAN_BATCH_SIZE and keeps every newer row', async () => {
    const kept = await seed();
    expect(kept).toHaveLength(11);
    const r = await cli();
    expect(r.code).toBe(0);
    const step = r.json().steps[0];
    expect(step.count).toBe(1055);
    expect(step.counts).toEqual({ ss_node_info: 1, ss_node_online_log: 1, user_traffic_log: 1050, detect_log: 1, speedtest: 1, email_verify: 1 });
    expect(step.data.batches).toBe(11 + 5);
    expect(step.data.tables.user_traffic_log).toMatchObject({ deleted: 1050, batches: 11 });
    expect(step.data.longestBatchMs).toBeGreaterThanOrEqual(0);
    expect((await t.knex('user_traffic_log').select('id').orderBy('id')).map((x) => Number(x.id))).toEqual(kept);
    for (const { table, column } of LOG_TABLES.filter((x) => x.table !== 'user_traffic_log')) {
      expect((await t.knex(table).select(column)).map((x) => Number(x[column]))).toEqual([CUTOFF]);
    }
    const again = await cli();
    expect(again.json().steps[0].count).toBe(0);
  });

  it('LOG_RETENTION_DAYS moves the cutoff', async () => {
    await t.knex('detect_log').insert([{ datetime: UNIX - 86_400 - 1 }, { datetime: UNIX - 86_400 }]);
    const r = await cli([], { LOG_RETENTION_DAYS: '1' });
    expect(r.json().steps[0].counts.detect_log).toBe(1);
    expect((await t.knex('detect_log').select('datetime')).map((x) => Number(x.datetime))).toEqual([UNIX - 86_400]);
  });

  it('dry run counts per table and deletes nothing', async () => {
    await seed();
    const r = await cli(['--dry-run']);
    expect(r.code).toBe(0);
    const step = r.json().steps[0];
    expect(step.counts).toEqual({ ss_node_info: 1, ss_node_online_log: 1, user_traffic_log: 1050, detect_log: 1, speedtest: 1, email_verify: 1 });
    expect(step.data.batches).toBe(0);
    expect(await countRows(t.knex, 'user_traffic_log')).toBe(1061);
    expect(await countRows(t.knex, 'email_verify')).toBe(2);
  });

  it('stops between batches on a signal, keeps what it deleted, and the next run resumes', async () => {
    await seed();
    const abort = new AbortController();
    const ctx = {
      db: t.knex,
      dialect: t.db.dialect,
      signal: abort.signal,
      log: { debug: () => abort.abort('SIGTERM') },
    } as unknown as BatchedStepContext;
    const first = await deleteInBatches(ctx, 'user_traffic_log', 'log_time', CUTOFF, FIXED_100);
    expect(first).toMatchObject({ deleted: 100, batches: 1, stopped: true });
    expect(await countRows(t.knex, 'user_traffic_log')).toBe(961);
    const rest = await deleteInBatches({ ...ctx, signal: new AbortController().signal, log: pino({ level: 'silent' }) }, 'user_traffic_log', 'log_time', CUTOFF, FIXED_100);
    expect(rest).toMatchObject({ deleted: 950, batches: 10, stopped: false });
    expect(await countRows(t.knex, 'user_traffic_log')).toBe(11);
  });

  it('jumps over gaps in the ids: one batch per range that holds rows, however sparse', async () => {
    const ids = [5, 1_000_000, 1_000_050, 7_000_000_000];
    await t.knex('detect_log').insert(ids.map((id, i) => ({ id, datetime: i === 2 ? CUTOFF : CUTOFF - 1 })));
    const r = await cli();
    expect(r.code).toBe(0);
    expect(r.json().steps[0].data.tables.detect_log).toMatchObject({ deleted: 3, batches: 3 });
    expect((await t.knex('detect_log').select('id')).map((x) => Number(x.id))).toEqual([1_000_050]);
  });

  it('widens batches while they are quicker than DBCLEAN_BATCH_MS: 100, 200, 400, then the rest', async () => {
    const kept = await seed();
    const r = await cli([], { DBCLEAN_BATCH_MS: '60000' });
    expect(r.code).toBe(0);
    expect(r.json().steps[0].data.tables.user_traffic_log).toMatchObject({ deleted: 1050, batches: 4, widestBatch: 800 });
    expect((await t.knex('user_traffic_log').select('id').orderBy('id')).map((x) => Number(x.id))).toEqual(kept);
  });

  it('skips and lists a log table this install lacks', async () => {
    await seed();
    await t.knex.schema.dropTable('speedtest');
    const r = await cli();
    expect(r.code).toBe(0);
    expect(r.json().steps[0].skipped).toEqual(['speedtest']);
    expect(r.json().steps[0].counts).not.toHaveProperty('speedtest');
    expect(await countRows(t.knex, 'user_traffic_log')).toBe(11);
  });
});

describe('dbclean batch width', () => {
  const plan = { size: 10_000, targetMs: 500 };
  it('scales towards the target time, at most doubling or halving, within a tenth and 20 times the size', () => {
    expect(nextSpan(10_000, 250, plan)).toBe(20_000);
    expect(nextSpan(10_000, 1, plan)).toBe(20_000);
    expect(nextSpan(10_000, 400, plan)).toBe(12_500);
    expect(nextSpan(10_000, 500, plan)).toBe(10_000);
    expect(nextSpan(10_000, 800, plan)).toBe(6_250);
    expect(nextSpan(10_000, 5_000, plan)).toBe(5_000);
    expect(nextSpan(150_000, 10, plan)).toBe(200_000);
    expect(nextSpan(1_500, 5_000, plan)).toBe(1_000);
  });
  it('stays at the size when DBCLEAN_BATCH_MS is 0', () => {
    expect(nextSpan(10_000, 1, { size: 10_000, targetMs: 0 })).toBe(10_000);
    expect(nextSpan(10_000, 60_000, { size: 10_000, targetMs: 0 })).toBe(10_000);
  });
});
