import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { jobSpec } from '../../src/jobs/registry.js';
import { BATCHED_JOBS } from '../../src/ops/job-status.js';
import { runCli } from '../helpers/cli.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';

const JOBS = ['daily', 'hourly', 'check', 'dbclean'] as const;
const LIMIT = { daily: 26 * 3600, hourly: 2 * 3600, check: 30 * 60, dbclean: 8 * 86400 };
const NOW = Date.parse('2026-11-25T04:00:00Z'); // 12:00 in Shanghai; the test host runs in UTC

describe.each(DIALECTS)('spanel status on %s', (dialect) => {
  const t = useTestDatabase(dialect);
  const status = (...args: string[]) => runCli(['status', ...args], { DATABASE_URL: t.url, SPANEL_TIMEZONE: 'Asia/Shanghai' });
  const statusAt = (ms: number, ...args: string[]) => status('--json', '--now', new Date(ms).toISOString(), ...args);

  /** One spanel_run row as the runner writes it. */
  const seed = (job: string, startedMs: number, row: Record<string, unknown> = {}) =>
    t.knex('spanel_run').insert({
      command: `job ${job}`,
      outcome: 'success',
      started_at: startedMs,
      finished_at: startedMs + 1500,
      duration_ms: 1500,
      now_at: startedMs,
      host: 'panel-1',
      pid: 4242,
      operator: 'spanel',
      steps: JSON.stringify([{ name: 'first-step', count: 3, durationMs: 5 }, { name: 'second-step', count: 0, durationMs: 1 }]),
      error: null,
      ...row,
    });
  const seedAllRecent = (except?: string) => Promise.all(JOBS.filter((j) => j !== except).map((j) => seed(j, NOW - 60_000)));

  beforeEach(async () => {
    await t.knex('spanel_run').del();
  });

  it('on a fresh database: every job never run, exit 1', async () => {
    const r = await status('--json');
    expect(r.code).toBe(1);
    const report = r.json();
    expect(report.ok).toBe(false);
    expect(report.jobs.map((j: any) => [j.job, j.state, j.ok, j.problems, j.lastRun, j.overdue])).toEqual(
      JOBS.map((j) => [j, 'never-run', false, ['never run'], null, false]),
    );
    const human = await status();
    expect(human.code).toBe(1);
    expect(human.stdout).toContain('ATTENTION: 4 jobs need attention');
    expect(human.stdout).toContain('  daily: never run');
  });

  it('after each job has really run: all healthy, exit 0, with step counts', async () => {
    for (const job of JOBS) {
      const run = await runCli(['job', job], { DATABASE_URL: t.url });
      expect(run.code, run.stderr).toBe(0);
    }
    const r = await status('--json');
    expect(r.code, r.stdout).toBe(0);
    const report = r.json();
    expect(report.ok).toBe(true);
    for (const j of report.jobs) {
      expect(j).toMatchObject({ ok: true, state: 'success', problems: [], overdue: false, running: null });
      expect(j.lastRun.outcome).toBe('success');
      expect(j.lastRun.steps.length).toBeGreaterThan(0);
      expect(j.lastRun.steps.every((s: any) => typeof s.name === 'string' && Number.isInteger(s.count))).toBe(true);
      expect(j.secondsSinceSuccess).toBeLessThan(120);
    }
    const human = await status();
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('OK: every job ran successfully and on time');
  });

  it('shows the last run in panel-local time with outcome, duration and step counts', async () => {
    await seedAllRecent('daily');
    await seed('daily', Date.parse('2026-11-24T18:00:00Z')); // 02:00 in Shanghai, 10 h ago
    const r = await statusAt(NOW);
    expect(r.code).toBe(0);
    const daily = r.json().jobs.find((j: any) => j.job === 'daily');
    expect(daily).toMatchObject({
      ok: true,
      state: 'success',
      lastSuccessAt: '2026-11-24T18:00:00.000Z',
      lastSuccessPanelLocal: '2026-11-25 02:00:00',
      secondsSinceSuccess: 10 * 3600,
      overdue: false,
      overdueAfterSeconds: 26 * 3600,
    });
    expect(daily.lastRun).toMatchObject({
      outcome: 'success',
      startedAt: '2026-11-24T18:00:00.000Z',
      startedAtPanelLocal: '2026-11-25 02:00:00',
      finishedAt: '2026-11-24T18:00:01.500Z',
      durationMs: 1500,
      host: 'panel-1',
      steps: [
        { name: 'first-step', count: 3 },
        { name: 'second-step', count: 0 },
      ],
    });
    const human = await status('--now', new Date(NOW).toISOString());
    expect(human.stdout).toMatch(/^daily +success +2026-11-25 02:00:00 +1\.5 s +10h ago +1d 2h$/m);
    expect(human.stdout).toContain('  daily    first-step 3, second-step 0');
  });

  it('a failed last run makes the job unhealthy (exit 1) even when an earlier run succeeded', async () => {
    await seedAllRecent();
    await seed('hourly', NOW - 30_000, { outcome: 'failed', steps: '[]', error: 'the database went away\nsecond line' });
    const r = await statusAt(NOW);
    expect(r.code).toBe(1);
    const report = r.json();
    const hourly = report.jobs.find((j: any) => j.job === 'hourly');
    expect(hourly).toMatchObject({ ok: false, state: 'failed', overdue: false, secondsSinceSuccess: 60 });
    expect(hourly.problems).toEqual(['last run failed at 2026-11-25 11:59:30: the database went away']);
    expect(report.jobs.filter((j: any) => !j.ok).map((j: any) => j.job)).toEqual(['hourly']);
    // A later success clears it.
    await seed('hourly', NOW - 10_000);
    expect((await statusAt(NOW)).code).toBe(0);
  });

  it('step counts are "rows changed" only for a run that committed; a failed or interrupted run changed nothing', async () => {
    const ran = JSON.stringify([{ name: 'first-step', count: 3, durationMs: 5 }]);
    await seedAllRecent();
    await seed('daily', NOW - 30_000, { outcome: 'failed', steps: ran, error: 'boom' });
    await seed('hourly', NOW - 30_000, { outcome: 'interrupted', steps: ran, error: 'interrupted by SIGTERM: rolled back' });
    await seed('check', NOW - 30_000, { outcome: 'partial', steps: ran, error: 'after-commit writes missing' });
    await seed('dbclean', NOW - 30_000, { outcome: 'failed', steps: '[]', error: 'lost the connection' });
    const jobs = (await statusAt(NOW)).json().jobs;
    expect(jobs.map((j: any) => [j.job, j.lastRun.outcome, j.lastRun.rolledBack, j.lastRun.steps])).toEqual([
      ['daily', 'failed', true, []],
      ['hourly', 'interrupted', true, []],
      ['check', 'partial', false, [{ name: 'first-step', count: 3 }]],
      ['dbclean', 'failed', false, []],
    ]);
    const human = (await status('--now', new Date(NOW).toISOString())).stdout;
    const changed = human.slice(human.indexOf('Rows changed by the last run:'), human.indexOf('ATTENTION'));
    expect(changed.trim().split('\n')).toEqual([
      'Rows changed by the last run:',
      '  daily    nothing: it failed and was rolled back',
      '  hourly   nothing: it was interrupted and was rolled back',
      '  check    first-step 3',
      '  dbclean  not counted: it failed; the batches it committed before are kept',
    ]);
  });

  it('only dbclean commits batch by batch (BATCHED_JOBS agrees with the job registry)', async () => {
    for (const job of JOBS) expect(BATCHED_JOBS.has(job), job).toBe((await jobSpec(job)).mode === 'batched');
  });

  it('a run that only ever failed is also overdue', async () => {
    await seedAllRecent('check');
    await seed('check', NOW - 60_000, { outcome: 'partial' });
    const check = (await statusAt(NOW)).json().jobs.find((j: any) => j.job === 'check');
    expect(check.problems).toEqual(['last run partial at 2026-11-25 11:59:00', 'overdue: it has never succeeded']);
  });

  it.each(JOBS)('%s: overdue just past its limit, not at it (via --now)', async (job) => {
    await seedAllRecent();
    const last = NOW - 60_000;
    const atLimit = await statusAt(last + LIMIT[job] * 1000);
    const j = (r: typeof atLimit) => r.json().jobs.find((x: any) => x.job === job);
    expect(j(atLimit)).toMatchObject({ overdue: false, ok: true });
    const past = await statusAt(last + (LIMIT[job] + 1) * 1000);
    expect(past.code).toBe(1);
    expect(j(past)).toMatchObject({ overdue: true, ok: false, state: 'success', secondsSinceSuccess: LIMIT[job] + 1 });
    expect(j(past).problems[0]).toMatch(/^overdue: last success .* ago \(limit /);
  });

  it('the limits are configurable (SPANEL_OVERDUE_*)', async () => {
    await seedAllRecent();
    const r = await runCli(['status', '--json', '--now', new Date(NOW + 11 * 60_000).toISOString()], {
      DATABASE_URL: t.url,
      SPANEL_OVERDUE_CHECK: '10m',
    });
    expect(r.code).toBe(1);
    expect(r.json().jobs.filter((j: any) => j.overdue).map((j: any) => j.job)).toEqual(['check']);
  });

  it('a run in progress is reported as running and does not by itself make the job unhealthy', async () => {
    await seedAllRecent();
    await seed('daily', NOW - 5_000, { outcome: 'running', finished_at: null, duration_ms: null, steps: null, host: hostname(), pid: process.pid });
    const r = await statusAt(NOW);
    expect(r.code).toBe(0);
    const daily = r.json().jobs.find((j: any) => j.job === 'daily');
    expect(daily.running).toMatchObject({ outcome: 'running', pid: process.pid, startedAtPanelLocal: '2026-11-25 11:59:55' });
    expect(daily.lastRun.outcome).toBe('success');
    expect((await status('--now', new Date(NOW).toISOString())).stdout).toContain('daily is running now');
  });

  it('a "running" row whose process is gone on this host is reported as crashed (exit 1)', async () => {
    await seedAllRecent();
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    await seed('check', NOW - 5_000, { outcome: 'running', finished_at: null, duration_ms: null, steps: null, host: hostname(), pid: gone });
    const r = await statusAt(NOW);
    expect(r.code).toBe(1);
    const check = r.json().jobs.find((j: any) => j.job === 'check');
    expect(check.state).toBe('crashed');
    expect(check.problems).toEqual([`run #${check.lastRun.id} started 2026-11-25 11:59:55 ended without recording its outcome (process ${gone} is gone)`]);
  });

  it('a "running" row on another host older than the longest allowed run is reported as stale', async () => {
    await seedAllRecent('hourly');
    await seed('hourly', NOW - 3600_000);
    const running = { outcome: 'running', finished_at: null, duration_ms: null, steps: null, host: 'other-host' };
    await seed('hourly', NOW - 1800_000, running); // exactly the 30 min a run may take: still running
    expect((await statusAt(NOW)).code).toBe(0);
    const r = await statusAt(NOW + 1000);
    expect(r.code).toBe(1);
    const hourly = r.json().jobs.find((j: any) => j.job === 'hourly');
    expect(hourly.state).toBe('stale');
    expect(hourly.problems[0]).toMatch(/on other-host has been "running" for 30m 1s/);
  });

  it('only the four jobs count: payment and referral runs are ignored', async () => {
    await seedAllRecent();
    await t.knex('spanel_run').insert({ command: 'payment confirm', outcome: 'failed', started_at: NOW, now_at: NOW, host: 'h', pid: 1, operator: 'x' });
    expect((await statusAt(NOW)).code).toBe(0);
  });

  it('an unmigrated database: exit 1 saying to run migrate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spanel-status-'));
    const r = await runCli(['status'], { DATABASE_URL: `sqlite:${join(dir, 'empty.sqlite')}` });
    rmSync(dir, { recursive: true, force: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('run `spanel migrate` first');
  });
});
