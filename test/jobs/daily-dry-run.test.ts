import { afterEach, describe, expect, it } from 'vitest';
import type { RowChange } from '../../src/runner/types.js';
import { runCli } from '../helpers/cli.js';
import { DIALECTS, useTestDatabase, type DialectName } from '../helpers/db.js';
import { dump, GiB, insertNode, insertUser, normaliseValue } from '../helpers/fixtures.js';
import { useTestRedis } from '../helpers/redis.js';

const NOW_ISO = '2026-11-24T18:00:00Z'; // 2026-11-25 02:00:00 in Asia/Shanghai
const T = Date.parse(NOW_ISO) / 1000;
const TABLES = ['user', 'ss_node', 'paylist', 'spanel_traffic_snapshot', 'spanel_run'];

type Store = 'table' | 'redis';
const CASES: [DialectName, Store][] = [...DIALECTS.map((d) => [d, 'table'] as [DialectName, Store]), ['mysql', 'redis']];

describe.each(CASES)('daily job dry run on %s with the %s snapshot store', (dialect, store) => {
  const t = useTestDatabase(dialect);
  const redis = useTestRedis();
  const env = () => ({
    DATABASE_URL: t.url,
    SPANEL_TIMEZONE: 'Asia/Shanghai',
    ...(store === 'redis' ? { REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix } : {}),
  });
  const daily = (...flags: string[]) => runCli(['job', 'daily', '--now', NOW_ISO, '--json', ...flags], env());

  afterEach(async () => {
    for (const table of ['user', 'ss_node', 'spanel_traffic_snapshot']) await t.knex(table).del();
    const keys = await redis.client.keys(`${redis.prefix}*`);
    if (keys.length) await redis.client.del(...keys);
  });

  /** One row for every daily step, each touched by that step only. */
  async function fixture() {
    const later = T + 86_400;
    const ids = {
      renewal: await insertUser(t.knex, { class: 2, u: 3 * GiB, d: 4 * GiB, renew_time: T - 5, t: T - 3 * 86_400 }),
      heartbeat: await insertNode(t.knex, { type: 1, node_heartbeat: T - 8000 }),
      capped: await insertUser(t.knex, { node_group: 3, t: T - 60, u: 0, d: 40 * GiB }),
      recorded: await insertUser(t.knex, { node_group: 3, t: T - 60, u: 1, d: 2 }),
      unused: await insertUser(t.knex, { id: 50, class: 1, t: T - 40 * 86_400, renew_time: later }),
      statistics: await insertUser(t.knex, { id: 51, class: 1, t: T - 60, renew_time: later, d: 5 * GiB, rss_count: 4, rss_ips_count: 2 }),
      expiry: await insertUser(t.knex, { id: 52, class: 1, t: T - 3 * 86_400, renew_time: later, class_expire: '2026-11-25 01:00:00' }),
      untouched: await insertUser(t.knex, { id: 53, class: 1, t: T - 3 * 86_400, renew_time: later, class_expire: '2026-11-25 03:00:00' }),
    };
    // The capped user's previous snapshot: 40 GiB − 0 > 32 GiB.
    if (store === 'redis') await redis.client.set(`${redis.prefix}user:${ids.capped}:traffic_lastday`, '0', 'EX', 86_400);
    else await t.knex('spanel_traffic_snapshot').insert({ kind: 'traffic_lastday', user_id: ids.capped, total: 0, expires_at: T + 3600 });
    return ids;
  }

  async function state() {
    const tables = Object.fromEntries(await Promise.all(TABLES.map(async (n) => [n, await dump(t.knex, n)] as const)));
    const keys = (await redis.client.keys(`${redis.prefix}*`)).sort();
    const values = keys.length ? await redis.client.mget(...keys) : [];
    return { tables, redis: Object.fromEntries(keys.map((k, i) => [k, values[i]])) };
  }

  it('reports exactly what the real run then changes, and writes nothing anywhere', async () => {
    const ids = await fixture();
    const before = await state();

    const dry = await daily('--dry-run');
    expect(dry.code).toBe(0);
    const report = dry.json();
    expect(report.dryRun).toBe(true);
    expect(report.runId).toBeNull();
    expect(await state()).toEqual(before);
    if (store === 'redis') {
      const ttl = await redis.client.ttl(`${redis.prefix}user:${ids.capped}:traffic_lastday`);
      expect(ttl).toBeGreaterThan(86_000);
    }

    const counts = report.steps.map((s: { name: string; count: number }) => [s.name, s.count]);
    expect(counts).toEqual([
      ['traffic-renewal', 1],
      ['node-heartbeat', 1],
      ['daily-traffic-cap', 1],
      ['unused-accounts', 1],
      ['daily-statistics', 1],
      ['class-expiry', 1],
    ]);
    const dryChanges: RowChange[] = report.steps.flatMap((s: { changes: RowChange[] }) => s.changes);
    expect(dryChanges.map((c) => `${c.table}#${c.id}`)).toEqual(
      [ids.renewal, ids.heartbeat, ids.capped, ids.unused, ids.statistics, ids.expiry].map(
        (id, i) => `${i === 1 ? 'ss_node' : 'user'}#${id}`,
      ),
    );

    const real = await daily();
    expect(real.code).toBe(0);
    const realReport = real.json();
    expect(realReport.steps.map((s: { name: string; count: number }) => [s.name, s.count])).toEqual(counts);
    expect(realReport.steps.map((s: { changes: RowChange[] }) => s.changes)).toEqual(report.steps.map((s: { changes: RowChange[] }) => s.changes));

    // The database changed in exactly the reported columns, to exactly the reported values.
    const after = await state();
    const actual: Record<string, Record<string, [unknown, unknown]>> = {};
    for (const table of ['user', 'ss_node']) {
      for (const row of after.tables[table]!) {
        const old = before.tables[table]!.find((r) => r.id === row.id)!;
        for (const [col, v] of Object.entries(row)) {
          if (v !== old[col]) (actual[`${table}#${row.id}`] ??= {})[col] = [old[col], v];
        }
      }
    }
    const reported: typeof actual = {};
    for (const c of dryChanges) {
      for (const col of Object.keys(c.after ?? {})) {
        (reported[`${c.table}#${c.id}`] ??= {})[col] = [normaliseValue(c.before![col]), normaliseValue(c.after![col])];
      }
    }
    expect(actual).toEqual(reported);
    expect(actual[`user#${ids.renewal}`]).toEqual({
      u: [3 * GiB, 7 * GiB], d: [4 * GiB, 0], transfer_limit: [0, 20 * GiB], renew_time: [T - 5, T + 1_728_000],
    });
    expect(actual[`user#${ids.capped}`]).toEqual({
      enable: [1, 0], warming: [null, '20261125 02:00:00 daily traffic over 32 GB: account disabled'],
    });

    // Snapshots were written after the commit, for both scanned users.
    if (store === 'redis') {
      for (const k of Object.keys(after.redis)) {
        const ttl = await redis.client.ttl(k);
        expect(ttl).toBeGreaterThan(86_300);
        expect(ttl).toBeLessThanOrEqual(86_400);
      }
      expect(after.redis).toEqual({
        [`${redis.prefix}user:${ids.capped}:traffic_lastday`]: String(40 * GiB),
        [`${redis.prefix}user:${ids.recorded}:traffic_lastday`]: '3',
      });
    } else {
      expect(after.tables.spanel_traffic_snapshot!.map((r) => [r.user_id, r.total, r.expires_at])).toEqual([
        [ids.capped, 40 * GiB, T + 86_400],
        [ids.recorded, 3, T + 86_400],
      ]);
    }
    expect(after.tables.spanel_run).toHaveLength(1);
    expect(after.tables.spanel_run![0]).toMatchObject({ command: 'job daily', outcome: 'success' });
    await t.knex('spanel_run').del();
  });
});
