import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadSettings } from '../../src/config/load.js';
import { jobSpec } from '../../src/jobs/registry.js';
import { runCommand } from '../../src/runner/run.js';
import type { Step } from '../../src/runner/types.js';
import { runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { GiB, insertOrder } from '../helpers/fixtures.js';
import { call, role, startSentinelGroup, waitFor, type SentinelGroup } from '../helpers/redis-topology.js';

/** Private ports of this file: master, replica, two sentinels. */
const PORTS = { master: 33411, replica: 33412, sentinels: [33421, 33422] };
const NOW_ISO = '2026-11-24T18:05:00Z';
const NOW = new Date(NOW_ISO);
const T = NOW.getTime() / 1000;
const PREFIX = 'ssp:';
const log = pino({ level: 'silent' });

/**
 * SPEC §3 behind Sentinel: the master found through the sentinels, a failover between two runs
 * followed, and one during the after-commit writes loses no snapshot.
 */
describe('hourly behind Redis Sentinel', () => {
  const t = useTestDatabase('mysql');
  let group: SentinelGroup | undefined;
  const env = () => ({ DATABASE_URL: t.url, REDIS_URL: group!.url, REDIS_KEY_PREFIX: PREFIX });
  const key = (id: number) => `${PREFIX}user:${id}:traffic_lasthour`;

  beforeAll(async () => {
    group = await startSentinelGroup(PORTS);
  }, 60_000);
  afterAll(async () => group?.processes.stop());

  /** `n` active users in group 2, total traffic id-dependent: 1000 + index. */
  async function seed(n: number): Promise<number[]> {
    await t.knex('user').del();
    const rows = Array.from({ length: n }, (_, i) => ({
      email: `s${i}@example.com`, user_name: 's', pass: 'x', passwd: 'x', enable: 1, t: T - 60, u: i, d: 1000, node_group: 2,
      transfer_enable: 0, money: '0.00', class_expire: '2099-01-01 00:00:00', expire_in: '2099-01-01 00:00:00', reg_date: '2026-01-01 00:00:00',
    }));
    for (let i = 0; i < rows.length; i += 500) await t.knex('user').insert(rows.slice(i, i + 500));
    return (await t.knex('user').orderBy('id').select('id')).map((r: { id: number }) => r.id);
  }

  /** Every user's key on the master the sentinels name, as `expected(index, id)` says. */
  async function expectKeysOnMaster(ids: number[], expected: (i: number, id: number) => string): Promise<void> {
    const master = await group!.currentMaster();
    const got = (await call(master, 'MGET', ...ids.map(key))) as (string | null)[];
    const wrong = ids.filter((id, i) => got[i] !== expected(i, id));
    expect(wrong.length, `keys missing or stale on master ${master}, e.g. user ${wrong[0]}`).toBe(0);
  }

  /** Waits until the sentinels name `port` as master and the other server replicates from it. */
  async function settledOn(port: number): Promise<void> {
    const other = port === PORTS.master ? PORTS.replica : PORTS.master;
    await waitFor(`the sentinels name ${port} as master and ${other} is its replica in sync`, 30_000, async () => {
      if ((await group!.currentMaster()) !== port || (await role(port)) !== 'master' || (await role(other)) !== 'slave') return false;
      return /master_link_status:up/.test(String(await call(other, 'INFO', 'replication')));
    });
  }

  it('doctor finds the master through the sentinels; a Sentinel port behind redis:// is named as such', async () => {
    const ok = await runCli(['doctor', '--json'], env());
    expect(ok.json().checks.filter((c: { check: string }) => c.check === 'redis')).toEqual([
      { check: 'redis', level: 'ok', detail: `2 of 2 sentinels name 127.0.0.1:${PORTS.master} as master "spanelmaster"` },
      { check: 'redis', level: 'ok', detail: expect.stringMatching(new RegExp(`^master 127\\.0\\.0\\.1:${PORTS.master} found through the sentinels, version [\\d.]+; snapshot keys`)) },
    ]);
    const wrong = await runCli(['doctor', '--json'], { ...env(), REDIS_URL: `redis://127.0.0.1:${PORTS.sentinels[0]}` });
    expect(wrong.code).toBe(1);
    expect(wrong.json().checks.find((c: { check: string }) => c.check === 'redis')).toMatchObject({
      level: 'fail',
      detail: expect.stringMatching(/^REDIS_URL points at a Sentinel.*redis\+sentinel:\/\/HOST:PORT/),
    });

    await seed(3);
    const order = await insertOrder(t.knex, { status: 0, datetime: 0 });
    const job = await runCli(['job', 'hourly', '--now', NOW_ISO], { ...env(), REDIS_URL: `redis://127.0.0.1:${PORTS.sentinels[0]}` });
    expect(job.code).toBe(1);
    expect(job.stderr).toContain("ERR unknown command 'mget'");
    expect(job.stderr).toContain("is REDIS_URL a Sentinel's port? Name it redis+sentinel://HOST:PORT/MASTER_NAME");
    expect((await t.knex('paylist').where('id', order).first()).status).toBe(-1);
    await t.knex('paylist').del();
  });

  it('a Sentinel failover between two runs: the second run reads and writes the new master', async () => {
    const ids = await seed(20);
    const first = await runCli(['job', 'hourly', '--now', NOW_ISO, '--json'], env());
    expect(first.code).toBe(0);
    expect(first.json().steps[0]).toMatchObject({ count: 0, data: { scanned: 20, withoutSnapshot: 20 } });
    await expectKeysOnMaster(ids, (i) => String(1000 + i));

    await waitFor('the replica has the snapshots', 10_000, async () => (await call(PORTS.replica, 'GET', key(ids[19]!))) === '1019');
    expect(await call(PORTS.sentinels[0]!, 'SENTINEL', 'FAILOVER', 'spanelmaster')).toBe('OK');
    await settledOn(PORTS.replica);

    const over = [ids[3]!, ids[11]!];
    await t.knex('user').whereIn('id', over).increment('d', 6 * GiB + 1);
    const second = await runCli(['job', 'hourly', '--now', NOW_ISO, '--json'], env());
    expect(second.code).toBe(0);
    expect(second.json().steps[0]).toMatchObject({ count: 2, data: { scanned: 20, withoutSnapshot: 0, disabled: 2 } });
    expect((await t.knex('user').where('enable', 0).orderBy('id')).map((u: { id: number }) => u.id)).toEqual(over);
    await expectKeysOnMaster(ids, (i, id) => String(1000 + i + (over.includes(id) ? 6 * GiB + 1 : 0)));
  });

  it('a Sentinel failover during the after-commit writes: every snapshot ends up on the new master', async () => {
    const before = await group!.currentMaster();
    const after = before === PORTS.master ? PORTS.replica : PORTS.master;
    await settledOn(before);
    const ids = await seed(3000);
    // Registered before the cap step's, so this effect runs first: the failover starts, and the
    // snapshot writes begin while the sentinels promote the replica and demote the master.
    const failover: Step = {
      name: 'failover',
      title: 'Sentinel failover after commit',
      run: async (ctx) => {
        ctx.afterCommit({
          label: 'failover',
          run: async () => {
            await call(PORTS.sentinels[0]!, 'SENTINEL', 'FAILOVER', 'spanelmaster');
            await waitFor(`${after} is promoted`, 20_000, async () => (await role(after)) === 'master');
          },
        });
        return { count: 0, changes: [] };
      },
    };
    const spec = await jobSpec('hourly');
    const r = await runCommand(
      { ...spec, steps: [failover, ...spec.steps] },
      { settings: loadSettings({ env: env(), cwd: '/' }).settings, log, database: t.db },
      { dryRun: false, force: false, now: NOW, operator: 'tester' },
    );
    expect(r.error).toBeNull();
    expect(r).toMatchObject({ outcome: 'success', exitCode: 0, missingEffects: [] });
    expect(r.steps[1]).toMatchObject({ name: 'hourly-traffic-cap', data: { scanned: 3000, withoutSnapshot: 3000 } });
    await settledOn(after);
    await expectKeysOnMaster(ids, (i) => String(1000 + i));
  });
});
