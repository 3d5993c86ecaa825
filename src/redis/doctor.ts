import type { Cluster, Redis } from 'ioredis';
import { maskSecrets } from '../util/mask.js';
import { closeRedis, describeRedisError, openRedis } from './connect.js';
import { parseRedisUrl, type HostPort } from './url.js';

export interface RedisCheck {
  level: 'ok' | 'warn' | 'fail';
  detail: string;
}

const ALL_SLOTS = 16384;

/**
 * `doctor`'s Redis lines: reachable, and the topology REDIS_URL names is the one that answers
 * (a Sentinel port or a Cluster node behind redis:// fails every job; say so here instead).
 */
export async function checkRedis(url: string, prefix: string): Promise<RedisCheck[]> {
  const topology = parseRedisUrl(url);
  const checks: RedisCheck[] = [];
  const keys = `snapshot keys "${prefix}user:<id>:traffic_lastday|traffic_lasthour"`;
  if (topology.kind === 'sentinel') checks.push(...(await checkSentinels(topology.sentinels, topology.masterName)));
  let conn;
  try {
    conn = await openRedis(url);
  } catch (err) {
    return [...checks, { level: 'fail', detail: (err as Error).message }];
  }
  try {
    const { client } = conn;
    if (topology.kind === 'cluster') checks.push(await checkCluster(client as Cluster, keys));
    else checks.push(await checkServer(client as Redis, topology.kind, keys));
  } catch (err) {
    checks.push({ level: 'fail', detail: `Redis at ${conn.safeUrl}: ${describeRedisError(err)}` });
  } finally {
    await closeRedis(conn.client);
  }
  return checks;
}

async function checkServer(redis: Redis, kind: 'single' | 'sentinel', keys: string): Promise<RedisCheck> {
  const info = await redis.info('server');
  const mode = field(info, 'redis_mode');
  const version = field(info, 'redis_version') ?? 'unknown';
  if (mode === 'sentinel') {
    return { level: 'fail', detail: 'REDIS_URL points at a Sentinel, which holds no data (every job would fail with "ERR unknown command"): name it redis+sentinel://HOST:PORT[,HOST:PORT…]/MASTER_NAME' };
  }
  if (mode === 'cluster') {
    return { level: 'fail', detail: 'REDIS_URL points at one node of a Redis Cluster (keys on other shards would fail with MOVED/CROSSSLOT): name it redis+cluster://HOST:PORT[,HOST:PORT…]' };
  }
  const role = ((await redis.call('ROLE')) as unknown[])[0];
  if (role !== 'master') {
    return { level: 'fail', detail: `REDIS_URL points at a ${String(role)}, which refuses the snapshot writes (READONLY): point it at the master, or use redis+sentinel://` };
  }
  const where = kind === 'sentinel' ? `master ${redis.stream?.remoteAddress ?? '?'}:${redis.stream?.remotePort ?? '?'} found through the sentinels` : 'reachable';
  return { level: 'ok', detail: `${where}, version ${version}; ${keys}` };
}

async function checkCluster(cluster: Cluster, keys: string): Promise<RedisCheck> {
  const masters = cluster.nodes('master');
  const problems: string[] = [];
  let assigned = 0;
  let covered = 0;
  let known = 0;
  let version = 'unknown';
  for (const node of masters) {
    const where = `${node.options.host}:${node.options.port}`;
    const info = String(await node.call('CLUSTER', 'INFO'));
    const state = field(info, 'cluster_state');
    if (state !== 'ok') problems.push(`${where} reports cluster_state ${state}`);
    assigned = Math.max(assigned, Number(field(info, 'cluster_slots_assigned') ?? 0));
    covered = Math.max(covered, Number(field(info, 'cluster_slots_ok') ?? 0));
    known = Math.max(known, Number(field(info, 'cluster_known_nodes') ?? 0));
    version = field(await node.info('server'), 'redis_version') ?? version;
  }
  if (assigned < ALL_SLOTS || covered < ALL_SLOTS) problems.push(`only ${Math.min(assigned, covered)} of ${ALL_SLOTS} slots are served`);
  const summary = `Redis Cluster: ${masters.length} masters, ${known} nodes known, ${covered}/${ALL_SLOTS} slots ok, version ${version}`;
  if (problems.length) return { level: 'fail', detail: `${summary}: ${problems.join('; ')} (fix the cluster: redis-cli --cluster check HOST:PORT)` };
  return { level: 'ok', detail: `${summary}; ${keys}` };
}

async function checkSentinels(sentinels: HostPort[], masterName: string): Promise<RedisCheck[]> {
  const { Redis } = await import('ioredis');
  const answers: string[] = [];
  const problems: string[] = [];
  for (const s of sentinels) {
    const where = `${s.host}:${s.port}`;
    const client = new Redis({ ...s, lazyConnect: true, connectTimeout: 3000, commandTimeout: 3000, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const addr = (await client.call('SENTINEL', 'get-master-addr-by-name', masterName)) as [string, string] | null;
      if (addr) answers.push(`${addr[0]}:${addr[1]}`);
      else problems.push(`sentinel ${where} does not know a master named "${masterName}"`);
    } catch (err) {
      const msg = maskSecrets((err as Error).message);
      problems.push(/unknown command/i.test(msg) ? `${where} is not a Sentinel (it is a data server: list sentinel ports in redis+sentinel://)` : `sentinel ${where}: ${msg}`);
    } finally {
      client.disconnect();
    }
  }
  const distinct = [...new Set(answers)];
  if (answers.length === 0) return [{ level: 'fail', detail: `no sentinel answered for master "${masterName}": ${problems.join('; ')}` }];
  if (distinct.length > 1) problems.push(`sentinels disagree on the master (${distinct.join(', ')}): a failover is in progress or they are misconfigured`);
  const detail = `${answers.length} of ${sentinels.length} sentinels name ${distinct.join(', ')} as master "${masterName}"`;
  return [{ level: problems.length ? 'warn' : 'ok', detail: problems.length ? `${detail}; ${problems.join('; ')}` : detail }];
}

function field(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1];
}
