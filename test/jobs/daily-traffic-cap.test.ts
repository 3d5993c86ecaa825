import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadSettings } from '../../src/config/load.js';
import { DAILY_TRAFFIC_CAP } from '../../src/jobs/daily/traffic-cap.js';
import { trafficCapStep } from '../../src/jobs/steps/traffic-cap.js';
import { runCommand } from '../../src/runner/run.js';
import type { Step } from '../../src/runner/types.js';
import { snapshotServices } from '../../src/snapshots/services.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';
import { dump, GiB, insertUser } from '../helpers/fixtures.js';

const log = pino({ level: 'silent' });
const NOW = new Date('2026-11-24T18:00:00Z');
const T = NOW.getTime() / 1000;
const WARNING = '20261125 02:00:00 daily traffic over 32 GB: account disabled';
const CAP = 32 * GiB;

// A temporary directory of this file's own, so spool files of other test files cannot interfere.
const TMP = mkdtempSync(join(tmpdir(), 'spanel-cap-test-'));
process.env.TMPDIR = TMP;
afterAll(() => rmSync(TMP, { recursive: true, force: true }));
const spoolDirs = (): string[] => readdirSync(TMP).filter((n) => n.startsWith('spanel-snapshots-'));

/** The daily cap through the table store (no REDIS_URL). */
describe.each(DIALECTS)('daily traffic cap with the snapshot table on %s', (dialect) => {
  const t = useTestDatabase(dialect);
  const run = (step: Step, opts: { now?: Date; dryRun?: boolean; env?: Record<string, string>; sampleSize?: number } = {}) => {
    const settings = loadSettings({ env: { DATABASE_URL: t.url, ...opts.env }, cwd: '/' }).settings;
    return runCommand(
      { command: 'test cap', lockName: null, steps: [step], services: snapshotServices },
      { settings, log, database: t.db },
      { dryRun: opts.dryRun ?? false, force: false, now: opts.now ?? NOW, operator: 'tester', ...(opts.sampleSize !== undefined ? { sampleSize: opts.sampleSize } : {}) },
    );
  };
  const dailyCap = trafficCapStep(DAILY_TRAFFIC_CAP);
  const snapshots = async () =>
    Object.fromEntries(
      (await dump(t.knex, 'spanel_traffic_snapshot')).map((r) => [`${r.kind}:${r.user_id}`, [r.total, r.expires_at]]),
    );
  const active = (o: Record<string, unknown>) => ({ node_group: 2, t: T - 60, ...o });

  afterEach(async () => {
    await t.knex('user').del();
    await t.knex('spanel_traffic_snapshot').del();
  });

  it('first run only records, second run disables only the user over the cap (strictly greater)', async () => {
    const over = await insertUser(t.knex, active({ u: GiB, d: 2 * GiB }));
    const atCap = await insertUser(t.knex, active({ u: 0, d: 5 }));
    const quiet = await insertUser(t.knex, active({ u: 7, d: 0 }));

    const first = await run(dailyCap);
    expect(first.exitCode).toBe(0);
    expect(first.steps[0]!.count).toBe(0);
    expect(first.steps[0]!.data).toMatchObject({ scanned: 3, withoutSnapshot: 3, disabled: 0, snapshotStore: 'table' });
    expect(await snapshots()).toEqual({
      [`traffic_lastday:${over}`]: [3 * GiB, T + 86_400],
      [`traffic_lastday:${atCap}`]: [5, T + 86_400],
      [`traffic_lastday:${quiet}`]: [7, T + 86_400],
    });

    await t.knex('user').where('id', over).update({ d: 2 * GiB + CAP + 1 });
    await t.knex('user').where('id', atCap).update({ d: 5 + CAP });
    const later = new Date(NOW.getTime() + 3600_000);
    const second = await run(dailyCap, { now: later });
    expect(second.exitCode).toBe(0);
    expect(second.steps[0]!.count).toBe(1);
    const warning = '20261125 03:00:00 daily traffic over 32 GB: account disabled';
    expect(second.steps[0]!.changes).toEqual([
      { table: 'user', id: over, action: 'update', before: { enable: 1, warming: null }, after: { enable: 0, warming: warning } },
    ]);
    const users = await dump(t.knex, 'user');
    expect(users.map((u) => [u.id, u.enable, u.warming])).toEqual([
      [over, 0, warning],
      [atCap, 1, null],
      [quiet, 1, null],
    ]);
    // every scanned user's snapshot became its current total, expiring a day after this run
    expect(await snapshots()).toEqual({
      [`traffic_lastday:${over}`]: [3 * GiB + CAP + 1, T + 3600 + 86_400],
      [`traffic_lastday:${atCap}`]: [5 + CAP, T + 3600 + 86_400],
      [`traffic_lastday:${quiet}`]: [7, T + 3600 + 86_400],
    });
  });

  it('scans only enabled users of the configured groups with traffic within 24 h', async () => {
    const scanned = [
      await insertUser(t.knex, active({ node_group: 2 })),
      await insertUser(t.knex, active({ node_group: 5 })),
      await insertUser(t.knex, active({ t: T - 86_399 })),
    ];
    await insertUser(t.knex, active({ node_group: 1 }));
    await insertUser(t.knex, active({ node_group: 6 }));
    await insertUser(t.knex, active({ t: T - 86_400 }));
    await insertUser(t.knex, active({ enable: 0 }));
    // Everyone has an old snapshot far below their total: only scanned users can be disabled.
    for (const u of await t.knex('user').select('id')) {
      await t.knex('spanel_traffic_snapshot').insert({ kind: 'traffic_lastday', user_id: u.id, total: 0, expires_at: T + 10 });
    }
    await t.knex('user').update({ d: CAP + 1 });

    const r = await run(dailyCap);
    expect(r.steps[0]!.count).toBe(3);
    expect((await dump(t.knex, 'user')).filter((u) => u.enable === 0 && u.warming === WARNING).map((u) => u.id)).toEqual(scanned);

    // DAILY_LIMIT_GROUPS narrows the groups
    await t.knex('user').update({ enable: 1, warming: null });
    await t.knex('spanel_traffic_snapshot').update({ total: 0 });
    const narrowed = await run(dailyCap, { env: { DAILY_LIMIT_GROUPS: '5' } });
    expect(narrowed.steps[0]!.changes.map((c) => c.id)).toEqual([scanned[1]]);
  });

  it('honours DAILY_TRAFFIC_LIMIT_GB', async () => {
    const id = await insertUser(t.knex, active({ d: 2 * GiB + 1 }));
    await t.knex('spanel_traffic_snapshot').insert({ kind: 'traffic_lastday', user_id: id, total: 0, expires_at: T + 10 });
    expect((await run(dailyCap, { env: { DAILY_TRAFFIC_LIMIT_GB: '2' } })).steps[0]!.changes).toEqual([
      {
        table: 'user', id, action: 'update', before: { enable: 1, warming: null },
        after: { enable: 0, warming: '20261125 02:00:00 daily traffic over 2 GB: account disabled' },
      },
    ]);
  });

  it('ignores an expired snapshot (and a snapshot of the other kind): the user is only recorded', async () => {
    const id = await insertUser(t.knex, active({ d: CAP + 10 }));
    await t.knex('spanel_traffic_snapshot').insert([
      { kind: 'traffic_lastday', user_id: id, total: 0, expires_at: T },
      { kind: 'traffic_lasthour', user_id: id, total: 0, expires_at: T + 100 },
    ]);
    const r = await run(dailyCap);
    expect(r.steps[0]!.count).toBe(0);
    expect(r.steps[0]!.data).toMatchObject({ scanned: 1, withoutSnapshot: 1 });
    expect((await dump(t.knex, 'user'))[0]!.enable).toBe(1);
    expect(await snapshots()).toEqual({
      [`traffic_lastday:${id}`]: [CAP + 10, T + 86_400],
      [`traffic_lasthour:${id}`]: [0, T + 100],
    });
  });

  it('drops expired snapshots of its kind after writing', async () => {
    const gone = await insertUser(t.knex, active({ enable: 0 }));
    await t.knex('spanel_traffic_snapshot').insert({ kind: 'traffic_lastday', user_id: gone, total: 1, expires_at: T - 1 });
    const id = await insertUser(t.knex, active({ d: 1 }));
    await run(dailyCap);
    expect(await snapshots()).toEqual({ [`traffic_lastday:${id}`]: [1, T + 86_400] });
  });

  it('pages through more users than one batch, disables the over-cap users of all pages in one UPDATE, and records them all', async () => {
    const small = trafficCapStep({ ...DAILY_TRAFFIC_CAP, batchSize: 3 });
    const ids: number[] = [];
    for (let i = 0; i < 8; i++) ids.push(await insertUser(t.knex, active({ d: 100 + i })));
    const first = await run(small);
    expect(first.steps[0]!.data).toMatchObject({ scanned: 8, withoutSnapshot: 8 });
    expect(Object.keys(await snapshots())).toHaveLength(8);

    // over the cap: the 1st, 4th (start of page 2), 6th and 8th (alone on page 3)
    const overIds = [ids[0]!, ids[3]!, ids[5]!, ids[7]!];
    await t.knex('user').whereIn('id', overIds).update({ u: CAP + 1000 });
    const queries: string[] = [];
    const onQuery = (q: { sql: string }) => void (/^update/i.test(q.sql) && queries.push(q.sql));
    t.knex.on('query', onQuery);
    const second = await run(small, { dryRun: false });
    t.knex.off('query', onQuery);
    expect(second.steps[0]!.count).toBe(4);
    expect(second.steps[0]!.data).toMatchObject({ scanned: 8, withoutSnapshot: 0, disabled: 4 });
    expect(second.steps[0]!.changes.map((c) => c.id)).toEqual(overIds);
    expect(queries.filter((q) => /update [`"]user[`"]/i.test(q))).toHaveLength(1);
    expect((await dump(t.knex, 'user')).filter((u) => u.enable === 0).map((u) => u.id)).toEqual(overIds);
  });

  it('splits the disabling UPDATE at disableBatchSize over-cap users, sampling the first ones in id order', async () => {
    const small = trafficCapStep({ ...DAILY_TRAFFIC_CAP, batchSize: 2, disableBatchSize: 3 });
    const ids: number[] = [];
    for (let i = 0; i < 7; i++) ids.push(await insertUser(t.knex, active({ d: 100 + i })));
    await run(small);
    const overIds = [ids[0]!, ids[1]!, ids[2]!, ids[4]!, ids[6]!];
    await t.knex('user').whereIn('id', overIds).update({ u: CAP + 1000 });
    const queries: string[] = [];
    const onQuery = (q: { sql: string }) => void (/^update/i.test(q.sql) && queries.push(q.sql));
    t.knex.on('query', onQuery);
    const second = await run(small, { dryRun: false, sampleSize: 4 });
    t.knex.off('query', onQuery);
    expect(second.steps[0]!.data).toMatchObject({ scanned: 7, withoutSnapshot: 0, disabled: 5 });
    expect(second.steps[0]!.changes.map((c) => c.id)).toEqual(overIds.slice(0, 4));
    expect(queries.filter((q) => /update [`"]user[`"]/i.test(q))).toHaveLength(2);
    expect((await dump(t.knex, 'user')).filter((u) => u.enable === 0).map((u) => u.id)).toEqual(overIds);
  });

  it('bounds the reported sample by the sample size but counts every disabled user', async () => {
    for (let i = 0; i < 4; i++) {
      const id = await insertUser(t.knex, active({ d: CAP + 1 }));
      await t.knex('spanel_traffic_snapshot').insert({ kind: 'traffic_lastday', user_id: id, total: 0, expires_at: T + 10 });
    }
    const settings = loadSettings({ env: { DATABASE_URL: t.url }, cwd: '/' }).settings;
    const r = await runCommand(
      { command: 'test cap', lockName: null, steps: [trafficCapStep({ ...DAILY_TRAFFIC_CAP, batchSize: 3 })], services: snapshotServices },
      { settings, log, database: t.db },
      { dryRun: false, force: false, now: NOW, operator: 'tester', sampleSize: 2 },
    );
    expect(r.steps[0]!.count).toBe(4);
    expect(r.steps[0]!.changes).toHaveLength(2);
  });

  it('a later step failing rolls the disabling back and leaves neither snapshots nor spool files', async () => {
    const id = await insertUser(t.knex, active({ d: CAP + 1 }));
    await t.knex('spanel_traffic_snapshot').insert({ kind: 'traffic_lastday', user_id: id, total: 0, expires_at: T + 10 });
    const users = await dump(t.knex, 'user');
    const snaps = await snapshots();
    const boom: Step = { name: 'boom', title: 'boom', run: async () => Promise.reject(new Error('later step failed')) };
    const r = await runCommand(
      { command: 'test cap', lockName: null, steps: [dailyCap, boom], services: snapshotServices },
      { settings: loadSettings({ env: { DATABASE_URL: t.url }, cwd: '/' }).settings, log, database: t.db },
      { dryRun: false, force: false, now: NOW, operator: 'tester' },
    );
    expect(r.exitCode).toBe(1);
    expect(await dump(t.knex, 'user')).toEqual(users);
    expect(await snapshots()).toEqual(snaps);
    expect(spoolDirs()).toEqual([]);
  });

  it('a dry run reports the same users, writes no snapshot and creates no spool file', async () => {
    const id = await insertUser(t.knex, active({ d: CAP + 1 }));
    const fresh = await insertUser(t.knex, active({ d: 5 }));
    await t.knex('spanel_traffic_snapshot').insert({ kind: 'traffic_lastday', user_id: id, total: 0, expires_at: T + 10 });
    const users = await dump(t.knex, 'user');
    const snaps = await snapshots();
    const spoolsBefore = spoolDirs();
    // Looks at the temporary directory while the run is still open (after the cap step).
    const seen: number[] = [];
    const probe: Step = { name: 'probe', title: 'probe', run: async () => (seen.push(spoolDirs().length), { count: 0, changes: [] }) };
    const withProbe = (dryRun: boolean) =>
      runCommand(
        { command: 'test cap', lockName: null, steps: [dailyCap, probe], services: snapshotServices },
        { settings: loadSettings({ env: { DATABASE_URL: t.url }, cwd: '/' }).settings, log, database: t.db },
        { dryRun, force: false, now: NOW, operator: 'tester' },
      );
    const dry = await withProbe(true);
    expect(dry.steps[0]!.count).toBe(1);
    expect(dry.steps[0]!.notes).toContain('snapshots not written (dry run)');
    expect(await dump(t.knex, 'user')).toEqual(users);
    expect(await snapshots()).toEqual(snaps);
    expect(spoolDirs()).toEqual(spoolsBefore);

    const real = await withProbe(false);
    expect(seen).toEqual([0, 1]); // the real run spooled to disk, the dry run did not
    expect(real.steps[0]!.changes).toEqual(dry.steps[0]!.changes);
    expect(real.steps[0]!.count).toBe(dry.steps[0]!.count);
    expect(Object.keys(await snapshots()).sort()).toEqual([`traffic_lastday:${fresh}`, `traffic_lastday:${id}`].sort());
    expect(spoolDirs()).toEqual(spoolsBefore);
  });
});
