import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { GiB, insertNode, insertOrder, insertUser } from '../helpers/fixtures.js';

/**
 * Issue 10 item 9: `--json` has the same types on MariaDB and SQLite (64-bit traffic counters and
 * money as exact decimal strings, other integer columns, counts, ids and integer milliseconds as
 * numbers), and a failure before the run starts still prints one JSON object with exitCode.
 */
const NOW = '2026-11-24T18:00:00Z';
const T = Date.parse(NOW) / 1000;

async function scenario(t: TestDatabase): Promise<unknown[]> {
  const env = { DATABASE_URL: t.url, SPANEL_TIMEZONE: 'Asia/Shanghai' };
  const top = await insertUser(t.knex, { money: '1.50' });
  const payer = await insertUser(t.knex, { money: '0.10', ref_by: top });
  const order = await insertOrder(t.knex, { userid: payer, total: '12.34' });
  await insertUser(t.knex, { class: 2, renew_time: T - 1, u: 5 * GiB, d: 7 * GiB + 1, t: T - 60 });
  await insertUser(t.knex, { class: 1, t: T - 60, d: 3, rss_count: 2, last_day_t: 1, class_expire: '2026-11-25 01:00:00' });
  await insertUser(t.knex, { money: '-2.25', class: 1, node_group: 3, score: 70, ban_times: 1 });
  await insertNode(t.knex, { node_heartbeat: T - 99_999 });
  const out: unknown[] = [];
  for (const args of [
    ['payment', 'confirm', String(order), '--operator', 'alice'],
    ['job', 'daily', '--dry-run'],
    ['job', 'daily'],
    ['job', 'check', '--dry-run'],
  ]) {
    const r = await runCli([...args, '--now', NOW, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    out.push(r.json());
  }
  return out;
}

/** Fields that differ between any two runs (times, the database's location). */
function stable(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v), (k, x) => (['startedAt', 'durationMs', 'longestBatchMs', 'snapshotStore', 'email'].includes(k) ? typeof x : x));
}

/** Every leaf replaced by its JSON type. */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(shape);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]));
  return v === null ? 'null' : typeof v;
}

describe('--json types: MariaDB and SQLite print the same', { timeout: 180_000 }, () => {
  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    for (const d of dbs) await d.drop();
  });

  it('the same scenario gives identical JSON (values and types), integer durations, 64-bit counters and money as strings', async () => {
    const results: Record<string, unknown[]> = {};
    for (const dialect of ['mysql', 'sqlite'] as const) {
      const t = await createTestDatabase(dialect);
      dbs.push(t);
      results[dialect] = await scenario(t);
    }
    expect(shape(results.mysql)).toEqual(shape(results.sqlite));
    expect(stable(results.mysql)).toEqual(stable(results.sqlite));
    for (const r of results.mysql! as { durationMs: number; steps: { durationMs: number; changes: { before?: Record<string, unknown>; after?: Record<string, unknown> }[] }[] }[]) {
      expect(Number.isInteger(r.durationMs)).toBe(true);
      for (const s of r.steps) {
        expect(Number.isInteger(s.durationMs)).toBe(true);
        for (const c of s.changes) {
          for (const [k, v] of [...Object.entries(c.before ?? {}), ...Object.entries(c.after ?? {})]) {
            if (['u', 'd', 'transfer_limit', 'last_day_t', 'money'].includes(k)) expect(typeof v, k).toBe('string');
            else if (['enable', 'class', 'renew_time', 'type', 'status', 'score', 'ban_times', 'node_group'].includes(k)) expect(typeof v, k).toBe('number');
          }
        }
      }
    }
    const confirm = results.mysql![0] as { steps: { changes: { table: string; before?: Record<string, unknown>; after?: Record<string, unknown> }[] }[] };
    const money = confirm.steps.flatMap((s) => s.changes).filter((c) => c.table === 'user' && c.after?.money !== undefined).map((c) => [c.before!.money, c.after!.money]);
    expect(money).toContainEqual(['0.10', '12.44']);
  });

  it('a failure before the run starts prints one JSON object with exitCode', async () => {
    const unreachable = await runCli(['job', 'daily', '--json'], { DATABASE_URL: 'mysql://root@127.0.0.1:33198/x', DB_CONNECT_TIMEOUT: '2s' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.json()).toEqual({ command: 'job daily', outcome: 'failed', runId: null, error: expect.stringContaining('cannot reach the database at mysql://root@127.0.0.1:33198/x'), exitCode: 1 });

    const badConfig = await runCli(['payment', 'confirm', '1', '--json'], { DATABASE_URL: 'mysql://root@127.0.0.1:3306/x', DB_STATEMENT_TIMEOUT: 'soon' });
    expect(badConfig.code).toBe(2);
    expect(badConfig.json()).toMatchObject({ command: 'payment confirm', outcome: 'failed', exitCode: 2, error: expect.stringContaining('DB_STATEMENT_TIMEOUT') });

    const badNow = await runCli(['job', 'hourly', '--json', '--now', '2026-02-30T00:00:00Z'], { DATABASE_URL: 'mysql://root@127.0.0.1:3306/x' });
    expect(badNow.code).toBe(2);
    expect(badNow.json()).toMatchObject({ outcome: 'failed', exitCode: 2, error: expect.stringContaining('no such day') });

    const badId = await runCli(['payment', 'confirm', 'abc', '--json'], {});
    expect(badId.code).toBe(2);
    expect(badId.json()).toMatchObject({ outcome: 'failed', exitCode: 2 });
  });
});
