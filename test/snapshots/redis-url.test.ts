import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { parseRedisUrl } from '../../src/redis/url.js';
import { maskUrl } from '../../src/util/mask.js';

describe('REDIS_URL forms (SPEC §3)', () => {
  it.each([
    ['redis://127.0.0.1:6379', { kind: 'single', tls: false, host: '127.0.0.1', port: 6379, username: '', password: '', db: 0 }],
    ['redis://:S3cr%40t@redis.internal/2', { kind: 'single', tls: false, host: 'redis.internal', port: 6379, username: '', password: 'S3cr@t', db: 2 }],
    ['rediss://app:pw@@cache:6380/1', { kind: 'single', tls: true, host: 'cache', port: 6380, username: 'app', password: 'pw@', db: 1 }],
    ['redis://[::1]:7000', { kind: 'single', tls: false, host: '::1', port: 7000, username: '', password: '', db: 0 }],
    [
      'redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7001, 10.0.0.3',
      { kind: 'cluster', seeds: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }, { host: '10.0.0.3', port: 6379 }], username: '', password: 'pw' },
    ],
    ['redis+cluster://h1:7000/', { kind: 'cluster', seeds: [{ host: 'h1', port: 7000 }], username: '', password: '' }],
    [
      'redis+sentinel://:pw@s1:26379,s2/mymaster/3',
      { kind: 'sentinel', sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }], masterName: 'mymaster', username: '', password: 'pw', db: 3 },
    ],
    ['sentinel://s1:26380/m', { kind: 'sentinel', sentinels: [{ host: 's1', port: 26380 }], masterName: 'm', username: '', password: '', db: 0 }],
  ])('%s', (url, topology) => {
    expect(parseRedisUrl(url)).toEqual(topology);
  });

  it.each([
    ['http://127.0.0.1:6379', 'unknown scheme "http://"'],
    ['redis://h1:1,h2:2', 'redis:// names one server; for several use redis+cluster:// or redis+sentinel://'],
    ['redis://127.0.0.1:bad/0', 'a HOST:PORT is malformed'],
    ['redis://127.0.0.1:70000', 'a port is out of range'],
    ['redis://127.0.0.1/x', 'the database is not a number'],
    ['redis+cluster://h1:7000/3', 'a Redis Cluster has database 0 only'],
    ['redis+sentinel://s1:26379', 'redis+sentinel:// needs the master name'],
    ['redis+sentinel://s1:26379/m/1/2', 'the path of redis+sentinel:// is /MASTER_NAME[/DB]'],
    ['redis://', 'no HOST:PORT given'],
  ])('%s is refused: %s', (url, reason) => {
    expect(() => parseRedisUrl(url)).toThrow(reason);
  });

  it('is validated at start with every form named, the password masked', () => {
    const load = (REDIS_URL: string) => loadSettings({ env: { DATABASE_URL: 'sqlite:/x', REDIS_URL }, cwd: '/' });
    expect(load('redis+sentinel://s1:26379,s2:26379/mymaster').settings.redisUrl).toBe('redis+sentinel://s1:26379,s2:26379/mymaster');
    let err: unknown;
    try {
      load('redis+cluster://:Secret1@h1:7000/5');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      'REDIS_URL="redis+cluster://:***@h1:7000/5" is invalid: expected redis://[:PASSWORD@]HOST:PORT[/DB], rediss://… (TLS), redis+cluster://[:PASSWORD@]HOST:PORT[,HOST:PORT…] or redis+sentinel://[:PASSWORD@]HOST:PORT[,HOST:PORT…]/MASTER_NAME[/DB], or empty to keep snapshots in the database (a Redis Cluster has database 0 only: redis+cluster://HOST:PORT[,HOST:PORT…] without a path)',
    ]);
  });

  it('masking keeps a cluster seed list readable', () => {
    expect(maskUrl('redis+cluster://10.0.0.1:7000,10.0.0.2:7001')).toBe('redis+cluster://10.0.0.1:7000,10.0.0.2:7001');
    expect(maskUrl('redis+sentinel://:pw@s1:26379,s2:26379/m')).toBe('redis+sentinel://:***@s1:26379,s2:26379/m');
  });
});
