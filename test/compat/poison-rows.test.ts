import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../helpers/db.js';
import { dump, GiB } from '../helpers/fixtures.js';
import { createSpanelSchema, phpUser } from './panel-schemas.js';

// Each test runs whole commands in process; on a shared, loaded host that can take minutes (a bound, not a speed claim).
vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });

/** 02:00 in Asia/Shanghai. */
const NOW = '2026-11-24T18:00:00Z';
const UNIX = Date.parse(NOW) / 1000;
const BIG = 2n ** 62n;

/**
 * One bad row must not stop a job for everyone (SPEC §5): NULL traffic counters count as 0
 * and are never written as NULL; a u + d beyond BIGINT is skipped and reported, and the run
 * ends `partial` (exit 1), its dry run predicting exactly that.
 */
describe.each(DIALECTS)('poison rows on %s', (dialect) => {
  let t: TestDatabase;
  const env = () => ({ DATABASE_URL: t.url, SPANEL_TIMEZONE: 'Asia/Shanghai' });
  const cli = (args: string[]) => runCli([...args, '--now', NOW, '--json'], env());
  const users = async () =>
    Object.fromEntries((await dump(t.knex, 'user')).map((u) => [Number(u.id), { u: str(u.u), d: str(u.d), enable: Number(u.enable), renew_time: Number(u.renew_time) }]));
  const ids: Record<string, number> = {};

  beforeEach(async () => {
    t = await createTestDatabase(dialect, { migrate: false });
    if (dialect === 'mysql') await createSpanelSchema(t.knex, { nullableCounters: true });
    // SQLite cannot relax a column, so the panel's user table is created with NULLable counters and migrate adds the rest.
    else await t.knex.raw('CREATE TABLE `user` (`id` integer PRIMARY KEY AUTOINCREMENT, `email` varchar(64) NOT NULL, `enable` tinyint NOT NULL DEFAULT 1, `t` integer NOT NULL DEFAULT 0, `u` bigint NULL, `d` bigint NULL)');
    expect((await runCli(['migrate'], env())).code).toBe(0);
    const base = { enable: 1, class: 1, renew_time: UNIX - 1, node_group: 2, t: UNIX - 60, reg_date: '2026-11-01 00:00:00', score: 100 };
    const row = (o: Record<string, unknown>) => (dialect === 'mysql' ? phpUser({ ...base, ...o }) : { email: `${Math.random()}@x`, ...base, ...o });
    for (const [name, o] of Object.entries({
      nullU: { u: null, d: 5 * GiB },
      nullD: { u: 7, d: null },
      overflow: { u: BIG.toString(), d: BIG.toString() },
      normal: { u: 1, d: 2 },
    })) ids[name] = Number((await t.knex('user').insert(row(o)))[0]);
  });
  afterEach(async () => t.drop());

  const skippedOf = (r: CliResult) => r.json().steps.flatMap((s: any) => (s.skippedRows ?? []).map((x: any) => [s.name, x.table, x.id, x.reason]));
  // The one difference a dry run may show: it says it wrote no snapshot.
  const strip = (r: CliResult) => r.json().steps.map((s: any) => ({ ...s, durationMs: 0, notes: s.notes?.filter((n: string) => n !== 'snapshots not written (dry run)') }));

  it('job daily: NULL counts as 0 and is never written back; the overflowing user is skipped and listed; the dry run says the same', async () => {
    const before = await users();
    const dry = await cli(['job', 'daily', '--dry-run']);
    expect(await users()).toEqual(before);
    const real = await cli(['job', 'daily']);
    for (const r of [dry, real]) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.json().outcome).toBe('partial');
      expect(skippedOf(r)).toEqual([
        ['traffic-renewal', 'user', ids.overflow, 'u + d exceeds the BIGINT range: the renewal cannot add them'],
        ['daily-traffic-cap', 'user', ids.overflow, 'u + d exceeds the BIGINT range: no snapshot can hold it'],
      ]);
      expect(r.json().steps.find((s: any) => s.name === 'traffic-renewal').count).toBe(3);
    }
    expect(strip(dry)).toEqual(strip(real));
    expect(real.json().error).toMatch(/^2 rows were skipped because of their values, everything else was done: user #\d+ \(traffic-renewal: u \+ d exceeds/);

    const after = await users();
    const renewed = UNIX + 10 * 86_400;
    expect(after[ids.nullU!]).toEqual({ u: String(5 * GiB), d: '0', enable: 1, renew_time: renewed });
    expect(after[ids.nullD!]).toEqual({ u: '7', d: '0', enable: 1, renew_time: renewed });
    expect(after[ids.normal!]).toEqual({ u: '3', d: '0', enable: 1, renew_time: renewed });
    expect(after[ids.overflow!]).toEqual(before[ids.overflow!]);
    // Snapshots (no Redis: the table) for everyone scanned but the skipped user, after commit.
    const snaps = await t.knex('spanel_traffic_snapshot').select('user_id', 'total').orderBy('user_id');
    expect(snaps.map((s) => [Number(s.user_id), str(s.total)])).toEqual([
      [ids.nullU, String(5 * GiB)],
      [ids.nullD, '7'],
      [ids.normal, '3'],
    ]);
    const [run] = await t.knex('spanel_run').where('command', 'job daily').select('outcome');
    expect(run.outcome).toBe('partial');
  });

  it('job hourly: the NULL-counter users are judged, the overflowing one skipped; exit 1 partial, dry run alike', async () => {
    const dry = await cli(['job', 'hourly', '--dry-run']);
    const real = await cli(['job', 'hourly']);
    for (const r of [dry, real]) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.json().outcome).toBe('partial');
      expect(skippedOf(r)).toEqual([['hourly-traffic-cap', 'user', ids.overflow, 'u + d exceeds the BIGINT range: no snapshot can hold it']]);
      expect(r.json().steps[0].data).toMatchObject({ scanned: 3, withoutSnapshot: 3, disabled: 0 });
    }
    expect(strip(dry)).toEqual(strip(real));
  });

  it('once the row is repaired, the next daily run is a plain success', async () => {
    await t.knex('user').where('id', ids.overflow).update({ u: 1, d: 1 });
    const r = await cli(['job', 'daily']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().outcome).toBe('success');
    expect(skippedOf(r)).toEqual([]);
  });
});

const str = (v: unknown): string | null => (v === null || v === undefined ? null : typeof v === 'number' ? BigInt(v).toString() : String(v));
