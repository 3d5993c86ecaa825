import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRedis } from '../../src/redis/connect.js';
import { RedisSnapshotStore } from '../../src/snapshots/redis-store.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis.js';

const BIG = 2n ** 62n + 11n;
const KIND = 'traffic_lasthour' as const;

/** Values another tool may have left at snapshot keys, and what a read must make of each. */
async function seedOddValues(client: Redis, prefix: string): Promise<void> {
  const key = (id: number) => `${prefix}user:${id}:${KIND}`;
  await client.set(key(1), '0');
  await client.set(key(2), String(BIG));
  await client.set(key(3), ' 42 ');
  await client.set(key(4), '-7');
  await client.set(key(5), '12abc');
  await client.set(key(6), '');
  await client.set(key(7), '1,2');
  await client.hset(key(8), 'a', '1'); // another type: MGET reads none
  await client.set(key(9), '+3');
}
const EXPECTED: [number, bigint][] = [[1, 0n], [2, BIG], [3, 42n], [4, -7n]];
const IDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

async function roundTrip(url: string, prefix: string): Promise<{ read: [number, bigint][]; ttl: number; values: (string | null)[] }> {
  const store = new RedisSnapshotStore(await openRedis(url), prefix);
  const client = new Redis(url);
  try {
    await seedOddValues(client, prefix);
    const read = [...(await store.read(KIND, IDS)).entries()];
    const batch = Array.from({ length: 2500 }, (_, i) => ({ userId: 100 + i, total: BigInt(i) * 1_000_000_007n }));
    batch.push({ userId: 99, total: BIG });
    await store.write(KIND, batch, 4600);
    const values = await client.mget(`${prefix}user:100:${KIND}`, `${prefix}user:2599:${KIND}`, `${prefix}user:99:${KIND}`, `${prefix}user:98:${KIND}`);
    return { read, ttl: await client.ttl(`${prefix}user:2599:${KIND}`), values };
  } finally {
    await store.close();
    client.disconnect();
  }
}

const EXPECTED_VALUES = ['0', String(2499n * 1_000_000_007n), String(BIG), null];

function expectStoredAsMgetAndSetWould(r: Awaited<ReturnType<typeof roundTrip>>): void {
  expect(r.read).toEqual(EXPECTED);
  expect(r.values).toEqual(EXPECTED_VALUES);
  expect(r.ttl).toBeGreaterThan(4500);
}

describe('snapshots through scripts, and through commands where scripts are refused', () => {
  let plain: PrivateRedis;
  let renamed: PrivateRedis;
  let acl: PrivateRedis;

  beforeAll(async () => {
    plain = await startPrivateRedis();
    renamed = await startPrivateRedis(['--rename-command', 'EVAL', '', '--rename-command', 'EVALSHA', '']);
    acl = await startPrivateRedis();
    const admin = new Redis(acl.url);
    await admin.call('ACL', 'SETUSER', 'noscripts', 'on', '>pw', '~*', '+@all', '-@scripting');
    admin.disconnect();
  });
  afterAll(async () => {
    await plain?.stop();
    await renamed?.stop();
    await acl?.stop();
  });

  it('a server that runs scripts: values read as MGET would, 2 501 written with their TTL, by script calls only', async () => {
    expectStoredAsMgetAndSetWould(await roundTrip(plain.url, 'spanel:'));
    const stats = await commandCalls(plain.url);
    // Two scripts (read, write), each first sent as EVALSHA to a server that does not know it yet.
    expect([stats.evalsha, stats.eval]).toEqual([2, 2]);
  });

  it('a server without EVAL/EVALSHA: the same reads and writes by MGET and SET pipelines', async () => {
    expectStoredAsMgetAndSetWould(await roundTrip(renamed.url, 'spanel:'));
    const stats = await commandCalls(renamed.url);
    expect(stats.mget).toBe(2); // the store's read and the test's check
    expect(stats.set).toBe(2501 + 8); // one SET EX per snapshot, plus the seeded values
  });

  it('a user whose ACL denies @scripting (NOPERM): the same', async () => {
    const url = acl.url.replace('redis://', 'redis://noscripts:pw@');
    expectStoredAsMgetAndSetWould(await roundTrip(url, 'spanel:'));
  });

  it('the server forgetting the script (SCRIPT FLUSH) between calls changes nothing', async () => {
    const store = new RedisSnapshotStore(await openRedis(plain.url), 'flush:');
    const admin = new Redis(plain.url);
    try {
      await store.write(KIND, [{ userId: 5, total: 5n }], 100);
      await admin.call('SCRIPT', 'FLUSH');
      await store.write(KIND, [{ userId: 6, total: 6n }], 100);
      await admin.call('SCRIPT', 'FLUSH');
      expect([...(await store.read(KIND, [5, 6])).entries()]).toEqual([[5, 5n], [6, 6n]]);
    } finally {
      await store.close();
      admin.disconnect();
    }
  });
});

/** Calls per command on a private server (INFO commandstats), to see which path a store took. */
async function commandCalls(url: string): Promise<Record<string, number>> {
  const client = new Redis(url);
  try {
    const info = await client.info('commandstats');
    return Object.fromEntries([...info.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
  } finally {
    client.disconnect();
  }
}
