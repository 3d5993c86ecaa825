import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connect.js';
import { IGNORING } from '../../src/demo/report.js';
import { DEMO_RUNS } from '../../src/demo/script.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { insertUser, normalise } from '../helpers/fixtures.js';
import { useTestRedis } from '../helpers/redis.js';
import { expectDemoEndState } from './end-state.js';

const dir = mkdtempSync(join(tmpdir(), 'spanel-demo-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function dumpAll(knex: import('knex').Knex): Promise<Record<string, unknown>> {
  const tables: { name: string }[] = await knex('information_schema.tables').select('table_name as name').whereRaw('table_schema = DATABASE()').orderBy('table_name');
  const out: Record<string, unknown> = {};
  // Every table, whatever its key (spanel_migrations_lock has no id): rows in a stable order.
  for (const { name } of tables) out[name] = (await knex(name).select('*')).map((r) => JSON.stringify(normalise(r))).sort();
  return out;
}

describe('spanel demo', () => {
  const t = useTestDatabase('mysql');
  const redis = useTestRedis();

  it('ignores DATABASE_URL and REDIS_URL, says so, shows every run, and deletes its temporary file', async () => {
    await insertUser(t.knex, { email: 'real-panel-user@example.com', money: '-5.00', class: 1, class_expire: '2000-01-01 00:00:00' });
    const before = await dumpAll(t.knex);
    const env = { DATABASE_URL: t.url, REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix };
    const started = Date.now();
    const r = await spawnCli(['demo'], env);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${IGNORING} (DATABASE_URL and REDIS_URL are set here, and unused)`);
    for (const run of DEMO_RUNS) {
      expect(r.stdout).toContain(`━━ spanel ${run.command} --now `);
      expect(r.stdout).toMatch(new RegExp(`spanel ${run.command.replace(/ \d+$/, '')} — DRY RUN`));
    }
    expect(r.stdout.match(/✓ the real run changed exactly what the dry run reported/g)).toHaveLength(DEMO_RUNS.length);
    expect(r.stdout).toContain('user #11: u 5 GiB → 8 GiB, d 3 GiB → 0 B, transfer_limit 10 GiB → 20 GiB,');
    expect(r.stdout).not.toMatch(/\x1b\[/);
    // The configured database and Redis are exactly as they were.
    expect(await dumpAll(t.knex)).toEqual(before);
    expect(await redis.client.keys(`${redis.prefix}*`)).toEqual([]);
    const file = /^database (\S+) deleted\./m.exec(r.stdout)?.[1];
    expect(file).toMatch(/spanel-demo-.*panel\.sqlite$/);
    expect(existsSync(file!)).toBe(false);
    expect(existsSync(dirname(file!))).toBe(false);
  });

  it('--keep PATH leaves the demo database with the end state the scenarios promise, and replaces it on a rerun', async () => {
    const path = join(dir, 'kept.sqlite');
    const first = await runCli(['demo', '--keep', path]);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`database kept at ${path}`);
    expect(first.stdout).toContain(`DATABASE_URL=sqlite:${path} npx spanel`);
    const db = await openDatabase(`sqlite:${path}`);
    try {
      await expectDemoEndState(db.knex);
      expect((await db.knex('spanel_run').select('command', 'outcome').orderBy('id')).map((r) => `${r.command} ${r.outcome}`)).toEqual([
        'job daily success', 'job hourly success', 'job check success', 'job dbclean success', 'payment confirm success', 'referral recover success',
      ]);
    } finally {
      await db.close();
    }
    const again = await runCli(['demo', '--keep', path]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('(replaces the earlier demo database there)');
    const db2 = await openDatabase(`sqlite:${path}`);
    try {
      await expectDemoEndState(db2.knex);
    } finally {
      await db2.close();
    }
  });

  it('--keep refuses to overwrite a file that is not a demo database, and leaves it untouched', async () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'precious\n');
    const other = join(dir, 'other.sqlite');
    const o = new BetterSqlite3(other);
    o.exec('create table t (x int); insert into t values (42)');
    o.close();
    const otherBytes = readFileSync(other);
    for (const path of [text, other]) {
      const r = await runCli(['demo', '--keep', path]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${path} exists and is not a spanel demo database, so the demo will not overwrite it`);
      expect(r.stdout).toBe('');
    }
    expect(readFileSync(text, 'utf8')).toBe('precious\n');
    expect(readFileSync(other).equals(otherBytes)).toBe(true);
    const missing = await runCli(['demo', '--keep', join(dir, 'no-such-dir', 'x.sqlite')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('does not exist');
  });

  it('--json prints one object per line: start, seed, every run (dry and real, each step changing rows), summary, end', async () => {
    const r = await runCli(['demo', '--json'], { DATABASE_URL: t.url });
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.demo)).toEqual(['start', 'seeded', ...DEMO_RUNS.map(() => 'run'), 'summary', 'end']);
    expect(lines[0]).toMatchObject({ message: IGNORING, ignored: { DATABASE_URL: true, REDIS_URL: false }, temporary: true });
    for (const run of lines.filter((l) => l.demo === 'run')) {
      expect(run.dryRun.dryRun).toBe(true);
      expect(run.real.outcome, run.command).toBe('success');
      for (const step of run.real.steps) expect(step.count, `${run.command}: ${step.title}`).toBeGreaterThan(0);
    }
    expect(lines.at(-2)).toMatchObject({ ok: true, end: { users: 38, archived: 4, disabled: 6, ledgerRows: 7, runs: 6 } });
    expect(existsSync(lines.at(-1).database)).toBe(false);
  });
});
