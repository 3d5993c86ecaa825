import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadSettings } from '../../src/config/load.js';
import { openRedis } from '../../src/redis/connect.js';
import { RedisSnapshotStore, UnreachableSnapshotStore } from '../../src/snapshots/redis-store.js';
import { snapshotServices } from '../../src/snapshots/services.js';
import { SpoolDirectory } from '../../src/snapshots/spool.js';
import { SnapshotStoreError } from '../../src/snapshots/store.js';
import { TableSnapshotStore } from '../../src/snapshots/table-store.js';
import { Clock } from '../../src/time/clock.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';
import { dump } from '../helpers/fixtures.js';
import { useTestRedis } from '../helpers/redis.js';

const NOW = new Date('2026-11-24T18:00:00Z');
const T = NOW.getTime() / 1000;
const BIG = 2n ** 60n + 7n; // beyond JS floats: Redis and the spool must carry it exactly

describe('Redis snapshot store', () => {
  const r = useTestRedis();

  it('writes <prefix>user:<id>:<kind> with SET EX and reads them back with one MGET', async () => {
    const store = new RedisSnapshotStore(await openRedis(r.url), r.prefix);
    try {
      await store.write('traffic_lasthour', [{ userId: 7, total: 123n }, { userId: 8, total: BIG }], 4600);
      expect(await r.client.get(`${r.prefix}user:7:traffic_lasthour`)).toBe('123');
      const ttl = await r.client.ttl(`${r.prefix}user:8:traffic_lasthour`);
      expect(ttl).toBeGreaterThan(4500);
      expect(ttl).toBeLessThanOrEqual(4600);
      await r.client.set(`${r.prefix}user:9:traffic_lasthour`, 'not a number');
      const got = await store.read('traffic_lasthour', [7, 8, 9, 10]);
      expect([...got.entries()]).toEqual([[7, 123n], [8, BIG]]);
      expect((await store.read('traffic_lastday', [7])).size).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('fails a read with a SnapshotStoreError naming the kind, and a write by throwing', async () => {
    const conn = await openRedis('redis://127.0.0.1:6379/0');
    const store = new RedisSnapshotStore(conn, r.prefix);
    conn.client.disconnect();
    await expect(store.read('traffic_lastday', [1])).rejects.toThrow(SnapshotStoreError);
    await expect(store.read('traffic_lastday', [1])).rejects.toThrow(/^reading traffic_lastday snapshots from Redis at redis:\/\/127\.0\.0\.1:6379\/0 failed/);
    await expect(store.write('traffic_lastday', [{ userId: 1, total: 1n }], 10)).rejects.toThrow();
  });

  it('snapshotServices picks Redis when REDIS_URL is set; unreachable, it gives a store that fails fast', async () => {
    const deps = (env: Record<string, string>) => {
      const settings = loadSettings({ env: { DATABASE_URL: 'sqlite:/nonexistent', ...env }, cwd: '/' }).settings;
      return { db: null as never, dialect: null as never, settings, log: pino({ level: 'silent' }), clock: new Clock(NOW, 'UTC') };
    };
    const services = await snapshotServices(deps({ REDIS_URL: r.url }));
    expect(services.snapshotStore).toBeInstanceOf(RedisSnapshotStore);
    expect(() => services.snapshotStore!.ensureAvailable()).not.toThrow();
    await services.close();
    const started = Date.now();
    const down = await snapshotServices(deps({ REDIS_URL: 'redis://127.0.0.1:6390' }));
    expect(Date.now() - started).toBeLessThan(5000);
    expect(down.snapshotStore).toBeInstanceOf(UnreachableSnapshotStore);
    expect(() => down.snapshotStore!.ensureAvailable()).toThrow(SnapshotStoreError);
    expect(() => down.snapshotStore!.ensureAvailable()).toThrow(/^cannot reach Redis at redis:\/\/127\.0\.0\.1:6390/);
    await expect(down.snapshotStore!.read('traffic_lastday', [1], null as never)).rejects.toThrow(SnapshotStoreError);
    await down.close();
  });
});

// SQLite returns integers as JS numbers: the largest total it round-trips is 2^53 − 1 bytes (8 PiB).
const LARGE = BigInt(Number.MAX_SAFE_INTEGER);

describe.each(DIALECTS)('table snapshot store on %s', (dialect) => {
  const t = useTestDatabase(dialect);
  const store = (at = NOW) => new TableSnapshotStore(t.knex, new Clock(at, 'UTC'));
  const read = (s: TableSnapshotStore, kind: 'traffic_lastday' | 'traffic_lasthour', ids: number[]) =>
    t.knex.transaction((trx) => s.read(kind, ids, trx));

  it('upserts with expires_at = now + ttl, honours expiry, keeps kinds apart and prunes', async () => {
    await store().write('traffic_lastday', [{ userId: 1, total: 10n }, { userId: 2, total: LARGE }], 86_400);
    await store().write('traffic_lasthour', [{ userId: 1, total: 5n }], 4600);
    await store(new Date(NOW.getTime() + 1000)).write('traffic_lastday', [{ userId: 1, total: 11n }], 86_400);
    const rows = (await dump(t.knex, 'spanel_traffic_snapshot')).map((r) => [r.kind, r.user_id, String(r.total), r.expires_at]);
    expect(rows).toEqual([
      ['traffic_lastday', 1, '11', T + 1 + 86_400],
      ['traffic_lastday', 2, String(LARGE), T + 86_400],
      ['traffic_lasthour', 1, '5', T + 4600],
    ]);
    expect([...(await read(store(), 'traffic_lastday', [1, 2, 3])).entries()]).toEqual([[1, 11n], [2, LARGE]]);
    // expired at exactly expires_at, like a Redis TTL reaching zero
    const atExpiry = store(new Date((T + 4600) * 1000));
    expect((await read(atExpiry, 'traffic_lasthour', [1])).size).toBe(0);
    expect((await read(store(new Date((T + 4599) * 1000)), 'traffic_lasthour', [1])).size).toBe(1);
    await atExpiry.prune('traffic_lasthour');
    expect((await dump(t.knex, 'spanel_traffic_snapshot')).map((r) => r.kind)).toEqual(['traffic_lastday', 'traffic_lastday']);
    await t.knex('spanel_traffic_snapshot').del();
  });

  it('writes batches larger than one upsert statement', async () => {
    const batch = Array.from({ length: 2500 }, (_, i) => ({ userId: i + 1, total: BigInt(i) }));
    await store().write('traffic_lastday', batch, 86_400);
    const n = await t.knex('spanel_traffic_snapshot').count({ n: '*' }).first();
    expect(Number(n!.n)).toBe(2500);
    await t.knex('spanel_traffic_snapshot').del();
  });
});

describe('snapshot spool', () => {
  it('creates nothing until asked, round-trips records in batches, and removes everything on close', async () => {
    const dir = new SpoolDirectory();
    expect(dir.path).toBeNull();
    const spool = await dir.create('traffic_lastday');
    const records = Array.from({ length: 7 }, (_, i) => ({ userId: 1000 + i, total: i === 3 ? BIG : BigInt(i * 10) }));
    await spool.append(records.slice(0, 4));
    await spool.append(records.slice(4));
    expect(spool.count).toBe(7);
    const batches = [];
    for await (const b of spool.batches(3)) batches.push(b);
    expect(batches.map((b) => b.length)).toEqual([3, 3, 1]);
    expect(batches.flat()).toEqual(records);
    expect(existsSync(spool.path)).toBe(true);
    const path = dir.path!;
    await dir.close();
    expect(existsSync(path)).toBe(false);
  });

  it('discard removes the file', async () => {
    const dir = new SpoolDirectory();
    const spool = await dir.create('traffic_lasthour');
    await spool.append([{ userId: 1, total: 1n }]);
    await spool.discard();
    expect(existsSync(spool.path)).toBe(false);
    await dir.close();
  });
});

