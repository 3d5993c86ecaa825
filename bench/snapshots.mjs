// Traffic snapshots in Redis for the users the cap steps scan, so that the steps make real
// comparisons: most users are under the cap, 0.5% are over it, 0.5% exactly at it, 3% have none.
import { GiB, REDIS_PREFIX } from './env.mjs';

export const CAPS = {
  daily: { key: 'traffic_lastday', groups: [2, 3, 4, 5], window: 86_400, capGiB: 32, ttl: 86_400 },
  hourly: { key: 'traffic_lasthour', groups: [2, 3], window: 3600, capGiB: 6, ttl: 4600 },
};

const MiB = 1024 * 1024;
const ID_CHUNK = 100_000;
const PIPELINE = 10_000;

export const snapshotKey = (id, kind) => `${REDIS_PREFIX}user:${id}:${CAPS[kind].key}`;

/** The users a cap step scans (SPEC §3: enable=1, node_group in the groups, t within the window). */
export function scannedWhere(kind, now) {
  const c = CAPS[kind];
  return { sql: `enable = 1 AND node_group IN (${c.groups.join(',')}) AND t > ?`, params: [now - c.window] };
}

export function seededSnapshot(id, total, kind) {
  const cap = CAPS[kind].capGiB * GiB;
  // A multiplicative hash, so the picks do not line up with the seed's id-based placements.
  const pick = (Math.imul(id, 2654435761) >>> 0) % 200;
  if (pick === 0) return Math.max(0, total - cap - GiB);
  if (pick === 1) return Math.max(0, total - cap);
  if (pick < 8) return null;
  return Math.max(0, total - (id % 4096) * MiB);
}

/** Writes (or deletes) every scanned user's snapshot as seeded; returns how many users were scanned. */
export async function seedSnapshots(conn, redis, kind, now) {
  const { sql, params } = scannedWhere(kind, now);
  const [[{ maxId }]] = await conn.query('SELECT MAX(id) AS maxId FROM user');
  let scanned = 0;
  for (let from = 1; from <= maxId; from += ID_CHUNK) {
    const [rows] = await conn.query({
      sql: `SELECT id, u + d AS total FROM user WHERE id BETWEEN ? AND ? AND ${sql}`,
      values: [from, from + ID_CHUNK - 1, ...params],
      rowsAsArray: true,
    });
    scanned += rows.length;
    for (let i = 0; i < rows.length; i += PIPELINE) {
      const p = redis.pipeline();
      for (const [id, total] of rows.slice(i, i + PIPELINE)) {
        const v = seededSnapshot(Number(id), Number(total), kind);
        if (v === null) p.del(snapshotKey(id, kind));
        else p.set(snapshotKey(id, kind), String(v), 'EX', CAPS[kind].ttl);
      }
      await p.exec();
    }
  }
  return scanned;
}

export async function clearSnapshots(redis) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${REDIS_PREFIX}*`, 'COUNT', 10_000);
    if (keys.length) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/**
 * What a cap job left in Redis for `kind`: how many snapshots, the sum of their ids and of their
 * totals, and how many have no expiry. Part of "same result": the floor and spanel must write the
 * same snapshots, with a TTL.
 */
export async function snapshotDigest(redis, kind) {
  let cursor = '0';
  let n = 0;
  let ids = 0n;
  let totals = 0n;
  let persistent = 0;
  const keyRe = new RegExp(`^${REDIS_PREFIX.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}user:(\\d+):${CAPS[kind].key}$`);
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${REDIS_PREFIX}user:*:${CAPS[kind].key}`, 'COUNT', 10_000);
    cursor = next;
    if (keys.length === 0) continue;
    const p = redis.pipeline();
    p.mget(...keys);
    for (const k of keys) p.ttl(k);
    const replies = await p.exec();
    const values = replies[0][1];
    keys.forEach((k, i) => {
      const m = keyRe.exec(k);
      if (!m || values[i] === null) return;
      n++;
      ids += BigInt(m[1]);
      totals += BigInt(values[i]);
      if (replies[i + 1][1] < 0) persistent++;
    });
  } while (cursor !== '0');
  return `${n}:${ids}:${totals}:${persistent}`;
}
