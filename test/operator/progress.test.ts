import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { progressLine, TerminalProgress } from '../../src/output/terminal.js';
import { BIN, spawnCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { NOW_ISO, UNIX } from '../jobs/check.helpers.js';

const ERASE = '\r\x1b[2K';

/** bin/spanel under a pseudo-terminal (util-linux `script`): stdout and stderr are the terminal. */
function underTerminal(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  const quoted = [BIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', quoted, '/dev/null'], {
      env: { PATH: `${dirname(process.execPath)}:${process.env.PATH}`, HOME: process.env.HOME, TERM: 'xterm', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

describe('the progress line', () => {
  it('says rows done, rate, percent and time left', () => {
    expect(progressLine('Old log rows', { done: 1_234_567, fraction: 0.25, what: 'ss_node_info rows deleted' }, 30)).toBe(
      'Old log rows: 1,234,567 ss_node_info rows deleted · 41,152/s · 25% · 1m 30s left',
    );
    expect(progressLine('Daily traffic cap', { done: 5000, total: 20000, what: 'users scanned' }, 2)).toBe(
      'Daily traffic cap: 5,000/20,000 users scanned · 2,500/s · 25% · 6s left',
    );
    expect(progressLine('Expired accounts', { done: 10, what: 'accounts deleted' }, 0)).toBe('Expired accounts: 10 accounts deleted');
  });

  it('is redrawn in place at most every 250 ms, and erased at the end', () => {
    let now = 0;
    let written = '';
    const out = { write: (s: string) => ((written += s), true), columns: 60 } as unknown as NodeJS.WritableStream;
    const p = new TerminalProgress(out, () => now);
    const update = p.step('Step');
    for (const t of [0, 100, 200, 249, 250, 300, 600]) {
      now = t;
      update({ done: t });
    }
    p.clear();
    p.clear();
    // Drawn at 0, 250 and 600 only; one erase at the end (a second clear writes nothing).
    expect(written.split(ERASE).filter(Boolean)).toEqual(['Step: 0 rows', 'Step: 250 rows · 1,000/s', 'Step: 600 rows · 1,000/s']);
    expect(written.endsWith(ERASE)).toBe(true);
  });

  it('is cut to the terminal width', () => {
    let written = '';
    const out = { write: (s: string) => ((written += s), true), columns: 30 } as unknown as NodeJS.WritableStream;
    new TerminalProgress(out, () => 0).step('A long step title')({ done: 123456789, what: 'rows deleted from a table' });
    expect(written).toBe(`${ERASE}A long step title: 123,456,7…`);
  });
});

// Each test starts bin/spanel; on a loaded machine that alone can take many seconds.
describe('progress of job dbclean at a terminal and in a pipe', { timeout: 240_000 }, () => {
  const t = useTestDatabase('mysql');
  const env = () => ({ DATABASE_URL: t.url, DBCLEAN_BATCH_SIZE: '100', DBCLEAN_BATCH_MS: '0', LOG_LEVEL: 'silent', NO_COLOR: '1' });

  beforeEach(async () => {
    await t.knex('ss_node_info').del();
    const rows = Array.from({ length: 1000 }, () => ({ node_id: 1, log_time: UNIX - 10 * 86_400 }));
    for (let i = 0; i < rows.length; i += 500) await t.knex('ss_node_info').insert(rows.slice(i, i + 500));
  });

  it('a terminal gets an in-place line with rows, rate and percent, erased before the report', async () => {
    const r = await underTerminal(['job', 'dbclean', '--now', NOW_ISO], env());
    expect(r.code, r.out).toBe(0);
    const drawn = r.out.split(ERASE).slice(1, -1);
    expect(drawn.length).toBeGreaterThanOrEqual(1);
    for (const line of drawn) expect(line).toMatch(/^Old log rows: [\d,]+ ss_node_info rows deleted · [\d,]+\/s · \d+%( · \d+s left)?$/);
    // The report starts on a clean line after the last erase.
    expect(r.out.slice(r.out.lastIndexOf(ERASE) + ERASE.length)).toMatch(/^spanel job dbclean \(run #\d+\)\r\n/);
    expect(Number((await t.knex('ss_node_info').count({ n: '*' }))[0]!.n)).toBe(0);
  });

  it('--json at a terminal: no progress line', async () => {
    const r = await underTerminal(['job', 'dbclean', '--now', NOW_ISO, '--json'], env());
    expect(r.code, r.out).toBe(0);
    expect(r.out).not.toContain(ERASE);
    expect(JSON.parse(r.out).steps[0].count).toBe(1000);
  });

  it('in a pipe: no progress line, and logs stay JSON', async () => {
    const r = await spawnCli(['job', 'dbclean', '--now', NOW_ISO], { ...env(), LOG_LEVEL: 'info' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toContain('\x1b');
    expect(r.stdout).not.toContain('\x1b');
    const lines = r.stderr.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ name: 'spanel' });
  });

  it('log lines at a terminal are readable, not JSON', async () => {
    const r = await underTerminal(['job', 'dbclean', '--now', NOW_ISO], { ...env(), LOG_LEVEL: 'info' });
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/(^|\n|\x1b\[2K)\d\d:\d\d:\d\d\.\d{3} INFO  step done step=log-retention count=1000 /);
    expect(r.out).not.toMatch(/\{"level":30/);
  });
});
