import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';

/**
 * Issue 10 item 5: dbclean commits batch by batch, so a run stopped by SIGINT must report, record
 * and count in its metrics the rows its committed batches deleted, with outcome "interrupted",
 * never "rolled back, nothing was changed".
 */
const NOW = '2026-11-25T02:00:00Z';
const OLD = Date.parse(NOW) / 1000 - 10 * 86_400;
const ROWS = 30_000;

describe('job dbclean interrupted by SIGINT (MariaDB, real process)', () => {
  const t = useTestDatabase('mysql');
  const dir = mkdtempSync(join(tmpdir(), 'spanel-dbclean-int-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exit 130, outcome interrupted, and the printed, recorded and metered count is the rows really deleted', async () => {
    await t.knex.raw(
      `INSERT INTO user_traffic_log (log_time) SELECT ? FROM seq_1_to_${ROWS}`,
      [OLD],
    );
    expect(Number((await t.knex('user_traffic_log').count({ n: '*' }).first())!.n)).toBe(ROWS);
    const metrics = join(dir, 'spanel.prom');
    const child = spawn(process.execPath, [BIN, 'job', 'dbclean', '--now', NOW, '--json'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: t.url, DBCLEAN_BATCH_SIZE: '100', DBCLEAN_BATCH_MS: '0', LOG_LEVEL: 'debug', SPANEL_METRICS_FILE: metrics },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let batches = 0;
    let signalled = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => {
      batches += (d.toString().match(/dbclean batch/g) ?? []).length;
      if (batches >= 5 && !signalled) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(signalled).toBe(true);
    expect(code).toBe(130);

    const deleted = ROWS - Number((await t.knex('user_traffic_log').count({ n: '*' }).first())!.n);
    expect(deleted).toBeGreaterThan(0);
    expect(deleted).toBeLessThan(ROWS);
    const out = JSON.parse(stdout);
    expect(out.outcome).toBe('interrupted');
    expect(out.changesKept).toBe(true);
    expect(out.steps[0].counts.user_traffic_log).toBe(deleted);
    expect(out.error).toBe(`interrupted by SIGINT between batches: ${deleted} rows deleted in committed batches stay deleted; the next run resumes`);

    const run = await t.knex('spanel_run').where('id', out.runId).first();
    expect(run.outcome).toBe('interrupted');
    expect(JSON.parse(run.steps)).toMatchObject([{ name: 'log-retention', count: deleted }]);
    expect(readFileSync(metrics, 'utf8')).toContain(`spanel_job_rows_changed{job="dbclean",step="log-retention"} ${deleted}`);
    expect(readFileSync(metrics, 'utf8')).toContain(`spanel_job_last_run_outcome{job="dbclean",outcome="interrupted"} 1`);
  });
});
