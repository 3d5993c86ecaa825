// Runs spanel as a child process and measures it: wall time, peak RSS, and (for dbclean) the
// longest database transaction seen while it ran.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const TIME = '/usr/bin/time';

/**
 * One `spanel` invocation. Wall time is measured here around spawn→exit; peak RSS comes from
 * GNU time (%M, KiB) when installed, else from polling VmHWM in /proc/<pid>/status.
 */
export async function runSpanel(spanel, args, env, { onStart, nodeArgs = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'spanel-bench-'));
  const timeFile = join(dir, 'time');
  const useTime = existsSync(TIME);
  const cmd = useTime ? TIME : process.execPath;
  const argv = [...(useTime ? ['-f', '%e %M', '-o', timeFile, process.execPath] : []), ...nodeArgs, spanel.bin, ...args];
  const t0 = performance.now();
  const child = spawn(cmd, argv, { cwd: spanel.cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let hwm = 0;
  const poll = useTime ? null : setInterval(() => (hwm = Math.max(hwm, vmHwmKiB(child.pid))), 20);
  const stop = onStart?.(child);
  const code = await new Promise((resolve) => child.on('close', (c) => resolve(c)));
  const ms = performance.now() - t0;
  if (poll) clearInterval(poll);
  const extra = stop ? await stop() : undefined;
  let rssKiB = hwm;
  if (useTime && existsSync(timeFile)) {
    const line = readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
    rssKiB = Number(line.split(' ')[1]) || 0;
  }
  rmSync(dir, { recursive: true, force: true });
  let json = null;
  try {
    json = JSON.parse(stdout.trim().split('\n').pop() ?? '');
  } catch {
    // not every invocation prints JSON (--help)
  }
  return { code, ms, rssMB: rssKiB / 1024, stdout, stderr, json, extra };
}

function vmHwmKiB(pid) {
  try {
    const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/**
 * Watches information_schema.innodb_trx every `everyMs` on its own connection while a run goes
 * on (connections to `database` only), and returns the longest any one transaction was seen open (first to last sighting, so a
 * lower bound accurate to about one interval).
 */
export function watchTransactions(conn, database, everyMs = 25) {
  const seen = new Map();
  let running = true;
  let myId = null;
  const loop = (async () => {
    const [[row]] = await conn.query('SELECT CONNECTION_ID() AS id');
    myId = Number(row.id);
    while (running) {
      // Only connections to the bench database: other clients of a shared server are not spanel's.
      const [rows] = await conn.query(
        `SELECT t.trx_id, t.trx_mysql_thread_id AS thread, t.trx_started FROM information_schema.innodb_trx t
         JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id WHERE p.db = ?`,
        [database],
      );
      const now = performance.now();
      for (const r of rows) {
        if (Number(r.thread) === myId) continue;
        const key = `${r.thread}:${r.trx_id}:${r.trx_started}`;
        const s = seen.get(key);
        if (s) s.last = now;
        else seen.set(key, { first: now, last: now });
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return async () => {
    running = false;
    await loop;
    let longest = 0;
    for (const s of seen.values()) longest = Math.max(longest, s.last - s.first);
    return { longestSeenMs: longest, transactionsSeen: seen.size, intervalMs: everyMs };
  };
}
