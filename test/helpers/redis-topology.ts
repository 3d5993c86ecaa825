import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);

/**
 * Redis servers a test starts itself (a Cluster, a Sentinel group) on fixed private ports, each
 * with its own directory under one mkdtemp dir. stop() ends exactly these processes (SIGTERM to
 * our own children, SIGKILL if one does not exit), and nothing else.
 */
export class RedisProcesses {
  readonly dir = mkdtempSync(join(tmpdir(), 'spanel-redis-topology-'));
  private readonly children = new Map<number, ChildProcess>();

  /** Starts redis-server with `args` (or a config file) and waits until it answers PING. */
  async start(port: number, args: string[], opts: { configFile?: string } = {}): Promise<void> {
    if (await portOpen(port)) throw new Error(`port ${port} is already in use: is a previous test's redis-server still running?`);
    const child = spawn('redis-server', [...(opts.configFile ? [opts.configFile] : []), '--port', String(port), '--bind', '127.0.0.1', '--dir', this.dir, ...args], {
      stdio: 'ignore',
    });
    this.children.set(port, child);
    await waitFor(`redis-server on port ${port} answers PING`, 10_000, async () => (await call(port, 'PING')) === 'PONG');
  }

  /** Stops one server for real (the test's outage), waiting until its process has exited. */
  async stopOne(port: number): Promise<void> {
    const child = this.children.get(port);
    if (!child) return;
    this.children.delete(port);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Our own child only: a Sentinel has no SHUTDOWN NOSAVE, and SIGTERM saves nothing with --save "".
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.children.keys()].map((p) => this.stopOne(p)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One command on a short-lived connection (never retried: a test's probe). */
export async function call(port: number, ...args: (string | number)[]): Promise<unknown> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, connectTimeout: 1000, commandTimeout: 5000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await c.call(String(args[0]), ...args.slice(1).map(String));
  } finally {
    c.disconnect();
  }
}

export async function waitFor(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + ms;
  let last: unknown = null;
  for (;;) {
    try {
      if (await ok()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting until ${what}${last ? ` (${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export function field(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1];
}

/** A 6-node Redis Cluster: 3 masters, 3 replicas, on `ports` (their bus ports are +10000). */
export async function startCluster(ports: number[]): Promise<RedisProcesses> {
  const p = new RedisProcesses();
  try {
    for (const port of ports) {
      await p.start(port, [
        '--cluster-enabled', 'yes',
        '--cluster-config-file', `nodes-${port}.conf`,
        '--cluster-node-timeout', '2000',
        '--save', '',
        '--appendonly', 'no',
        '--dbfilename', `dump-${port}.rdb`,
      ]);
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((x) => `127.0.0.1:${x}`), '--cluster-replicas', '1', '--cluster-yes'], { timeout: 60_000 });
    await waitClusterOk(ports);
    return p;
  } catch (err) {
    await p.stop();
    throw err;
  }
}

/** Every node reports cluster_state:ok and all 16384 slots served, and agrees on 3 masters. */
export async function waitClusterOk(ports: number[]): Promise<void> {
  await waitFor('every cluster node reports cluster_state:ok', 30_000, async () => {
    for (const port of ports) {
      const info = String(await call(port, 'CLUSTER', 'INFO'));
      if (field(info, 'cluster_state') !== 'ok' || field(info, 'cluster_slots_ok') !== '16384') return false;
    }
    return true;
  });
}

/** The master of `port` per CLUSTER SLOTS: slot ranges → master port. */
export async function slotOwners(port: number): Promise<{ from: number; to: number; master: number }[]> {
  const slots = (await call(port, 'CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  return slots.map(([from, to, master]) => ({ from, to, master: Number(master[1]) }));
}

export async function role(port: number): Promise<string> {
  return String(((await call(port, 'ROLE')) as unknown[])[0]);
}

export interface SentinelGroup {
  processes: RedisProcesses;
  master: number;
  replica: number;
  sentinels: number[];
  masterName: string;
  url: string;
  /** The master's port as the first sentinel names it. */
  currentMaster(): Promise<number>;
}

/** A master, one replica and sentinels (quorum 1) watching them. */
export async function startSentinelGroup(ports: { master: number; replica: number; sentinels: number[] }, masterName = 'spanelmaster'): Promise<SentinelGroup> {
  const p = new RedisProcesses();
  try {
    const data = ['--save', '', '--appendonly', 'no'];
    await p.start(ports.master, [...data, '--dbfilename', `dump-${ports.master}.rdb`]);
    await p.start(ports.replica, [...data, '--dbfilename', `dump-${ports.replica}.rdb`, '--replicaof', '127.0.0.1', String(ports.master)]);
    await waitFor('the replica is in sync', 15_000, async () => field(String(await call(ports.replica, 'INFO', 'replication')), 'master_link_status') === 'up');
    for (const port of ports.sentinels) {
      const conf = join(p.dir, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          `sentinel monitor ${masterName} 127.0.0.1 ${ports.master} 1`,
          `sentinel down-after-milliseconds ${masterName} 1000`,
          `sentinel failover-timeout ${masterName} 4000`,
          `sentinel parallel-syncs ${masterName} 1`,
          '',
        ].join('\n'),
      );
      await p.start(port, ['--sentinel'], { configFile: conf });
    }
    await waitFor('every sentinel sees the replica', 15_000, async () => {
      for (const port of ports.sentinels) {
        const replicas = (await call(port, 'SENTINEL', 'replicas', masterName)) as unknown[];
        if (replicas.length < 1) return false;
      }
      return true;
    });
    const currentMaster = async () => Number(((await call(ports.sentinels[0]!, 'SENTINEL', 'get-master-addr-by-name', masterName)) as string[])[1]);
    return {
      processes: p,
      ...ports,
      masterName,
      url: `redis+sentinel://${ports.sentinels.map((x) => `127.0.0.1:${x}`).join(',')}/${masterName}`,
      currentMaster,
    };
  } catch (err) {
    await p.stop();
    throw err;
  }
}
