import { existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/load.js';
import { FAMILIES, mergeJob, metricsObserver } from '../../src/ops/metrics.js';
import { createObservers } from '../../src/ops/observers.js';
import { parseSamples, renderSamples, updateTextfile } from '../../src/ops/textfile.js';
import { runCommand } from '../../src/runner/run.js';
import type { CommandSpec, RunResult, Step } from '../../src/runner/types.js';
import { runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';

const log = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'spanel-metrics-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(dir, `m${++n}`, 'spanel.prom');

/** Samples of the file as `name{labels} value` strings, for exact comparison. */
const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'));

const step = (name: string, count: number): Step => ({ name, title: name, run: async () => ({ count, changes: [] }) });
const failing: Step = {
  name: 'boom',
  title: 'boom',
  run: async () => {
    throw new Error('step exploded');
  },
};

// Metrics do not depend on the dialect: the embedded database keeps these runs fast.
describe('metrics file (node_exporter textfile)', () => {
  const t = useTestDatabase('sqlite');
  const env = (extra: Record<string, string> = {}) => ({ DATABASE_URL: t.url, ...extra });

  /** A real run of `job <name>` with the given steps through the runner and the configured observers. */
  async function run(job: string, steps: Step[], metricsFile: string, dryRun = false): Promise<RunResult> {
    const settings = loadSettings({ env: env({ SPANEL_METRICS_FILE: metricsFile }), cwd: '/' }).settings;
    const spec: CommandSpec = { command: `job ${job}`, lockName: `test:${job}`, steps };
    const observers = await createObservers(settings, log, spec);
    return runCommand(spec, { settings, log, observers, database: t.db }, { dryRun, force: false, now: new Date(), operator: 't' });
  }

  let path: string;
  beforeEach(() => {
    path = freshPath();
    mkdirSync(join(path, '..'), { recursive: true });
  });

  it('a real job run through the CLI writes every series of that job (--metrics-file)', async () => {
    const before = Date.now() / 1000;
    const r = await runCli(['job', 'hourly', '--metrics-file', path], env());
    expect(r.code, r.stderr).toBe(0);
    const after = Date.now() / 1000;
    const text = readFileSync(path, 'utf8');
    const samples = parseSamples(text);
    const value = (name: string, labels: Record<string, string> = {}) =>
      Number(samples.find((s) => s.name === name && Object.entries({ job: 'hourly', ...labels }).every(([k, v]) => s.labels[k] === v))?.value);
    expect(value('spanel_job_last_run_timestamp_seconds')).toBeGreaterThanOrEqual(Math.floor(before));
    expect(value('spanel_job_last_run_timestamp_seconds')).toBeLessThanOrEqual(after);
    expect(value('spanel_job_last_success_timestamp_seconds')).toBe(value('spanel_job_last_run_timestamp_seconds'));
    expect(value('spanel_job_last_run_duration_seconds')).toBeGreaterThan(0);
    expect(value('spanel_job_last_run_success')).toBe(1);
    expect(value('spanel_job_last_run_outcome', { outcome: 'success' })).toBe(1);
    expect(value('spanel_job_last_run_outcome', { outcome: 'failed' })).toBe(0);
    // One rows_changed series per step of the job, in step order, each a count.
    const result = JSON.parse((await runCli(['job', 'hourly', '--dry-run', '--json'], env())).stdout) as RunResult;
    expect(samples.filter((s) => s.name === 'spanel_job_rows_changed').map((s) => s.labels.step)).toEqual(result.steps.map((s) => s.name));
    // HELP and TYPE once per family, families in order.
    expect(text.match(/^# TYPE .*$/gm)).toEqual(FAMILIES.map((f) => `# TYPE ${f.name} gauge`));
  });

  it('SPANEL_METRICS_FILE works too, and the option wins over it', async () => {
    const other = join(path, '..', 'other.prom');
    expect((await runCli(['job', 'dbclean'], env({ SPANEL_METRICS_FILE: path }))).code).toBe(0);
    expect(existsSync(path)).toBe(true);
    expect((await runCli(['job', 'check', '--metrics-file', other], env({ SPANEL_METRICS_FILE: path }))).code).toBe(0);
    expect(lines(other).every((l) => l.includes('job="check"'))).toBe(true);
    expect(lines(path).some((l) => l.includes('job="check"'))).toBe(false);
  });

  it('exact content after runs of two jobs, then a failed run: other jobs and the last success are kept', async () => {
    await run('daily', [step('first', 3), step('second', 0)], path);
    await run('hourly', [step('only', 7)], path);
    const afterSuccess = lines(path);
    const ts = (job: string) => afterSuccess.find((l) => l.startsWith(`spanel_job_last_success_timestamp_seconds{job="${job}"}`))!;
    const failed = await run('daily', [step('first', 5), failing], path);
    expect(failed.outcome).toBe('failed');
    const after = lines(path).map((l) => l.replace(/(_timestamp_seconds\{job="daily"\}|_duration_seconds\{job="(?:daily|hourly)"\}) [\d.]+$/, '$1 X'));
    expect(after).toEqual([
      'spanel_job_last_run_timestamp_seconds{job="daily"} X',
      expect.stringMatching(/^spanel_job_last_run_timestamp_seconds\{job="hourly"\} \d+(\.\d+)?$/),
      // The failed run does not move the last success of daily (same value as before it).
      ts('daily').replace(/ [\d.]+$/, ' X'),
      ts('hourly'),
      'spanel_job_last_run_duration_seconds{job="daily"} X',
      'spanel_job_last_run_duration_seconds{job="hourly"} X',
      'spanel_job_last_run_success{job="daily"} 0',
      'spanel_job_last_run_success{job="hourly"} 1',
      'spanel_job_last_run_outcome{job="daily",outcome="success"} 0',
      'spanel_job_last_run_outcome{job="daily",outcome="partial"} 0',
      'spanel_job_last_run_outcome{job="daily",outcome="failed"} 1',
      'spanel_job_last_run_outcome{job="daily",outcome="interrupted"} 0',
      'spanel_job_last_run_outcome{job="hourly",outcome="success"} 1',
      'spanel_job_last_run_outcome{job="hourly",outcome="partial"} 0',
      'spanel_job_last_run_outcome{job="hourly",outcome="failed"} 0',
      'spanel_job_last_run_outcome{job="hourly",outcome="interrupted"} 0',
      // Rolled back: the rows of the last committed run stay (not the 5 of the failed one).
      'spanel_job_rows_changed{job="daily",step="first"} 3',
      'spanel_job_rows_changed{job="daily",step="second"} 0',
      'spanel_job_rows_changed{job="hourly",step="only"} 7',
    ]);
    expect(lines(path).find((l) => l.startsWith('spanel_job_last_success_timestamp_seconds{job="daily"}'))).toBe(ts('daily'));
    // A later success replaces daily's series, steps included.
    await run('daily', [step('first', 1)], path);
    expect(lines(path).filter((l) => l.startsWith('spanel_job_rows_changed'))).toEqual([
      'spanel_job_rows_changed{job="daily",step="first"} 1',
      'spanel_job_rows_changed{job="hourly",step="only"} 7',
    ]);
  });

  it('a dry run writes no metrics, and a payment command none either', async () => {
    const dry = await runCli(['job', 'daily', '--dry-run', '--metrics-file', path], env());
    expect(dry.code).toBe(0);
    expect(existsSync(path)).toBe(false);
    await run('daily', [step('x', 1)], path, true);
    expect(existsSync(path)).toBe(false);
    const settings = loadSettings({ env: env({ SPANEL_METRICS_FILE: path }), cwd: '/' }).settings;
    expect(await createObservers(settings, log, { command: 'payment confirm', lockName: null, steps: [] })).toEqual([]);
  });

  it('{job} in the path gives each job its own file', async () => {
    const template = join(path, '..', 'spanel-{job}.prom');
    await run('daily', [step('a', 1)], template);
    await run('check', [step('b', 2)], template);
    expect(readdirSync(join(path, '..')).sort()).toEqual(['spanel-check.prom', 'spanel-daily.prom']);
    expect(lines(join(path, '..', 'spanel-check.prom')).every((l) => l.includes('job="check"'))).toBe(true);
  });

  it('a metrics file that cannot be written is logged and does not fail the run', async () => {
    const r = await runCli(['job', 'hourly', '--metrics-file', join(dir, 'no-such-dir', 'x.prom')], env({ LOG_LEVEL: 'warn' }));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('observer failed; the run is not affected');
  });
});

describe('atomic replacement', () => {
  const result = (outcome: RunResult['outcome'] = 'success'): RunResult => ({
    command: 'job x',
    runId: 1,
    dryRun: false,
    outcome,
    now: '',
    nowPanelLocal: '',
    timezone: 'UTC',
    startedAt: '',
    durationMs: 1000,
    steps: [{ name: 's', title: 's', count: 1, changes: [], durationMs: 1 }],
    missingEffects: [],
    error: null,
    exitCode: 0,
  });
  let path: string;
  beforeEach(() => {
    path = freshPath();
    mkdirSync(join(path, '..'), { recursive: true });
  });

  it('replaces the file by rename: the old inode keeps its complete old content, no temp file is left', async () => {
    await metricsObserver({ path, job: 'daily', now: () => 1000_000 }).onFinish!(result());
    const old = readFileSync(path, 'utf8');
    const ino = statSync(path).ino;
    linkSync(path, `${path}.old`); // a reader that opened the old file
    await metricsObserver({ path, job: 'daily', now: () => 2000_000 }).onFinish!(result());
    expect(statSync(path).ino).not.toBe(ino);
    expect(readFileSync(`${path}.old`, 'utf8')).toBe(old);
    expect(readFileSync(path, 'utf8')).toContain('spanel_job_last_run_timestamp_seconds{job="daily"} 2000\n');
    expect(readdirSync(join(path, '..')).sort()).toEqual(['spanel.prom', 'spanel.prom.old']);
  });

  it('the file is readable by node_exporter (0644) whatever the umask', async () => {
    const previous = process.umask(0o077);
    try {
      await metricsObserver({ path, job: 'daily' }).onFinish!(result());
    } finally {
      process.umask(previous);
    }
    expect(statSync(path).mode & 0o777).toBe(0o644);
  });

  it('readers never see a partial file while writers replace it', async () => {
    const jobs = Array.from({ length: 8 }, (_, i) => `job${i}`);
    let stop = false;
    const seen: string[] = [];
    const reader = (async () => {
      while (!stop) {
        try {
          seen.push(readFileSync(path, 'utf8'));
        } catch {
          /* not created yet */
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    for (let round = 0; round < 10; round++) {
      for (const job of jobs) await metricsObserver({ path, job }).onFinish!(result());
    }
    stop = true;
    await reader;
    expect(seen.length).toBeGreaterThan(10);
    for (const text of seen) {
      expect(text.endsWith('\n')).toBe(true);
      expect(text).toMatch(/^# HELP spanel_job_last_run_timestamp_seconds /);
      expect(parseSamples(text).length % 9).toBe(0); // 9 series per job (one step), never a truncated set
    }
  });

  it('concurrent writers of different jobs keep each other\'s series (the lock)', async () => {
    const jobs = Array.from({ length: 20 }, (_, i) => `job${String(i).padStart(2, '0')}`);
    await Promise.all(jobs.map((job) => metricsObserver({ path, job }).onFinish!(result())));
    const found = new Set(parseSamples(readFileSync(path, 'utf8')).map((s) => s.labels.job));
    expect([...found].sort()).toEqual(jobs);
    expect(existsSync(join(path, '..', '.spanel.prom.lock'))).toBe(false);
  });

  it('a stale lock (writer died) is taken over; a live one makes the write give up', async () => {
    const lock = join(path, '..', '.spanel.prom.lock');
    writeFileSync(lock, '');
    await expect(updateTextfile(path, () => 'x 1\n', { lockWaitMs: 100 })).rejects.toThrow(/held by another writer/);
    expect(existsSync(path)).toBe(false);
    utimesSync(lock, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    await updateTextfile(path, () => 'x 1\n', { lockWaitMs: 100 });
    expect(readFileSync(path, 'utf8')).toBe('x 1\n');
  });

  it('label values are escaped and parsed back', () => {
    const samples = [{ name: 'spanel_job_rows_changed', labels: { job: 'a"b', step: 'c\\d\ne' }, value: '1' }];
    const text = renderSamples(FAMILIES, samples);
    expect(text).toContain('spanel_job_rows_changed{job="a\\"b",step="c\\\\d\\ne"} 1');
    expect(parseSamples(text)).toEqual(samples);
    expect(mergeJob(samples, 'other', result(), 5).filter((s) => s.labels.job === 'a"b')).toEqual(samples);
  });
});
