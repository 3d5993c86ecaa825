import calculateSlot from 'cluster-key-slot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { GiB, insertUser } from '../helpers/fixtures.js';
import { call, role, slotOwners, startCluster, waitClusterOk, waitFor, type RedisProcesses } from '../helpers/redis-topology.js';

/** Private ports of this file; their cluster bus ports (+10000) are 43401-43406. */
const PORTS = [33401, 33402, 33403, 33404, 33405, 33406];
const NOW_ISO = '2026-11-24T18:05:00Z';
const T = new Date(NOW_ISO).getTime() / 1000;
const PREFIX = 'ssp:';
const USERS = 30;

/**
 * SPEC §3 on a real 6-node Redis Cluster (3 masters, 3 replicas): PHP key names spread over
 * every shard, so every MGET and write crosses slots; a CLUSTER FAILOVER between two runs.
 */
describe('daily and hourly on a Redis Cluster', () => {
  const t = useTestDatabase('mysql');
  let cluster: RedisProcesses | undefined;
  const env = () => ({ DATABASE_URL: t.url, REDIS_URL: `redis+cluster://127.0.0.1:${PORTS[0]},127.0.0.1:${PORTS[3]}`, REDIS_KEY_PREFIX: PREFIX });

  beforeAll(async () => {
    cluster = await startCluster(PORTS);
  }, 120_000);
  afterAll(async () => cluster?.stop());

  /** The master holding `key` now, per CLUSTER SLOTS. */
  const masterOf = async (key: string) => {
    const slot = calculateSlot(key);
    return (await slotOwners(PORTS[0]!)).find((r) => slot >= r.from && slot <= r.to)!.master;
  };
  /** Reads a key from the master that owns it: proves where it lives, under the PHP name. */
  const stored = async (key: string) => call(await masterOf(key), 'GET', key);
  const key = (id: number, kind: string) => `${PREFIX}user:${id}:${kind}`;

  /** USERS active users in group 2, and one user per master to push over the cap. */
  async function seed(kind: string): Promise<{ ids: number[]; onEachMaster: Map<number, number> }> {
    await t.knex('user').del();
    const ids: number[] = [];
    for (let i = 0; i < USERS; i++) ids.push(await insertUser(t.knex, { node_group: 2, t: T - 60, u: i, d: 1000 }));
    const onEachMaster = new Map<number, number>();
    for (const id of ids) {
      const m = await masterOf(key(id, kind));
      if (!onEachMaster.has(m)) onEachMaster.set(m, id);
    }
    expect(onEachMaster.size).toBe(3);
    return { ids, onEachMaster };
  }

  it('doctor reports the cluster and its slot coverage; redis:// at one node is refused with the right form', async () => {
    const ok = await runCli(['doctor', '--json'], env());
    const redis = ok.json().checks.filter((c: { check: string }) => c.check === 'redis');
    expect(redis).toEqual([
      { check: 'redis', level: 'ok', detail: expect.stringMatching(/^Redis Cluster: 3 masters, 6 nodes known, 16384\/16384 slots ok, version [\d.]+; snapshot keys "ssp:user:<id>:traffic_lastday\|traffic_lasthour"$/) },
    ]);
    const node = await runCli(['doctor', '--json'], { ...env(), REDIS_URL: `redis://127.0.0.1:${PORTS[0]}` });
    expect(node.code).toBe(1);
    expect(node.json().checks.find((c: { check: string }) => c.check === 'redis')).toMatchObject({ level: 'fail', detail: expect.stringContaining('one node of a Redis Cluster') });
  });

  it('daily: the first run records every shard, the second disables the user over 32 GiB on each master', async () => {
    const { ids, onEachMaster } = await seed('traffic_lastday');
    const renewed = await insertUser(t.knex, { class: 1, renew_time: T - 10, u: 5, d: 7, t: T - 60 });
    const first = await runCli(['job', 'daily', '--now', NOW_ISO, '--json'], env());
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.json().steps.find((s: { name: string }) => s.name === 'daily-traffic-cap')).toMatchObject({
      count: 0,
      data: { scanned: USERS, withoutSnapshot: USERS, snapshotStore: 'redis' },
    });
    expect(Number((await t.knex('user').where('id', renewed).first()).u)).toBe(12);
    for (const [i, id] of ids.entries()) expect(await stored(key(id, 'traffic_lastday'))).toBe(String(i + 1000));

    const over = [...onEachMaster.values()].sort((a, b) => a - b);
    await t.knex('user').whereIn('id', over).increment('d', 32 * GiB + 1);
    const second = await runCli(['job', 'daily', '--now', NOW_ISO, '--json'], env());
    expect(second.code).toBe(0);
    const step = second.json().steps.find((s: { name: string }) => s.name === 'daily-traffic-cap');
    expect(step).toMatchObject({ count: 3, data: { scanned: USERS, withoutSnapshot: 0, disabled: 3 } });
    expect((await t.knex('user').where('enable', 0).orderBy('id')).map((u: { id: number }) => u.id)).toEqual(over);
    for (const [i, id] of ids.entries()) {
      expect(await stored(key(id, 'traffic_lastday'))).toBe(String(i + 1000 + (over.includes(id) ? 32 * GiB + 1 : 0)));
    }
    const ttl = Number(await call(await masterOf(key(over[0]!, 'traffic_lastday')), 'TTL', key(over[0]!, 'traffic_lastday')));
    expect(ttl).toBeGreaterThan(86_000);
  });

  it('hourly across a CLUSTER FAILOVER between two runs: snapshots read from and written to the promoted replica', async () => {
    const { ids, onEachMaster } = await seed('traffic_lasthour');
    const first = await runCli(['job', 'hourly', '--now', NOW_ISO, '--json'], env());
    expect(first.code).toBe(0);
    expect(first.json().steps[0]).toMatchObject({ count: 0, data: { scanned: USERS, withoutSnapshot: USERS } });

    // Fail over the master of the first over-cap user's key to its replica.
    const [oldMaster, watched] = [...onEachMaster.entries()][0]!;
    const replica = Number(/^slave0:ip=[^,]+,port=(\d+)/m.exec(String(await call(oldMaster, 'INFO', 'replication')))![1]);
    await waitFor('the replica has caught up', 10_000, async () => /master_link_status:up/.test(String(await call(replica, 'INFO', 'replication'))));
    expect(await call(replica, 'CLUSTER', 'FAILOVER')).toBe('OK');
    await waitFor('the replica is master and the old master its replica', 20_000, async () => (await role(replica)) === 'master' && (await role(oldMaster)) === 'slave');
    await waitClusterOk(PORTS);
    // The node asked for CLUSTER SLOTS learns of the promotion by gossip, a moment after the two
    // nodes themselves: wait for it (bounded) rather than assume it.
    await waitFor('the first node names the promoted replica as the owner', 10_000, async () => (await masterOf(key(watched, 'traffic_lasthour'))) === replica);

    const over = [...onEachMaster.values()].sort((a, b) => a - b);
    await t.knex('user').whereIn('id', over).increment('d', 6 * GiB + 1);
    const second = await runCli(['job', 'hourly', '--now', NOW_ISO, '--json'], env());
    expect(second.code).toBe(0);
    expect(second.json().steps[0]).toMatchObject({ count: 3, data: { scanned: USERS, withoutSnapshot: 0, disabled: 3 } });
    expect((await t.knex('user').where('enable', 0).orderBy('id')).map((u: { id: number }) => u.id)).toEqual(over);
    expect(await call(replica, 'GET', key(watched, 'traffic_lasthour'))).toBe(String(ids.indexOf(watched) + 1000 + 6 * GiB + 1));
    for (const [i, id] of ids.entries()) {
      expect(await stored(key(id, 'traffic_lasthour'))).toBe(String(i + 1000 + (over.includes(id) ? 6 * GiB + 1 : 0)));
    }
  });

  it('redis:// at one cluster node: the cap step does not run and says to use redis+cluster://, the rest commits', async () => {
    await seed('traffic_lasthour');
    const r = await runCli(['job', 'hourly', '--now', NOW_ISO], { ...env(), REDIS_URL: `redis://127.0.0.1:${PORTS[0]}` });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^spanel: the database changes were committed, but these steps did not run: hourly-traffic-cap \(reading traffic_lasthour snapshots from Redis at redis:\/\/127\.0\.0\.1:33401 failed \((CROSSSLOT|MOVED)[^\n]*name its nodes as redis\+cluster:\/\/HOST:PORT/);
    expect(Number((await t.knex('user').where('enable', 0).count({ n: '*' }).first())!.n)).toBe(0);
  });
});
