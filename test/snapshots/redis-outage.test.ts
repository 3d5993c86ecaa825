import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadSettings } from '../../src/config/load.js';
import { DAILY_TRAFFIC_CAP } from '../../src/jobs/daily/traffic-cap.js';
import { jobSpec } from '../../src/jobs/registry.js';
import { trafficCapStep } from '../../src/jobs/steps/traffic-cap.js';
import { runCommand } from '../../src/runner/run.js';
import type { Step } from '../../src/runner/types.js';
import { SpoolDirectory, sweepLeftovers } from '../../src/snapshots/spool.js';
import { BIN, runCli, spawnCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { dump, GiB, insertNode, insertUser } from '../helpers/fixtures.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis.js';

const log = pino({ level: 'silent' });
const NOW_ISO = '2026-11-24T18:05:00Z';
const NOW = new Date(NOW_ISO);
const T = NOW.getTime() / 1000;

/**
 * SPEC §3: a Redis outage costs only the cap steps. Every database-only step of `job daily`
 * commits, nobody is disabled on missing data, no snapshot is written, the run is `partial`.
 */
describe('job daily when its Redis server is down (MariaDB, private redis-server)', () => {
  const t = useTestDatabase('mysql');
  let server: PrivateRedis;
  const env = () => ({ DATABASE_URL: t.url, REDIS_URL: server.url, REDIS_KEY_PREFIX: 'ssp:' });
  let ids: { renew: number; capped: number; unused: number; expired: number; node: number };

  beforeEach(async () => {
    server = await startPrivateRedis();
    await t.knex('user').del();
    await t.knex('ss_node').del();
    ids = {
      renew: await insertUser(t.knex, { class: 2, renew_time: T - 10, u: 5, d: 7, t: T - 60 }),
      // Over any cap if it had a snapshot of 0: it must stay enabled when the snapshots cannot be read.
      capped: await insertUser(t.knex, { node_group: 2, t: T - 60, d: 40 * GiB }),
      unused: await insertUser(t.knex, { id: 100, class: 1, renew_time: T + 86_400, t: T - 40 * 86_400 }),
      expired: await insertUser(t.knex, { class: 3, class_expire: '2026-11-01 00:00:00', renew_time: T + 86_400, t: T - 60 }),
      node: await insertNode(t.knex, { type: 1, node_heartbeat: T - 10_000 }),
    };
  });
  afterEach(async () => server.stop());

  /** What every database-only step of daily must have committed. */
  async function expectDatabaseStepsCommitted(): Promise<void> {
    const users = new Map((await dump(t.knex, 'user')).map((u) => [u.id, u]));
    expect(users.get(ids.renew)).toMatchObject({ u: 12, d: 0, transfer_limit: 20 * GiB });
    expect(users.get(ids.unused)).toMatchObject({ enable: 0 });
    expect(users.get(ids.expired)).toMatchObject({ class: 0 });
    expect(users.get(ids.capped)).toMatchObject({ enable: 1, warming: null });
    expect((await dump(t.knex, 'ss_node'))[0]).toMatchObject({ id: ids.node, type: 0 });
  }

  it('doctor: a reachable master is ok, a stopped server a FAIL line', async () => {
    const redisLines = async () => (await runCli(['doctor', '--json'], env())).json().checks.filter((c: { check: string }) => c.check === 'redis');
    expect(await redisLines()).toEqual([
      { check: 'redis', level: 'ok', detail: expect.stringMatching(/^reachable, version [\d.]+; snapshot keys "ssp:user:<id>:traffic_lastday\|traffic_lasthour"$/) },
    ]);
    await server.stop();
    expect(await redisLines()).toEqual([{ check: 'redis', level: 'fail', detail: expect.stringMatching(/^cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(/) }]);
  });

  it('stopped before the run: renewal and every other step commit, the cap step does not run, exit 1', async () => {
    await server.stop();
    const r = await runCli(['job', 'daily', '--now', NOW_ISO], env());
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      new RegExp(`^spanel: the database changes were committed, but these steps did not run: daily-traffic-cap \\(cannot reach Redis at redis://127\\.0\\.0\\.1:${server.port} \\(`),
    );
    expect(r.stdout).toMatch(/3\. Daily traffic cap\s+NOT RUN\n\s+cannot reach Redis .*: nobody was disabled and no snapshot was written\n/);
    expect(r.stdout).toMatch(/committed after [\d.]+ s, but some steps did not run \(see below\)/);
    await expectDatabaseStepsCommitted();
    const run = await t.knex('spanel_run').orderBy('id', 'desc').first();
    expect(run).toMatchObject({ command: 'job daily', outcome: 'partial' });
    expect(run.error).toMatch(/^the database changes were committed, but these steps did not run: daily-traffic-cap/);
  });

  it('the dry run with Redis stopped reports the same and changes nothing', async () => {
    await server.stop();
    const before = { users: await dump(t.knex, 'user'), nodes: await dump(t.knex, 'ss_node') };
    const r = await runCli(['job', 'daily', '--now', NOW_ISO, '--dry-run', '--json'], env());
    expect(r.code).toBe(1);
    const j = r.json();
    expect(j).toMatchObject({ dryRun: true, outcome: 'partial', exitCode: 1 });
    expect(j.error).toMatch(/^dry run: these steps could not run: daily-traffic-cap \(cannot reach Redis/);
    expect(j.steps.map((s: { name: string; count: number; notRun?: string }) => [s.name, s.count, Boolean(s.notRun)])).toEqual([
      ['traffic-renewal', 1, false],
      ['node-heartbeat', 1, false],
      ['daily-traffic-cap', 0, true],
      ['unused-accounts', 1, false],
      ['daily-statistics', expect.any(Number), false],
      ['class-expiry', 1, false],
    ]);
    expect({ users: await dump(t.knex, 'user'), nodes: await dump(t.knex, 'ss_node') }).toEqual(before);
  });

  it('stopped during the run, between renewal and the cap step: the same, and no snapshot', async () => {
    const stop: Step = { name: 'stop-redis', title: 'redis-server stops', run: async () => (await server.stop(), { count: 0, changes: [] }) };
    const spec = await jobSpec('daily');
    const r = await runCommand(
      { ...spec, steps: [spec.steps[0]!, stop, ...spec.steps.slice(1)] },
      { settings: loadSettings({ env: env(), cwd: '/' }).settings, log, database: t.db },
      { dryRun: false, force: false, now: NOW, operator: 'tester' },
    );
    expect(r).toMatchObject({ outcome: 'partial', exitCode: 1, missingEffects: [] });
    expect(r.steps.find((s) => s.name === 'daily-traffic-cap')!.notRun).toMatch(/^reading traffic_lastday snapshots from Redis at redis:\/\/127\.0\.0\.1:\d+ failed \(/);
    await expectDatabaseStepsCommitted();
  });

  it('stopped in the middle of the scan: users disabled on earlier pages are enabled again (savepoint)', async () => {
    const client = await import('ioredis').then(({ Redis }) => new Redis(server.url));
    await client.set(`ssp:user:${ids.capped}:traffic_lastday`, '0', 'EX', 86_400);
    client.disconnect();
    await insertUser(t.knex, { node_group: 2, t: T - 60, d: 1 }); // the second page, never read
    // Pages of one user: the first read disables `capped`, then the server goes away.
    const stopAfterFirstRead: Step = {
      name: 'stop-after-first-read',
      title: 'redis-server stops after one read',
      run: async (ctx) => {
        const store = ctx.services.snapshotStore! as unknown as { read: (...a: never[]) => Promise<unknown> };
        const read = store.read.bind(store);
        store.read = async (...a) => {
          const got = await read(...a);
          await server.stop();
          return got;
        };
        return { count: 0, changes: [] };
      },
    };
    const spec = await jobSpec('daily');
    const steps = spec.steps.map((s) => (s.name === 'daily-traffic-cap' ? trafficCapStep({ ...DAILY_TRAFFIC_CAP, batchSize: 1 }) : s));
    const r = await runCommand(
      { ...spec, steps: [stopAfterFirstRead, ...steps] },
      { settings: loadSettings({ env: env(), cwd: '/' }).settings, log, database: t.db },
      { dryRun: false, force: false, now: NOW, operator: 'tester' },
    );
    expect(r).toMatchObject({ outcome: 'partial', exitCode: 1 });
    expect(r.steps.find((s) => s.name === 'daily-traffic-cap')).toMatchObject({ count: 0, changes: [], notRun: expect.stringMatching(/^reading traffic_lastday/) });
    await expectDatabaseStepsCommitted();
  });
});

/** SPEC §3 / issue 13 item 5: spool files live somewhere that exists and never outlive the run. */
describe('snapshot spool files', () => {
  const t = useTestDatabase('mysql');
  let server: PrivateRedis;
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'spanel-spooltest-'));
    dirs.push(d);
    return d;
  };
  const env = (tmpDir: string) => ({ DATABASE_URL: t.url, REDIS_URL: server.url, REDIS_KEY_PREFIX: 'p:', TMPDIR: tmpDir });
  const spools = (dir: string) => readdirSync(dir).filter((n) => n.startsWith('spanel-snapshots-'));

  beforeEach(async () => {
    server = await startPrivateRedis();
    await t.knex('user').del();
    // A run killed by an earlier test keeps its lease until it lapses (SPANEL_LOCK_LEASE).
    await t.knex('spanel_lock').del();
    for (let i = 0; i < 3; i++) await insertUser(t.knex, { node_group: 2, t: T - 60, d: i });
  });
  afterEach(async () => server.stop());
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('a run killed with SIGKILL during the snapshot writes leaves its spool; the next run sweeps it', async () => {
    const dir = tmp();
    // Writes wait while reads go on: the run commits, then blocks in its SET EX pipeline.
    const { Redis } = await import('ioredis');
    const admin = new Redis(server.url);
    await admin.call('CLIENT', 'PAUSE', '20000', 'WRITE');
    const child = spawn(process.execPath, [BIN, 'job', 'hourly', '--now', NOW_ISO], {
      env: { ...process.env, LOG_LEVEL: 'silent', ...env(dir) },
      stdio: 'ignore',
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      await waitUntil('the run has a spool file', 20_000, async () => spools(dir).some((d) => readdirSync(join(dir, d)).length > 0));
      // The writes cannot proceed: give the run time to reach them (it cannot get past them).
      await new Promise((r) => setTimeout(r, 500));
      child.kill('SIGKILL');
      await exited;
    } finally {
      child.kill('SIGKILL');
      await admin.call('CLIENT', 'UNPAUSE');
      admin.disconnect();
    }
    const [left] = spools(dir);
    expect(left).toMatch(new RegExp(`^spanel-snapshots-${child.pid}-`));
    expect(readdirSync(join(dir, left!))).toEqual(['traffic_lasthour-0.bin']);

    // The killed run's lease lapses after SPANEL_LOCK_LEASE (test/cluster/galera-lease.test.ts
    // waits for that); here it is ended at once so the next run can start.
    await t.knex('spanel_lock').update({ expires_at: 0 });
    const next = await spawnCli(['job', 'hourly', '--now', NOW_ISO], env(dir));
    expect(next.code, next.stderr).toBe(0);
    expect(spools(dir)).toEqual([]);
  });

  it('SIGTERM during the snapshot writes: the run finishes its writes and removes its spool', async () => {
    const dir = tmp();
    const { Redis } = await import('ioredis');
    const admin = new Redis(server.url);
    await admin.call('CLIENT', 'PAUSE', '1500', 'WRITE');
    admin.disconnect();
    const child = spawn(process.execPath, [BIN, 'job', 'hourly', '--now', NOW_ISO], { env: { ...process.env, LOG_LEVEL: 'silent', ...env(dir) }, stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitUntil('the spool exists', 20_000, async () => spools(dir).length === 1);
    child.kill('SIGTERM');
    await exited;
    expect(spools(dir)).toEqual([]);
  });

  it('a TMPDIR that does not exist: the spool falls back to the system temporary directory, and the run succeeds', async () => {
    const missing = join(tmp(), 'gone', 'deeper');
    const r = await spawnCli(['job', 'hourly', '--now', NOW_ISO, '--json'], env(missing));
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().steps[0]).toMatchObject({ data: { scanned: 3, withoutSnapshot: 3 } });
    expect(existsSync(missing)).toBe(false);
  });

  it('sweepLeftovers removes dead runs’ directories (and pid-less old ones), never a live run’s', async () => {
    const dir = tmp();
    const live = new SpoolDirectory([dir]);
    await live.create('traffic_lastday');
    const dead = join(dir, 'spanel-snapshots-999999999-abc123');
    const mine = live.path!;
    const unrelated = join(dir, 'something-else');
    const oldStyleFresh = join(dir, 'spanel-snapshots-Xy12ab');
    for (const d of [dead, unrelated, oldStyleFresh]) mkdirSync(d);
    expect(await sweepLeftovers(dir)).toEqual([dead]);
    expect(readdirSync(dir).sort()).toEqual([mine.slice(dir.length + 1), 'something-else', 'spanel-snapshots-Xy12ab'].sort());
    await live.close();
    expect(existsSync(mine)).toBe(false);
  });

});

async function waitUntil(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
