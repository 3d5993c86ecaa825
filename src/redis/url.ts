/**
 * REDIS_URL in its four forms (SPEC §3). `new URL` cannot read a host list, so the URL is split
 * by hand: scheme, optional `user:password@` (up to the LAST '@', a password may hold one),
 * comma-separated HOST:PORT, then a path (database, or Sentinel master name and database).
 */
export type RedisTopology =
  | { kind: 'single'; tls: boolean; host: string; port: number; username: string; password: string; db: number }
  | { kind: 'cluster'; seeds: HostPort[]; username: string; password: string }
  | { kind: 'sentinel'; sentinels: HostPort[]; masterName: string; username: string; password: string; db: number };

export interface HostPort {
  host: string;
  port: number;
}

export const REDIS_URL_FORMS =
  'redis://[:PASSWORD@]HOST:PORT[/DB], rediss://… (TLS), redis+cluster://[:PASSWORD@]HOST:PORT[,HOST:PORT…] or redis+sentinel://[:PASSWORD@]HOST:PORT[,HOST:PORT…]/MASTER_NAME[/DB]';

const DEFAULT_PORT = { single: 6379, cluster: 6379, sentinel: 26379 } as const;

/**
 * The topology a REDIS_URL names; throws a one-line reason when it names none. Reasons never
 * quote the URL: without an '@' a cut password would read as a host.
 */
export function parseRedisUrl(url: string): RedisTopology {
  const m = /^([a-z+]+):\/\/(.*)$/i.exec(url.trim());
  if (!m) throw new Error('not a URL');
  const scheme = m[1]!.toLowerCase();
  let rest = m[2]!;
  let username = '';
  let password = '';
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const auth = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = auth.indexOf(':');
    username = decode(colon < 0 ? auth : auth.slice(0, colon));
    password = colon < 0 ? '' : decode(auth.slice(colon + 1));
  }
  rest = rest.replace(/[?#].*$/, '');
  const slash = rest.indexOf('/');
  const hostList = slash < 0 ? rest : rest.slice(0, slash);
  const path = (slash < 0 ? '' : rest.slice(slash + 1)).split('/').filter((s) => s !== '');

  switch (scheme) {
    case 'redis':
    case 'rediss': {
      const hosts = hostPorts(hostList, DEFAULT_PORT.single);
      if (hosts.length !== 1) throw new Error(`${scheme}:// names one server; for several use redis+cluster:// or redis+sentinel://`);
      if (path.length > 1) throw new Error(`the path of ${scheme}:// is the database number only`);
      return { kind: 'single', tls: scheme === 'rediss', ...hosts[0]!, username, password, db: database(path[0]) };
    }
    case 'redis+cluster': {
      if (path.length > 1 || (path.length === 1 && database(path[0]) !== 0)) {
        throw new Error('a Redis Cluster has database 0 only: redis+cluster://HOST:PORT[,HOST:PORT…] without a path');
      }
      return { kind: 'cluster', seeds: hostPorts(hostList, DEFAULT_PORT.cluster), username, password };
    }
    case 'redis+sentinel':
    case 'sentinel': {
      const masterName = path[0] ? decode(path[0]) : '';
      if (!masterName) throw new Error('redis+sentinel:// needs the master name: redis+sentinel://HOST:PORT[,HOST:PORT…]/MASTER_NAME[/DB]');
      if (path.length > 2) throw new Error('the path of redis+sentinel:// is /MASTER_NAME[/DB]');
      return { kind: 'sentinel', sentinels: hostPorts(hostList, DEFAULT_PORT.sentinel), masterName, username, password, db: database(path[1]) };
    }
    default:
      throw new Error(`unknown scheme "${scheme}://"`);
  }
}

function hostPorts(list: string, defaultPort: number): HostPort[] {
  if (list.trim() === '') throw new Error('no HOST:PORT given');
  return list.split(',').map((item) => {
    const s = item.trim();
    // [::1]:6379 for IPv6, host:port otherwise
    const m = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9._-]+))(?::(\d{1,5}))?$/i.exec(s);
    if (!m) throw new Error('a HOST:PORT is malformed');
    const port = m[3] === undefined ? defaultPort : Number(m[3]);
    if (port < 1 || port > 65535) throw new Error('a port is out of range');
    return { host: (m[1] ?? m[2])!, port };
  });
}

function database(s: string | undefined): number {
  if (s === undefined || s === '') return 0;
  if (!/^\d{1,5}$/.test(s)) throw new Error('the database is not a number');
  return Number(s);
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
