import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';

/**
 * The launcher as cron and systemd start it: bin/spanel executed through its own #! line, not
 * `node bin/spanel` (Node 20 reads a --env-file after the script name itself and exits 9).
 */
function spanel(args: string[], opts: { asNobody?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: `${dirname(process.execPath)}:${process.env.PATH}`, LOG_LEVEL: 'silent', NO_COLOR: '1' };
  const [cmd, argv] = opts.asNobody
    ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', BIN, ...args]]
    : [BIN, args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd as string, argv as string[], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'spanel-envfile-'));
chmodSync(dir, 0o755);

describe('--env-file through the real bin/spanel', { timeout: 180_000 }, () => {
  it('a missing file: spanel (not node) exits 2 naming the file', async () => {
    for (const args of [['--env-file', '/nonexistent/spanel.env', 'job', 'daily'], ['--env-file=/nonexistent/spanel.env', 'doctor']]) {
      const r = await spanel(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        'spanel: invalid configuration:\n  - env file /nonexistent/spanel.env (from --env-file) does not exist: fix the path, or create it with "spanel config --example > /nonexistent/spanel.env"\n',
      );
    }
  });

  it('a directory: exit 2, "is a directory"', async () => {
    const r = await spanel(['--env-file', dir, 'config']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`spanel: invalid configuration:\n  - env file ${dir} (from --env-file) cannot be read: it is a directory, not a file\n`);
  });

  it.skipIf(process.getuid?.() !== 0)('an unreadable file: exit 2, permission denied', async () => {
    const file = join(dir, 'secret.env');
    writeFileSync(file, 'DATABASE_URL=mysql://spanel:pw@127.0.0.1/sspanel\n', { mode: 0o600 });
    const r = await spanel(['--env-file', file, 'config'], { asNobody: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `spanel: invalid configuration:\n  - env file ${file} (from --env-file) cannot be read: permission denied (run spanel as a user that may read it, e.g. its owner)\n`,
    );
  });

  it('a malformed file: exit 2 with the line number, a password in it masked', async () => {
    const file = join(dir, 'bad.env');
    writeFileSync(file, '# spanel\nLOG_LEVEL=info\nDATABASE_URL mysql://spanel:hunter2@db/sspanel\n', { mode: 0o600 });
    const r = await spanel(['--env-file', file, 'config']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `spanel: invalid configuration:\n  - env file ${file} (from --env-file) is malformed: line 3 is not NAME=value: "DATABASE_URL mysql://spanel:***@db/sspanel"\n`,
    );
  });

  it('a good file is read; quoted values may hold "#", multi-line quotes and comments are fine', async () => {
    const file = join(dir, 'good.env');
    writeFileSync(
      file,
      '# comment\nexport LOG_LEVEL=silent # trailing\nDATABASE_URL="mysql://spanel:pa#ss/w@rd@127.0.0.1:3306/sspanel"\nREDIS_KEY_PREFIX=\'ssp:\'\nX="two\nlines"\n\n',
      { mode: 0o600 },
    );
    const r = await spanel(['--env-file', file, 'config', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const cfg = JSON.parse(r.stdout);
    expect(JSON.stringify(cfg)).toContain('mysql://spanel:***@127.0.0.1:3306/sspanel');
    expect(JSON.stringify(cfg)).toContain('"ssp:"');
  });
});

describe('passwords with # / @ ? in a URL', () => {
  it('are percent-encoded in the credentials only, and decode back to what was typed', async () => {
    const { databaseUrl, redisUrl } = await import('../../src/config/parse.js');
    const { parseDatabaseUrl } = await import('../../src/db/url.js');
    const v = databaseUrl('mysql://sp:pa#ss/w@rd?x@127.0.0.1:3306/sspanel');
    expect(v).toBe('mysql://sp:pa%23ss%2Fw%40rd%3Fx@127.0.0.1:3306/sspanel');
    expect(parseDatabaseUrl(v)).toMatchObject({ user: 'sp', password: 'pa#ss/w@rd?x', host: '127.0.0.1', port: 3306, database: 'sspanel' });
    expect(databaseUrl('mysql://sp:a%23b@h/db')).toBe('mysql://sp:a%23b@h/db');
    expect(parseDatabaseUrl(databaseUrl('mysql://sp:50%off@h/db'))).toMatchObject({ password: '50%off' });
    expect(redisUrl('redis://:p#w@127.0.0.1:6379/0')).toBe('redis://:p%23w@127.0.0.1:6379/0');
  });
});
