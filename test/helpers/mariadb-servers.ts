import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';

/**
 * Private MariaDB servers for tests that must freeze, make read-only, replicate or cluster a
 * server: never the shared one on 3306. Each runs as the `mysql` user (rsync state transfer runs
 * as the server's user and cannot enter a root-only directory) with its data under a mkdtemp
 * directory, and is stopped by whoever started it: `stopAll()` in afterAll, and a process exit
 * hook as the last resort so that a crashed test file leaves no server behind.
 */
export interface PrivateServer {
  name: string;
  port: number;
  datadir: string;
  /** mysql://root@127.0.0.1:<port>/<database> */
  url(database?: string): string;
  /** A fresh admin connection (root, no database). */
  connect(): Promise<mysql.Connection>;
  pid(): number | undefined;
  /** SIGTERM, then SIGKILL after a bounded wait; removes nothing. */
  stop(): Promise<void>;
}

export const MARIADBD = '/usr/sbin/mariadbd';
export const GALERA_PROVIDER = ['/usr/lib/galera/libgalera_smm.so', '/usr/lib/libgalera_smm.so'].find((p) => existsSync(p)) ?? '/usr/lib/galera/libgalera_smm.so';

const running = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let exitHookInstalled = false;

function killEverything(): void {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', killEverything);
  // A test runner stopped by a signal skips afterAll and 'exit': stop the servers, then die of
  // the same signal.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killEverything();
      process.kill(process.pid, sig);
    });
  }
}

/** A temporary directory the mysql user may enter (mkdtemp makes it root-only). */
export function serverTempDir(prefix: string): string {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), `spanel-${prefix}-`));
  chmodSync(dir, 0o755);
  tempDirs.add(dir);
  return dir;
}

function chownToMysql(path: string): void {
  const r = spawnSync('chown', ['-R', 'mysql:mysql', path]);
  if (r.status !== 0) throw new Error(`chown mysql ${path}: ${r.stderr}`);
}

/** mariadb-install-db into `datadir` (root without password over TCP, as the tests connect). */
export function installDb(datadir: string): void {
  mkdirSync(datadir, { recursive: true });
  chownToMysql(datadir);
  const r = spawnSync(
    'mariadb-install-db',
    ['--no-defaults', `--datadir=${datadir}`, '--user=mysql', '--auth-root-authentication-method=normal', '--skip-test-db', '--skip-name-resolve'],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (r.status !== 0) throw new Error(`mariadb-install-db failed (${r.status}): ${r.stderr || r.stdout}`);
}

/** A copy of an installed datadir (cp -a keeps the mysql owner): faster than installing twice. */
export function copyDatadir(from: string, to: string): void {
  const r = spawnSync('cp', ['-a', from, to]);
  if (r.status !== 0) throw new Error(`cp -a ${from} ${to}: ${r.stderr}`);
}

export interface StartOptions {
  name: string;
  port: number;
  datadir: string;
  args?: string[];
  /** Bounded wait for the server to answer queries (Galera joiners wait for their state transfer). */
  readyTimeoutMs?: number;
}

export async function startServer(opts: StartOptions): Promise<PrivateServer> {
  installExitHook();
  chownToMysql(opts.datadir);
  const log = join(opts.datadir, 'error.log');
  const child = spawn(
    MARIADBD,
    [
      '--no-defaults',
      '--user=mysql',
      `--datadir=${opts.datadir}`,
      `--port=${opts.port}`,
      '--bind-address=127.0.0.1',
      `--socket=${join(opts.datadir, 'mysqld.sock')}`,
      `--pid-file=${join(opts.datadir, 'mysqld.pid')}`,
      `--log-error=${log}`,
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=32M',
      '--innodb-log-file-size=16M',
      '--max-connections=200',
      ...(opts.args ?? []),
    ],
    { stdio: 'ignore', env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' } },
  );
  running.add(child);
  let exited = false;
  child.once('exit', () => {
    exited = true;
    running.delete(child);
  });
  const server: PrivateServer = {
    name: opts.name,
    port: opts.port,
    datadir: opts.datadir,
    url: (database = '') => `mysql://root@127.0.0.1:${opts.port}/${database}`,
    connect: () => mysql.createConnection({ host: '127.0.0.1', port: opts.port, user: 'root', connectTimeout: 3000, multipleStatements: true }),
    pid: () => (exited ? undefined : child.pid),
    stop: async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const done = await waitUntil(async () => exited, 60_000).then(() => true, () => false);
      if (!done) {
        child.kill('SIGKILL');
        await waitUntil(async () => exited, 10_000).catch(() => undefined);
      }
    },
  };
  try {
    await waitUntil(
      async () => {
        if (exited) throw new Error(`${opts.name} exited while starting:\n${tail(log)}`);
        const conn = await server.connect().catch(() => null);
        if (!conn) return false;
        try {
          await conn.query('SELECT 1');
          return true;
        } catch {
          return false;
        } finally {
          await conn.end().catch(() => undefined);
        }
      },
      opts.readyTimeoutMs ?? 60_000,
      200,
    );
  } catch (err) {
    await server.stop();
    throw new Error(`${opts.name} on port ${opts.port} did not start: ${(err as Error).message}\n${tail(log)}`);
  }
  return server;
}

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function waitUntil(cond: () => Promise<boolean>, timeoutMs: number, everyMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Stops servers (in reverse start order) and removes their directories. */
export async function stopAll(servers: PrivateServer[], dirs: string[]): Promise<void> {
  for (const s of [...servers].reverse()) await s.stop().catch(() => undefined);
  for (const d of dirs) {
    rmSync(d, { recursive: true, force: true });
    tempDirs.delete(d);
  }
}

export async function query<T = Record<string, unknown>>(server: PrivateServer, sql: string, params: unknown[] = []): Promise<T[]> {
  const conn = await server.connect();
  try {
    const [rows] = await conn.query(sql, params);
    return rows as T[];
  } finally {
    await conn.end();
  }
}

export async function statusOf(server: PrivateServer, name: string): Promise<string | undefined> {
  const rows = await query<{ Variable_name: string; Value: string }>(server, 'SHOW GLOBAL STATUS LIKE ?', [name]);
  return rows[0]?.Value;
}

export interface GaleraCluster {
  nodes: PrivateServer[];
  stop(): Promise<void>;
}

/**
 * A 3-node Galera cluster on 127.0.0.1: node i (0-based) listens on basePort + 10*i (client),
 * +1 (group communication), +2 (IST), +3 (rsync SST). The first bootstraps (--wsrep-new-cluster)
 * from an installed datadir; the others join one at a time by state transfer. Resolves once every
 * node is Synced in a cluster of 3, within bounded waits.
 */
export async function startGaleraCluster(basePort: number, size = 3): Promise<GaleraCluster> {
  const root = serverTempDir('galera');
  const nodes: PrivateServer[] = [];
  const clusterName = `spanel_test_${process.pid}`;
  const galeraPort = (i: number) => basePort + 10 * i + 1;
  const address = `gcomm://${Array.from({ length: size }, (_, i) => `127.0.0.1:${galeraPort(i)}`).join(',')}`;
  try {
    for (let i = 0; i < size; i++) {
      const client = basePort + 10 * i;
      const datadir = join(root, `node${i + 1}`);
      if (i === 0) installDb(datadir);
      else mkdirSync(datadir);
      const node = await startServer({
        name: `galera node ${i + 1}`,
        port: client,
        datadir,
        readyTimeoutMs: 240_000,
        args: [
          ...(i === 0 ? ['--wsrep-new-cluster'] : []),
          '--wsrep-on=ON',
          `--wsrep-provider=${GALERA_PROVIDER}`,
          `--wsrep-cluster-name=${clusterName}`,
          `--wsrep-cluster-address=${address}`,
          `--wsrep-node-name=node${i + 1}`,
          `--wsrep-node-address=127.0.0.1:${galeraPort(i)}`,
          `--wsrep-node-incoming-address=127.0.0.1:${client}`,
          `--wsrep-sst-receive-address=127.0.0.1:${client + 3}`,
          '--wsrep-sst-method=rsync',
          `--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:${galeraPort(i)};ist.recv_addr=127.0.0.1:${client + 2};gcache.size=16M;evs.inactive_timeout=PT10S;evs.suspect_timeout=PT3S`,
          '--binlog-format=ROW',
          '--default-storage-engine=InnoDB',
          '--innodb-autoinc-lock-mode=2',
          '--innodb-flush-log-at-trx-commit=2',
        ],
      });
      nodes.push(node);
      await waitUntil(async () => (await statusOf(node, 'wsrep_local_state_comment')) === 'Synced', 240_000, 250);
    }
    for (const node of nodes) await waitUntil(async () => Number(await statusOf(node, 'wsrep_cluster_size')) === size, 60_000, 250);
  } catch (err) {
    const logs = nodes.map((n) => `--- ${n.name}\n${tail(join(n.datadir, 'error.log'))}`).join('\n');
    await stopAll(nodes, [root]);
    throw new Error(`the Galera cluster did not form: ${(err as Error).message}\n${logs}`);
  }
  return { nodes, stop: () => stopAll(nodes, [root]) };
}

export interface ReplicaPair {
  primary: PrivateServer;
  replica: PrivateServer;
  stop(): Promise<void>;
}

/**
 * A primary (binary log, server id 1) on `port` and a replica of it (server id 2, writable: the
 * dangerous case) on `port + 1`, replicating from the start of the primary's binary log.
 */
export async function startReplicaPair(port: number): Promise<ReplicaPair> {
  const root = serverTempDir('replica');
  const servers: PrivateServer[] = [];
  try {
    const template = join(root, 'primary');
    installDb(template);
    copyDatadir(template, join(root, 'replica'));
    const primary = await startServer({ name: 'primary', port, datadir: template, args: ['--server-id=1', `--log-bin=${join(template, 'binlog')}`, '--binlog-format=ROW'] });
    servers.push(primary);
    const replica = await startServer({ name: 'replica', port: port + 1, datadir: join(root, 'replica'), args: ['--server-id=2', `--relay-log=${join(root, 'replica', 'relay')}`] });
    servers.push(replica);
    const [binlog] = await query<{ File: string; Position: number }>(primary, 'SHOW MASTER STATUS');
    if (!binlog) throw new Error('the primary has no binary log');
    await query(replica, `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${port}, MASTER_USER='root', MASTER_PASSWORD='', MASTER_LOG_FILE=?, MASTER_LOG_POS=?`, [binlog.File, binlog.Position]);
    await query(replica, 'START SLAVE');
    await waitUntil(async () => {
      const [s] = await query<{ Slave_IO_Running: string; Slave_SQL_Running: string }>(replica, 'SHOW SLAVE STATUS');
      return s?.Slave_IO_Running === 'Yes' && s?.Slave_SQL_Running === 'Yes';
    }, 60_000);
    return { primary, replica, stop: () => stopAll(servers, [root]) };
  } catch (err) {
    await stopAll(servers, [root]);
    throw err;
  }
}
