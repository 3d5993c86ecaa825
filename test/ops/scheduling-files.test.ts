import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_RUN_SECONDS } from '../../src/ops/job-status.js';
import { BIN, ROOT } from '../helpers/cli.js';

/**
 * The shipped systemd units and crontab: valid for systemd itself, and on SPEC §3's schedule in
 * panel time. systemd-analyze works without systemd running as PID 1 (it only parses and loads
 * units), so these checks run in a container too; .ci/run installs it when missing.
 */
const JOBS = ['daily', 'hourly', 'check', 'dbclean'] as const;
const UNIT_DIR = join(ROOT, 'systemd');

/** Each job's OnCalendar and its next two elapses, in UTC, from 2026-11-25 00:00:00 UTC (08:00 in Shanghai). */
const SCHEDULE = {
  daily: { calendar: '*-*-* 02:00:00 Asia/Shanghai', next: ['Wed 2026-11-25 18:00:00 UTC', 'Thu 2026-11-26 18:00:00 UTC'] },
  hourly: { calendar: '*-*-* *:05:00 Asia/Shanghai', next: ['Wed 2026-11-25 00:05:00 UTC', 'Wed 2026-11-25 01:05:00 UTC'] },
  check: { calendar: '*-*-* *:00/10:00 Asia/Shanghai', next: ['Wed 2026-11-25 00:10:00 UTC', 'Wed 2026-11-25 00:20:00 UTC'] },
  dbclean: { calendar: 'Sun *-*-* 04:00:00 Asia/Shanghai', next: ['Sat 2026-11-28 20:00:00 UTC', 'Sat 2026-12-05 20:00:00 UTC'] },
} as const;

const analyze = (args: string[], env: Record<string, string> = {}) =>
  spawnSync('systemd-analyze', args, { encoding: 'utf8', env: { ...process.env, TZ: 'UTC', SYSTEMD_LOG_COLOR: '0', ...env } });

const hasAnalyze = analyze(['--version']).status === 0;

const unit = (name: string) => readFileSync(join(UNIT_DIR, name), 'utf8');
const directives = (text: string, key: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));

describe('systemd units', () => {
  it('systemd-analyze is installed (CI installs the systemd package)', () => {
    expect(hasAnalyze, 'systemd-analyze not found: apt-get install systemd').toBe(true);
  });

  it('ships a service and a timer per job, and the failure hook, and nothing else', () => {
    expect(readdirSync(UNIT_DIR).sort()).toEqual(
      [...JOBS.flatMap((j) => [`spanel-${j}.service`, `spanel-${j}.timer`]), 'spanel-failure@.service'].sort(),
    );
  });

  // verify needs an executable ExecStart and, depending on the systemd version, an existing
  // User=: the copies under test run the repo's bin/spanel as root. The shipped files are
  // checked separately for the production path and user.
  const dir = mkdtempSync(join(tmpdir(), 'spanel-units-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  for (const name of readdirSync(UNIT_DIR)) {
    const text = unit(name)
      .replace(/^ExecStart=\/usr\/local\/bin\/spanel /m, `ExecStart=${BIN} `)
      .replace(/^User=spanel$/m, 'User=root')
      .replace(/^Group=spanel$/m, 'Group=root');
    writeFileSync(join(dir, name), text);
  }

  it.each([...JOBS.flatMap((j) => [`spanel-${j}.service`, `spanel-${j}.timer`]), 'spanel-failure@spanel-daily.service.service'])(
    '%s passes systemd-analyze verify with no warning at all',
    (name) => {
      const r = analyze(['verify', '--man=no', join(dir, name)]);
      // Unknown or misspelled directives are only warnings (exit 0): any output fails the test.
      expect(r.stderr + r.stdout).toBe('');
      expect(r.status).toBe(0);
    },
  );

  it('the verify check catches a misspelled directive (so it cannot pass vacuously)', () => {
    const bad = join(dir, 'spanel-broken.service');
    copyFileSync(join(dir, 'spanel-daily.service'), bad);
    writeFileSync(bad, readFileSync(bad, 'utf8').replace('NoNewPrivileges=', 'NoNewPrivilege='));
    const r = analyze(['verify', '--man=no', bad]);
    rmSync(bad);
    expect(r.stderr).toMatch(/Unknown key 'NoNewPrivilege'/);
  });

  it.each(JOBS)('spanel-%s.service: oneshot, env file, dedicated user, exit 75 is success, sandboxed, failure hook', (job) => {
    const text = unit(`spanel-${job}.service`);
    const one = (key: string) => directives(text, key);
    expect(one('Type')).toEqual(['oneshot']);
    expect(one('ExecStart')).toEqual([`/usr/local/bin/spanel job ${job}`]);
    expect(one('EnvironmentFile')).toEqual(['/etc/spanel/spanel.env']);
    expect(one('User')).toEqual(['spanel']);
    expect(one('SuccessExitStatus')).toEqual(['75']);
    expect(one('OnFailure')).toEqual(['spanel-failure@%n.service']);
    for (const key of ['NoNewPrivileges', 'ProtectHome', 'PrivateTmp']) expect(one(key)).toEqual(['yes']);
    expect(one('ProtectSystem')).toEqual(['strict']);
    // The metrics directory must stay writable under ProtectSystem=strict.
    expect(one('ReadWritePaths')[0]).toContain('-/var/lib/node_exporter/textfile_collector');
  });

  it.each(JOBS)('spanel-%s.service: TimeoutStartSec matches what `spanel status` allows a run', (job) => {
    const [raw] = directives(unit(`spanel-${job}.service`), 'TimeoutStartSec');
    const m = /^(\d+)(min|h)$/.exec(raw ?? '');
    expect(m, `TimeoutStartSec=${raw}`).not.toBeNull();
    expect(Number(m![1]) * (m![2] === 'h' ? 3600 : 60)).toBe(MAX_RUN_SECONDS[job]);
  });

  it.each(JOBS)('spanel-%s.timer runs on SPEC §3 time in the panel zone, persistently', (job) => {
    const text = unit(`spanel-${job}.timer`);
    expect(directives(text, 'OnCalendar')).toEqual([SCHEDULE[job].calendar]);
    expect(directives(text, 'Persistent')).toEqual(['true']);
    expect(directives(text, 'Unit')).toEqual([`spanel-${job}.service`]);
    expect(directives(text, 'WantedBy')).toEqual(['timers.target']);
    // Jitter would break the 10-minute promise of check; elsewhere it stays small.
    const delay = directives(text, 'RandomizedDelaySec');
    if (job === 'check') expect(delay).toEqual([]);
    else expect(delay).toHaveLength(1);
  });

  it.each(JOBS)('OnCalendar of %s passes systemd-analyze calendar and elapses at the right UTC instants', (job) => {
    const r = analyze(['calendar', '--iterations=2', '--base-time=2026-11-25 00:00:00 UTC', SCHEDULE[job].calendar]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`Normalized form: ${SCHEDULE[job].calendar}`);
    expect(r.stdout).toContain(`Next elapse: ${SCHEDULE[job].next[0]}`);
    expect(r.stdout).toContain(`Iter. #2: ${SCHEDULE[job].next[1]}`);
  });

  it('systemd-analyze calendar rejects an invalid time (the check can fail)', () => {
    expect(analyze(['calendar', '*-*-* 25:00:00 Asia/Shanghai']).status).not.toBe(0);
  });
});

describe('crontab.example', () => {
  const text = readFileSync(join(ROOT, 'crontab.example'), 'utf8');
  const jobLines = text.split('\n').filter((l) => /^[\d*]/.test(l));

  it('sets CRON_TZ to the panel zone, MAILTO and a PATH', () => {
    expect(text).toMatch(/^CRON_TZ=Asia\/Shanghai$/m);
    expect(text).toMatch(/^MAILTO=\S+$/m);
    expect(text).toMatch(/^PATH=\/usr\/local\/bin:/m);
  });

  it('runs each job once, at SPEC §3 time, with the absolute binary, the env file and syslog output', () => {
    const expected: Record<string, string> = { daily: '0 2 * * *', hourly: '5 * * * *', check: '*/10 * * * *', dbclean: '0 4 * * 0' };
    expect(jobLines).toHaveLength(4);
    for (const [job, schedule] of Object.entries(expected)) {
      const [line] = jobLines.filter((l) => l.includes(` job ${job} `));
      expect(line!.split(/\s+/).slice(0, 5).join(' ')).toBe(schedule);
      expect(line).toContain(`/usr/local/bin/spanel --env-file /etc/spanel/spanel.env job ${job} `);
      expect(line).toContain(`logger -t spanel-${job}`);
      // Exit 75 (skipped: lock held) is not reported as a failure.
      expect(line).toContain('|| [ $? -eq 75 ] ||');
    }
  });

  it('the failure branch of a job line reports failures but not exit 0 or 75 (run through bash)', () => {
    const [line] = jobLines.filter((l) => l.includes(' job daily '));
    const command = line!.split(/\s+/).slice(5).join(' ');
    for (const [code, mails] of [[0, false], [75, false], [1, true], [2, true]] as const) {
      const fake = command.replace(/\/usr\/local\/bin\/spanel --env-file \S+ job daily/, `(exit ${code})`).replace('/usr/bin/logger -t spanel-daily', 'cat >/dev/null');
      const r = spawnSync('bash', ['-c', fake], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      expect(r.stdout.includes('failed'), `exit ${code}`).toBe(mails);
    }
  });
});
