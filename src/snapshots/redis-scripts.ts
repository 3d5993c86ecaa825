import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Snapshot } from './store.js';

/**
 * A page of snapshots read or written with one script call instead of one key per command
 * argument or one SET EX command per user: the same keys, values and TTLs, but the client builds,
 * sends and parses one short command and one reply per page, not thousands of each. Per-key
 * commands and replies were most of a 1M-user run's Redis time and garbage (docs/performance.md).
 * A single server or a Sentinel master only: a script may not touch keys of several Cluster slots.
 *
 * Keys are `<prefix><id><suffix>` (store.ts snapshotKey). The ids travel as one comma-separated
 * argument; a read answers one string, a value per id in order ('' for none, or not an integer,
 * as MGET and parseTotal would see it: other types read as none, surrounding blanks trimmed).
 */
const READ = script(`
local prefix, suffix = ARGV[1], ARGV[2]
local keys, out = {}, {}
for id in string.gmatch(ARGV[3], '%d+') do keys[#keys + 1] = prefix .. id .. suffix end
for i = 1, #keys, 1000 do
  local vals = redis.call('MGET', unpack(keys, i, math.min(i + 999, #keys)))
  for j = 1, #vals do
    local v = vals[j]
    if v then v = string.match(v, '^%s*(%-?%d+)%s*$') end
    out[#out + 1] = v or ''
  end
end
return table.concat(out, ',')`);

const WRITE = script(`
local prefix, suffix, ttl = ARGV[1], ARGV[2], ARGV[3]
local n = 0
for id, total in string.gmatch(ARGV[4], '(%d+):(%-?%d+)') do
  redis.call('SET', prefix .. id .. suffix, total, 'EX', ttl)
  n = n + 1
end
return n`);

/**
 * The server will not run these scripts: an ACL without @scripting, renamed or disabled commands,
 * or a Cluster node reached as redis:// (whose keys live on other nodes). Plain commands then
 * take over, and on a Cluster node fail with the CROSSSLOT/MOVED that tells the user what to do.
 */
export const SCRIPTS_REFUSED = /^(NOPERM\b|ERR unknown command)|scripting is disabled|script.*not allowed|non.local key/i;

/** Snapshot values of `ids`, in order: null where there is none. */
export async function readByScript(redis: Redis, prefix: string, suffix: string, ids: readonly number[]): Promise<(bigint | null)[]> {
  const reply = String(await runScript(redis, READ, [prefix, suffix, ids.join(',')]));
  const values = reply.split(',');
  if (values.length !== ids.length) throw new Error(`the snapshot read script answered ${values.length} values for ${ids.length} users`);
  return values.map((v) => (v === '' ? null : BigInt(v)));
}

export async function writeByScript(redis: Redis, prefix: string, suffix: string, batch: readonly Snapshot[], ttlSeconds: number): Promise<void> {
  const pairs = batch.map((s) => `${s.userId}:${s.total}`).join(',');
  const written = Number(await runScript(redis, WRITE, [prefix, suffix, ttlSeconds, pairs]));
  if (written !== batch.length) throw new Error(`the snapshot write script wrote ${written} of ${batch.length} snapshots`);
}

interface Script {
  lua: string;
  sha: string;
}

function script(lua: string): Script {
  return { lua, sha: createHash('sha1').update(lua).digest('hex') };
}

/** EVALSHA, and EVAL once the server does not know the script yet (or forgot it: SCRIPT FLUSH). */
async function runScript(redis: Redis, s: Script, args: (string | number)[]): Promise<unknown> {
  try {
    return await redis.call('EVALSHA', s.sha, 0, ...args);
  } catch (err) {
    if (!/^NOSCRIPT\b/.test((err as Error)?.message ?? '')) throw err;
    return redis.call('EVAL', s.lua, 0, ...args);
  }
}
