import { chmodSync, existsSync, lstatSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { envFileWarnings } from '../../src/config/env-file-mode.js';
import { loadSettings } from '../../src/config/load.js';
import { pingObserver, withoutCredentials } from '../../src/ops/ping.js';
import { updateTextfile } from '../../src/ops/textfile.js';
import type { RunResult } from '../../src/runner/types.js';
import { runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';

const dir = mkdtempSync(join(tmpdir(), 'spanel-safety-'));

describe('the metrics file replaces only a file of its own', { timeout: 180_000 }, () => {
  const t = useTestDatabase('sqlite');
  const env = () => ({ DATABASE_URL: t.url, LOG_LEVEL: 'warn' });

  it('a foreign file is left untouched, the job still succeeds, and the log says why', async () => {
    const path = join(dir, 'important.txt');
    writeFileSync(path, 'important line one\nimportant line two\n');
    const r = await runCli(['job', 'dbclean', '--metrics-file', path], env());
    expect(r.code).toBe(0);
    expect(readFileSync(path, 'utf8')).toBe('important line one\nimportant line two\n');
    const warning = r.stderr.trim().split('\n').map((l) => JSON.parse(l)).find((l) => l.observer === 'metrics');
    expect(warning).toMatchObject({ level: 40, msg: 'observer failed; the run is not affected' });
    expect(warning.err).toBe(
      `${path} is not a spanel metrics file (line 1 is not a spanel_* series), so it was left untouched: point SPANEL_METRICS_FILE or --metrics-file at a file of spanel's own, e.g. /var/lib/node_exporter/textfile_collector/spanel.prom`,
    );
  });

  it('another exporter\'s series count as foreign too; absent, empty and spanel\'s own files are written', async () => {
    const other = join(dir, 'node.prom');
    writeFileSync(other, '# HELP node_x x\n# TYPE node_x gauge\nnode_x 1\n');
    await expect(updateTextfile(other, () => 'spanel_a 1\n', { ownPrefix: 'spanel_' })).rejects.toThrow(/line 1 is not a spanel_\* series/);
    expect(readFileSync(other, 'utf8')).toBe('# HELP node_x x\n# TYPE node_x gauge\nnode_x 1\n');

    const absent = join(dir, 'absent.prom');
    await updateTextfile(absent, () => 'spanel_a 1\n', { ownPrefix: 'spanel_' });
    expect(readFileSync(absent, 'utf8')).toBe('spanel_a 1\n');
    await updateTextfile(absent, (cur) => `spanel_a ${Number(cur[0]!.value) + 1}\n`, { ownPrefix: 'spanel_' });
    expect(readFileSync(absent, 'utf8')).toBe('spanel_a 2\n');

    const empty = join(dir, 'empty.prom');
    writeFileSync(empty, '');
    await updateTextfile(empty, () => 'spanel_a 1\n', { ownPrefix: 'spanel_' });
    expect(readFileSync(empty, 'utf8')).toBe('spanel_a 1\n');
  });

  it('a run through the CLI writes its series into a file that already holds spanel series', async () => {
    const path = join(dir, 'spanel.prom');
    writeFileSync(path, '# HELP spanel_job_last_run_success x\n# TYPE spanel_job_last_run_success gauge\nspanel_job_last_run_success{job="daily"} 1\n');
    const r = await runCli(['job', 'dbclean', '--metrics-file', path], env());
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const text = readFileSync(path, 'utf8');
    expect(text).toContain('spanel_job_last_run_success{job="daily"} 1\n');
    expect(text).toContain('spanel_job_last_run_success{job="dbclean"} 1\n');
  });
});

describe('demo --keep refuses symbolic links', { timeout: 240_000 }, () => {
  it('a dangling link: exit 2, nothing written where it points', async () => {
    const target = join(dir, 'elsewhere.sqlite');
    const link = join(dir, 'dangling.sqlite');
    symlinkSync(target, link);
    const r = await runCli(['demo', '--keep', link]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`spanel: --keep ${link}: ${link} is a symbolic link, and the demo does not write through links; give the path of a plain file\n`);
    expect(existsSync(target)).toBe(false);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  it('a link to an earlier demo database is refused too', async () => {
    const real = join(dir, 'real-demo.sqlite');
    expect((await runCli(['demo', '--keep', real])).code).toBe(0);
    const link = join(dir, 'link-to-demo.sqlite');
    symlinkSync(real, link);
    const r = await runCli(['demo', '--keep', link]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is a symbolic link');
  });
});

describe('an env file holding a password must not be readable by everyone', () => {
  const write = (name: string, text: string, mode: number) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    chmodSync(path, mode);
    return path;
  };

  it('warns for 0644 and 0666 with a password; not for 0600, 0640, or without a secret', () => {
    const secret = 'DATABASE_URL=mysql://spanel:hunter2@127.0.0.1/sspanel\n';
    for (const mode of [0o644, 0o666]) {
      const path = write(`open-${mode.toString(8)}.env`, secret, mode);
      expect(envFileWarnings(path, { DATABASE_URL: 'mysql://spanel:hunter2@127.0.0.1/sspanel' })).toEqual([
        `env file ${path} holds a secret (DATABASE_URL) and is readable by every user (mode 0${mode.toString(8)}): run "chmod 600 ${path}" (or 640 with group spanel)`,
      ]);
    }
    for (const mode of [0o600, 0o640]) {
      const path = write(`closed-${mode.toString(8)}.env`, secret, mode);
      expect(envFileWarnings(path, { DATABASE_URL: 'mysql://spanel:hunter2@127.0.0.1/sspanel' })).toEqual([]);
    }
    const nopw = write('nopw.env', 'DATABASE_URL=mysql://spanel@127.0.0.1/sspanel\n', 0o644);
    expect(envFileWarnings(nopw, { DATABASE_URL: 'mysql://spanel@127.0.0.1/sspanel' })).toEqual([]);
    expect(envFileWarnings(nopw, { REDIS_URL: 'redis://:p#w@127.0.0.1:6379' })).toHaveLength(1);
    expect(envFileWarnings(nopw, { SPANEL_PING_URL: 'https://hc-ping.com/KEY/spanel-{job}' })).toHaveLength(1);
  });

  it('doctor flags it, and every run logs the warning', async () => {
    const path = write('spanel.env', 'DATABASE_URL=sqlite::memory:\nREDIS_URL=redis://:secret@127.0.0.1:1/0\n', 0o644);
    const doctor = await runCli(['--env-file', path, 'doctor']);
    expect(doctor.stdout).toContain(
      `[WARN] env file: env file ${path} holds a secret (REDIS_URL) and is readable by every user (mode 0644): run "chmod 600 ${path}" (or 640 with group spanel)\n`,
    );
    const config = await runCli(['--env-file', path, 'config'], { LOG_LEVEL: 'warn' });
    expect(config.code).toBe(0);
    expect(JSON.parse(config.stderr.trim())).toMatchObject({ level: 40, msg: expect.stringContaining(`env file ${path} holds a secret (REDIS_URL)`) });
    chmodSync(path, 0o600);
    expect((await runCli(['--env-file', path, 'config'], { LOG_LEVEL: 'warn' })).stderr).toBe('');
  });
});

describe('credentials in a ping URL', () => {
  it('become a Basic Authorization header; the URL sent has none', () => {
    expect(withoutCredentials('https://u%40x:p%3Aw@hc.example/ping/abc')).toEqual({
      url: 'https://hc.example/ping/abc',
      authorization: { authorization: `Basic ${Buffer.from('u@x:p:w').toString('base64')}` },
    });
    expect(withoutCredentials('https://hc.example/ping/abc')).toEqual({ url: 'https://hc.example/ping/abc', authorization: {} });
  });

  it('a ping with user:pass@ reaches the server authenticated (fetch alone would refuse the URL)', async () => {
    const seen: { url: string; auth: string | undefined }[] = [];
    const server = createServer((req, res) => {
      seen.push({ url: req.url!, auth: req.headers.authorization });
      req.resume();
      req.on('end', () => res.end('OK'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const log = pino({ level: 'silent' });
      const ping = pingObserver({ url: `http://ops:s3cret@127.0.0.1:${port}/ping/daily`, job: 'daily', timeoutSeconds: 5, log });
      await ping.onStart?.({ command: 'job daily', lockName: null, steps: [] });
      await ping.onFinish?.({ outcome: 'success', command: 'job daily', steps: [], durationMs: 10 } as unknown as RunResult);
      const basic = `Basic ${Buffer.from('ops:s3cret').toString('base64')}`;
      expect(seen).toEqual([
        { url: '/ping/daily/start', auth: basic },
        { url: '/ping/daily', auth: basic },
      ]);
    } finally {
      server.close();
    }
  });
});

describe('README promises kept', () => {
  it('any negative ACCOUNT_EXPIRE_DELETE_DAYS turns rule a off', () => {
    for (const v of ['-1', '-7', '-365']) {
      expect(loadSettings({ env: { ACCOUNT_EXPIRE_DELETE_DAYS: v }, cwd: '/' }).settings.accountExpireDeleteDays).toBe(Number(v));
    }
  });
});
