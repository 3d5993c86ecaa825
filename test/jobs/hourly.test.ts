import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadSettings } from '../../src/config/load.js';
import { HOURLY_TRAFFIC_CAP } from '../../src/jobs/hourly/traffic-cap.js';
import { staleOrders } from '../../src/jobs/hourly/stale-orders.js';
import { jobSpec } from '../../src/jobs/registry.js';
import { trafficCapStep } from '../../src/jobs/steps/traffic-cap.js';
import { runCommand } from '../../src/runner/run.js';
import type { Step } from '../../src/runner/types.js';
import { snapshotServices } from '../../src/snapshots/services.js';
import { runCli } from '../helpers/cli.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';
import { dump, GiB, insertOrder, insertUser } from '../helpers/fixtures.js';
import { startPrivateRedis, useTestRedis, type PrivateRedis } from '../helpers/redis.js';

const log = pino({ level: 'silent' });
const NOW_ISO = '2026-11-24T18:05:00Z';
const NOW = new Date(NOW_ISO);
const T = NOW.getTime() / 1000;
const CAP = 6 * GiB;

/** A step that cuts the run's Redis connection (the store's client is private: reached at runtime). */
const dropRedis: Step = {
  name: 'drop-redis',
  title: 'Redis goes away',
  run: async (ctx) => {
    (ctx.services.snapshotStore as unknown as { redis: { disconnect(): void } }).redis.disconnect();
    return { count: 0, changes: [] };
  },
};

describe.each(DIALECTS)('hourly stale unpaid orders on %s', (dialect) => {
  const t = useTestDatabase(dialect);
  const run = (steps: Step[], env: Record<string, string> = {}) =>
    runCommand(
      { command: 'test hourly', lockName: null, steps },
      { settings: loadSettings({ env: { DATABASE_URL: t.url, ...env }, cwd: '/' }).settings, log, database: t.db },
      { dryRun: false, force: false, now: NOW, operator: 'tester' },
    );
  afterEach(async () => void (await t.knex('paylist').del()));

  it('marks unpaid orders older than UNPAID_ORDER_TIMEOUT expired (−1) and never deletes them', async () => {
    const stale = await insertOrder(t.knex, { status: 0, datetime: T - 3601 });
    const edge = await insertOrder(t.knex, { status: 0, datetime: T - 3600 });
    const paid = await insertOrder(t.knex, { status: 1, datetime: 0 });
    const expired = await insertOrder(t.knex, { status: -1, datetime: 0 });
    const before = await dump(t.knex, 'paylist');
    const r = await run([staleOrders]);
    expect(r.steps[0]!.count).toBe(1);
    expect(r.steps[0]!.changes).toEqual([{ table: 'paylist', id: stale, action: 'update', before: { status: 0 }, after: { status: -1 } }]);
    expect(await dump(t.knex, 'paylist')).toEqual(before.map((o) => (o.id === stale ? { ...o, status: -1 } : o)));
    void [edge, paid, expired];

    const none = await run([staleOrders]);
    expect(none.steps[0]!.count).toBe(0);
    const shorter = await run([staleOrders], { UNPAID_ORDER_TIMEOUT: '60' });
    expect(shorter.steps[0]!.changes.map((c) => c.id)).toEqual([edge]);
    expect((await dump(t.knex, 'paylist')).map((o) => o.status)).toEqual([-1, -1, 1, -1]);
  });
});

describe('hourly job with Redis (MariaDB)', () => {
  const t = useTestDatabase('mysql');
  const redis = useTestRedis();
  const env = () => ({ DATABASE_URL: t.url, REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix });
  const key = (id: number) => `${redis.prefix}user:${id}:traffic_lasthour`;
  const keys = async () => (await redis.client.keys(`${redis.prefix}*`)).sort();
  const active = (o: Record<string, unknown>) => ({ node_group: 2, t: T - 60, ...o });

  afterEach(async () => {
    await t.knex('user').del();
    await t.knex('paylist').del();
    const k = await redis.client.keys(`${redis.prefix}*`);
    if (k.length) await redis.client.del(...k);
  });

  it('first run records with TTL 4600, second disables only the user over 6 GiB', async () => {
    const over = await insertUser(t.knex, active({ u: 1, d: 2 }));
    const atCap = await insertUser(t.knex, active({ node_group: 3, u: 0, d: 10 }));
    const otherGroup = await insertUser(t.knex, active({ node_group: 4, d: 10 }));
    const stale = await insertUser(t.knex, active({ t: T - 3600, d: 10 }));
    const inWindow = await insertUser(t.knex, active({ t: T - 3599, d: 10 }));

    const first = await runCli(['job', 'hourly', '--now', NOW_ISO, '--json'], env());
    expect(first.code).toBe(0);
    const firstStep = first.json().steps[0];
    expect(firstStep).toMatchObject({ name: 'hourly-traffic-cap', count: 0, data: { scanned: 3, withoutSnapshot: 3, snapshotStore: 'redis' } });
    expect(await keys()).toEqual([key(over), key(atCap), key(inWindow)].sort());
    expect(await redis.client.mget(key(over), key(atCap), key(inWindow))).toEqual(['3', '10', '10']);
    for (const k of await keys()) {
      const ttl = await redis.client.ttl(k);
      expect(ttl).toBeGreaterThan(4500);
      expect(ttl).toBeLessThanOrEqual(4600);
    }

    await t.knex('user').where('id', over).update({ d: 2 + CAP + 1 });
    await t.knex('user').where('id', atCap).update({ d: 10 + CAP });
    const second = await runCli(['job', 'hourly', '--now', NOW_ISO, '--json'], env());
    expect(second.code).toBe(0);
    const warning = '20261125 02:05:00 hourly traffic over 6 GB: account disabled';
    expect(second.json().steps[0]).toMatchObject({
      count: 1,
      changes: [{ table: 'user', id: over, action: 'update', before: { enable: 1, warming: null }, after: { enable: 0, warming: warning } }],
    });
    const users = await dump(t.knex, 'user');
    expect(users.filter((u) => u.enable === 0).map((u) => [u.id, u.warming])).toEqual([[over, warning]]);
    expect(await redis.client.mget(key(over), key(atCap))).toEqual([String(3 + CAP + 1), String(10 + CAP)]);
    void [otherGroup, stale];
  });

  it('a dry run reports what the real run then does and leaves every row and key as it was', async () => {
    const over = await insertUser(t.knex, active({ d: CAP + 1 }));
    const fresh = await insertUser(t.knex, active({ d: 3 }));
    const order = await insertOrder(t.knex, { status: 0, datetime: T - 4000 });
    await redis.client.set(key(over), '0', 'EX', 4600);
    const before = { users: await dump(t.knex, 'user'), orders: await dump(t.knex, 'paylist'), keys: await keys() };
    const dry = await runCli(['job', 'hourly', '--now', NOW_ISO, '--json', '--dry-run'], env());
    expect(dry.code).toBe(0);
    expect({ users: await dump(t.knex, 'user'), orders: await dump(t.knex, 'paylist'), keys: await keys() }).toEqual(before);
    expect(await redis.client.get(key(over))).toBe('0');
    const steps = (r: typeof dry) => r.json().steps.map((s: { name: string; count: number; changes: unknown[] }) => [s.name, s.count, s.changes]);
    expect(steps(dry).map((s: unknown[]) => [s[0], s[1]])).toEqual([['hourly-traffic-cap', 1], ['stale-orders', 1]]);
    const real = await runCli(['job', 'hourly', '--now', NOW_ISO, '--json'], env());
    expect(steps(real)).toEqual(steps(dry));
    expect((await dump(t.knex, 'user')).map((u) => u.enable)).toEqual([0, 1]);
    expect((await dump(t.knex, 'paylist'))[0]).toMatchObject({ id: order, status: -1 });
    expect(await redis.client.mget(key(over), key(fresh))).toEqual([String(CAP + 1), '3']);
  });

  it('treats a missing or unparsable key as no snapshot', async () => {
    const id = await insertUser(t.knex, active({ d: CAP + 5 }));
    await redis.client.set(key(id), 'garbage');
    const r = await runCli(['job', 'hourly', '--now', NOW_ISO, '--json'], env());
    expect(r.json().steps[0]).toMatchObject({ count: 0, data: { withoutSnapshot: 1 } });
    expect(await redis.client.get(key(id))).toBe(String(CAP + 5));
  });

  it('an unreachable Redis costs only the cap step: orders still expire, partial, exit 1, one line', async () => {
    const id = await insertUser(t.knex, active({ d: CAP + 5 }));
    const order = await insertOrder(t.knex, { status: 0, datetime: 0 });
    const users = await dump(t.knex, 'user');
    const r = await runCli(['job', 'hourly', '--now', NOW_ISO], { ...env(), REDIS_URL: 'redis://:secret@127.0.0.1:6390' });
    expect(r.code).toBe(1);
    const message = r.stderr.trim();
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toMatch(
      /^spanel: the database changes were committed, but these steps did not run: hourly-traffic-cap \(cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:6390 \(/,
    );
    expect(message).not.toContain('secret');
    expect(r.stdout).toMatch(/1\. Hourly traffic cap\s+NOT RUN\n/);
    expect(r.stdout).toContain('committed after');
    expect(await dump(t.knex, 'user')).toEqual(users);
    expect((await t.knex('paylist').where('id', order).first()).status).toBe(-1);
    const run = await t.knex('spanel_run').orderBy('id', 'desc').first();
    expect(run).toMatchObject({ command: 'job hourly', outcome: 'partial' });
    expect(await keys()).toEqual([]);
    void id;
  });

  it('the dry run with Redis unreachable reports the same: cap step not run, partial, exit 1, nothing written', async () => {
    await insertUser(t.knex, active({ d: CAP + 5 }));
    await insertOrder(t.knex, { status: 0, datetime: 0 });
    const before = { users: await dump(t.knex, 'user'), orders: await dump(t.knex, 'paylist') };
    const r = await runCli(['job', 'hourly', '--now', NOW_ISO, '--dry-run', '--json'], { ...env(), REDIS_URL: 'redis://127.0.0.1:6390' });
    expect(r.code).toBe(1);
    const j = r.json();
    expect(j).toMatchObject({ dryRun: true, outcome: 'partial', exitCode: 1 });
    expect(j.error).toMatch(/^dry run: these steps could not run: hourly-traffic-cap \(cannot reach Redis at redis:\/\/127\.0\.0\.1:6390 /);
    expect(j.steps.map((s: { name: string; count: number; notRun?: string }) => [s.name, s.count, Boolean(s.notRun)])).toEqual([
      ['hourly-traffic-cap', 0, true],
      ['stale-orders', 1, false],
    ]);
    expect({ users: await dump(t.knex, 'user'), orders: await dump(t.knex, 'paylist') }).toEqual(before);
  });

  it('Redis failing during the scan undoes the cap step only: nobody disabled, no snapshot, the rest commits', async () => {
    const over = await insertUser(t.knex, active({ d: CAP + 5 }));
    const next = await insertUser(t.knex, active({ d: 1 }));
    await redis.client.set(key(over), '0', 'EX', 4600);
    const order = await insertOrder(t.knex, { status: 0, datetime: 0 });
    const spec = await jobSpec('hourly');
    // Pages of one user: the first page disables `over`, then the connection is cut before the second read.
    const cutAfterFirstRead: Step = {
      name: 'cut-after-first-read',
      title: 'Redis goes away after one read',
      run: async (ctx) => {
        const store = ctx.services.snapshotStore! as unknown as { redis: { disconnect(): void }; read: (...a: never[]) => Promise<unknown> };
        const read = store.read.bind(store);
        store.read = async (...a) => {
          const got = await read(...a);
          store.redis.disconnect();
          return got;
        };
        return { count: 0, changes: [] };
      },
    };
    const r = await runCommand(
      { ...spec, steps: [cutAfterFirstRead, trafficCapStep({ ...HOURLY_TRAFFIC_CAP, batchSize: 1 }), staleOrders] },
      { settings: loadSettings({ env: env(), cwd: '/' }).settings, log, database: t.db },
      { dryRun: false, force: false, now: NOW, operator: 'tester' },
    );
    expect(r).toMatchObject({ exitCode: 1, outcome: 'partial' });
    expect(r.steps.map((s) => [s.name, s.count, s.notRun ?? null])).toEqual([
      ['cut-after-first-read', 0, null],
      ['hourly-traffic-cap', 0, expect.stringMatching(/^reading traffic_lasthour snapshots from Redis at redis:\/\/127\.0\.0\.1:6379\/0 failed \(/)],
      ['stale-orders', 1, null],
    ]);
    expect(r.error).toMatch(/^the database changes were committed, but these steps did not run: hourly-traffic-cap \(reading traffic_lasthour/);
    expect(r.error).not.toContain('\n');
    expect((await dump(t.knex, 'user')).map((u) => [u.id, u.enable, u.warming])).toEqual([
      [over, 1, null],
      [next, 1, null],
    ]);
    expect((await t.knex('paylist').where('id', order).first()).status).toBe(-1);
    expect(await redis.client.get(key(over))).toBe('0');
    expect(await redis.client.get(key(next))).toBeNull();
    expect(await t.knex('spanel_run').where('id', r.runId!).first()).toMatchObject({ outcome: 'partial' });
  });

  it('a Redis failure after commit keeps the database changes and says which snapshots are missing', async () => {
    for (let i = 0; i < 3; i++) await insertUser(t.knex, active({ d: 1 }));
    const order = await insertOrder(t.knex, { status: 0, datetime: 0 });
    const spec = await jobSpec('hourly');
    // Reads succeed, then the connection is gone before the after-commit writes.
    const r = await runCommand(
      { ...spec, steps: [...spec.steps, dropRedis] },
      { settings: loadSettings({ env: env(), cwd: '/' }).settings, log, database: t.db },
      { dryRun: false, force: false, now: NOW, operator: 'tester' },
    );
    expect(r.outcome).toBe('partial');
    expect(r.exitCode).toBe(1);
    expect(r.missingEffects).toEqual([
      { label: 'hourly traffic cap snapshots', error: expect.stringMatching(/^traffic_lasthour snapshots for 3 users were not written \(/) },
    ]);
    expect(r.error).toContain('traffic_lasthour snapshots for 3 users were not written');
    expect((await t.knex('paylist').where('id', order).first()).status).toBe(-1);
    expect(await keys()).toEqual([]);
  });
});

/** The same failures with a real redis-server process that is shut down, not a cut client. */
describe('hourly job when its Redis server stops (MariaDB, private redis-server)', () => {
  const t = useTestDatabase('mysql');
  let server: PrivateRedis;
  const env = () => ({ DATABASE_URL: t.url, REDIS_URL: server.url, REDIS_KEY_PREFIX: 'p:' });
  const stopServer: Step = {
    name: 'stop-redis',
    title: 'redis-server stops',
    run: async () => {
      await server.stop();
      return { count: 0, changes: [] };
    },
  };
  const runSpec = async (steps: (all: Step[]) => Step[]) => {
    const spec = await jobSpec('hourly');
    return runCommand(
      { ...spec, steps: steps(spec.steps) },
      { settings: loadSettings({ env: env(), cwd: '/' }).settings, log, database: t.db },
      { dryRun: false, force: false, now: NOW, operator: 'tester' },
    );
  };

  beforeEach(async () => {
    server = await startPrivateRedis();
    await t.knex('user').del();
    await t.knex('paylist').del();
  });
  afterEach(async () => server.stop());

  it('stopped before the run: orders expire, the cap step does not run, exit 1 with one line, run partial', async () => {
    await insertUser(t.knex, { node_group: 2, t: T - 60, d: CAP + 5 });
    const order = await insertOrder(t.knex, { status: 0, datetime: 0 });
    const users = await dump(t.knex, 'user');
    await server.stop();
    const r = await runCli(['job', 'hourly', '--now', NOW_ISO], env());
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`spanel: the database changes were committed, but these steps did not run: hourly-traffic-cap (cannot reach Redis at redis://127.0.0.1:${server.port}`);
    expect(await dump(t.knex, 'user')).toEqual(users);
    expect((await t.knex('paylist').where('id', order).first()).status).toBe(-1);
    expect(await t.knex('spanel_run').orderBy('id', 'desc').first()).toMatchObject({ command: 'job hourly', outcome: 'partial' });
  });

  it('stopped before the scan reads it: the orders commit, the cap step does not run, exit 1', async () => {
    await insertUser(t.knex, { node_group: 2, t: T - 60, d: 1 });
    const order = await insertOrder(t.knex, { status: 0, datetime: 0 });
    const r = await runSpec(() => [staleOrders, stopServer, trafficCapStep(HOURLY_TRAFFIC_CAP)]);
    expect(r).toMatchObject({ exitCode: 1, outcome: 'partial' });
    expect(r.steps[2]!.notRun).toMatch(/^reading traffic_lasthour snapshots from Redis at redis:\/\/127\.0\.0\.1:\d+ failed/);
    expect((await t.knex('paylist').where('id', order).first()).status).toBe(-1);
  });

  it('stopped after the scan: the commit stands and the run says which snapshots are missing', async () => {
    for (let i = 0; i < 2; i++) await insertUser(t.knex, { node_group: 3, t: T - 60, d: 1 });
    const order = await insertOrder(t.knex, { status: 0, datetime: 0 });
    const r = await runSpec((all) => [...all, stopServer]);
    expect(r).toMatchObject({ exitCode: 1, outcome: 'partial' });
    expect(r.error).toContain('traffic_lasthour snapshots for 2 users were not written');
    expect((await t.knex('paylist').where('id', order).first()).status).toBe(-1);
    expect(await t.knex('spanel_run').where('id', r.runId!).first()).toMatchObject({ outcome: 'partial' });
  });
});
