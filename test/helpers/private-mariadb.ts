import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';

/**
 * A mariadbd of the test's own (empty datadir under a mkdtemp dir, no grant tables, a private
 * port), for tests that must freeze or globally lock a server: never the shared one.
 * `stop()` ends exactly this process and removes its datadir.
 */
export interface PrivateMariadb {
  port: number;
  pid: number;
  /** mysql://root@127.0.0.1:<port>/<database> */
  url(database: string): string;
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

export async function startPrivateMariadb(port: number): Promise<PrivateMariadb> {
  const dir = mkdtempSync(join(tmpdir(), 'spanel-mariadb-'));
  const child: ChildProcess = spawn(
    '/usr/sbin/mariadbd',
    [
      '--no-defaults',
      '--user=root',
      `--datadir=${dir}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${join(dir, 'mariadb.sock')}`,
      `--pid-file=${join(dir, 'mariadb.pid')}`,
      '--skip-grant-tables',
      '--skip-log-bin',
      '--innodb-buffer-pool-size=16M',
      '--innodb-log-file-size=8M',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 2000 });
      await c.end();
      break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`private mariadbd on port ${port} did not start: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  const pid = child.pid!;
  return {
    port,
    pid,
    url: (database) => `mysql://root@127.0.0.1:${port}/${database}`,
    freeze: () => void process.kill(pid, 'SIGSTOP'),
    thaw: () => void process.kill(pid, 'SIGCONT'),
    stop: async () => {
      if (child.exitCode === null) {
        process.kill(pid, 'SIGCONT');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
