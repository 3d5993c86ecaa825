import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, spawnCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { MYSQL_ADMIN_URL } from '../helpers/services.js';

describe('command line', () => {
  it('--help lists every command with a one-line description', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['job daily | hourly | check | dbclean', 'payment confirm <order>', 'referral recover <user>', 'migrate', 'doctor', 'status', 'demo']) {
      expect(r.stdout).toContain(c);
    }
  });

  it.each([
    ['job', 'daily'],
    ['job', 'hourly'],
    ['job', 'check'],
    ['job', 'dbclean'],
    ['payment', 'confirm'],
    ['referral', 'recover'],
    ['migrate'],
    ['doctor'],
    ['status'],
    ['demo'],
  ])('spanel %s --help shows an example', async (...cmd) => {
    const r = await runCli([...cmd.filter(Boolean), '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Examples?:\n\s+\$ (npx )?spanel /);
  });

  it('the real binary starts and prints help (bin/spanel from dist/)', async () => {
    const r = await spawnCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: spanel');
  });

  it.each([
    [['job', 'weekly']],
    [['job', 'daily', '--no-such-flag']],
    [['payment', 'confirm']],
    [['frobnicate']],
  ])('usage errors exit 2: %j', async (args) => {
    const r = await runCli(args, { DATABASE_URL: 'mysql://root@127.0.0.1:1/x' });
    expect(r.code).toBe(2);
    expect(r.stderr).not.toBe('');
  });

  it('--now must be an ISO time with a zone', async () => {
    const r = await runCli(['job', 'daily', '--now', '2026-11-25 02:00'], { DATABASE_URL: 'mysql://root@127.0.0.1:1/x' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid --now');
  });
});

describe('configuration', () => {
  it('lists every problem at once, naming each setting and what it accepts (exit 2)', async () => {
    const r = await runCli(['job', 'daily'], {
      DATABASE_URL: 'postgres://x',
      PAYBACK_MONEY: 'abc',
      PAYBACK_COUNT: '-1',
      SPANEL_TIMEZONE: 'Mars/Olympus',
      ENABLE_PAYBACK: 'maybe',
    });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.split('\n');
    expect(lines.find((l) => l.includes('PAYBACK_MONEY'))).toMatch(/PAYBACK_MONEY="abc" is invalid: expected a decimal number from 0 to 1/);
    expect(lines.find((l) => l.includes('PAYBACK_COUNT'))).toMatch(/expected an integer from 0 to 100/);
    expect(lines.find((l) => l.includes('SPANEL_TIMEZONE'))).toMatch(/IANA time zone/);
    expect(lines.find((l) => l.includes('ENABLE_PAYBACK'))).toMatch(/true or false/);
    expect(lines.find((l) => l.includes('DATABASE_URL'))).toBe('  - DATABASE_URL="postgres://x" is invalid: expected a URL such as mysql://spanel@127.0.0.1:3306/sspanel (with a password: spanel:SECRET@…), or sqlite:PATH for the embedded database');
  });

  it('requires DATABASE_URL for database commands (exit 2)', async () => {
    const r = await runCli(['job', 'check']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('DATABASE_URL is not set');
  });

  it('reads --env-file, SPANEL_ENV_FILE and ./.env; the environment wins over the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spanel-env-'));
    writeFileSync(join(dir, 'custom.env'), 'PAYBACK_MONEY=bad-from-file\n');
    writeFileSync(join(dir, '.env'), 'PAYBACK_COUNT=bad-from-dotenv\n');
    const viaFlag = await runCli(['--env-file', join(dir, 'custom.env'), 'job', 'daily'], { DATABASE_URL: 'mysql://root@127.0.0.1:1/x' }, dir);
    expect(viaFlag.stderr).toContain('PAYBACK_MONEY="bad-from-file"');
    expect(viaFlag.stderr).not.toContain('PAYBACK_COUNT');
    const viaEnv = await runCli(['job', 'daily'], { DATABASE_URL: 'mysql://root@127.0.0.1:1/x', SPANEL_ENV_FILE: join(dir, 'custom.env') }, dir);
    expect(viaEnv.stderr).toContain('PAYBACK_MONEY="bad-from-file"');
    const viaDotenv = await runCli(['job', 'daily'], { DATABASE_URL: 'mysql://root@127.0.0.1:1/x' }, dir);
    expect(viaDotenv.stderr).toContain('PAYBACK_COUNT="bad-from-dotenv"');
    const envWins = await runCli(['job', 'daily'], { DATABASE_URL: 'mysql://root@127.0.0.1:1/x', PAYBACK_COUNT: '3' }, dir);
    expect(envWins.stderr).not.toContain('PAYBACK_COUNT');
  });

  it('a missing explicit env file is a configuration error (exit 2)', async () => {
    const r = await runCli(['--env-file', '/nonexistent/spanel.env', 'doctor']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('/nonexistent/spanel.env does not exist');
  });
});

describe('connections fail fast with a clear message, and passwords never appear', () => {
  const SECRET = `Pw${randomBytes(6).toString('hex')}`;
  const t = useTestDatabase('mysql');
  let user: string;
  let url: string;

  beforeAll(async () => {
    user = `sp_${randomBytes(4).toString('hex')}`;
    const admin = await mysql.createConnection({ uri: MYSQL_ADMIN_URL });
    const dbName = new URL(t.url).pathname.slice(1);
    await admin.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${SECRET}'`);
    await admin.query(`CREATE USER '${user}'@'localhost' IDENTIFIED BY '${SECRET}'`);
    await admin.query(`GRANT ALL ON \`${dbName}\`.* TO '${user}'@'%'`);
    await admin.query(`GRANT ALL ON \`${dbName}\`.* TO '${user}'@'localhost'`);
    await admin.end();
    const u = new URL(t.url);
    u.username = user;
    u.password = SECRET;
    url = u.toString();
  });
  afterAll(async () => {
    const admin = await mysql.createConnection({ uri: MYSQL_ADMIN_URL });
    await admin.query(`DROP USER IF EXISTS '${user}'@'%'`);
    await admin.query(`DROP USER IF EXISTS '${user}'@'localhost'`);
    await admin.end();
  });

  const noSecret = (r: { stdout: string; stderr: string }) => {
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stderr).not.toContain(SECRET);
  };

  it('a successful run with a password in DATABASE_URL and REDIS_URL, at LOG_LEVEL=trace, prints no password', async () => {
    const env = { DATABASE_URL: url, LOG_LEVEL: 'trace' };
    for (const args of [['migrate'], ['doctor'], ['job', 'daily', '--dry-run'], ['job', 'daily', '--json']]) {
      const r = await runCli(args, env);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      noSecret(r);
    }
    const d = await runCli(['doctor'], env);
    expect(d.stdout).toContain(`mysql://${user}:***@`);
  });

  it('a wrong password: exit 1, one line naming the masked URL and what to check', async () => {
    const u = new URL(url);
    u.password = `${SECRET}x`;
    const r = await runCli(['job', 'daily'], { DATABASE_URL: u.toString(), LOG_LEVEL: 'trace' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused the user .* check the user and password in DATABASE_URL/);
    noSecret(r);
  });

  it('an unreachable database fails within seconds, not after retries', async () => {
    const t0 = Date.now();
    const r = await spawnCli(['job', 'daily'], { DATABASE_URL: `mysql://root:${SECRET}@127.0.0.1:1/x` });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot reach the database at mysql:\/\/root:\*\*\*@127\.0\.0\.1:1\/x .*is MariaDB\/MySQL running/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    noSecret(r);
  });

  it('an unreachable Redis is reported by doctor, masked', async () => {
    const r = await runCli(['doctor'], { DATABASE_URL: url, REDIS_URL: `redis://:${SECRET}@127.0.0.1:1/0` });
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/\[FAIL\] redis: cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1\/0/);
    noSecret(r);
  });

  it('doctor reports a healthy setup (exit 0) with the panel-local time', async () => {
    const r = await runCli(['doctor', '--json'], { DATABASE_URL: t.url, REDIS_URL: 'redis://127.0.0.1:6379/0' });
    expect(r.code, r.stdout).toBe(0);
    const out = r.json();
    expect(out.healthy).toBe(true);
    expect(out.checks.find((c: { check: string }) => c.check === 'panel time zone').detail).toMatch(/Asia\/Shanghai: panel-local time is \d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    expect(out.checks.find((c: { check: string }) => c.check === 'clock skew').level).toBe('ok');
  });

  it('doctor fails (exit 1) on an unmigrated database and says to run migrate', async () => {
    const admin = await mysql.createConnection({ uri: MYSQL_ADMIN_URL });
    const name = `spanel_t_${randomBytes(5).toString('hex')}`;
    await admin.query(`CREATE DATABASE ${name}`);
    try {
      const u = new URL(t.url);
      u.pathname = `/${name}`;
      const r = await runCli(['doctor'], { DATABASE_URL: u.toString() });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/\[FAIL\] migrations: 2 pending .*run `spanel migrate`/);
    } finally {
      await admin.query(`DROP DATABASE ${name}`);
      await admin.end();
    }
  });
});

describe('.env.example', () => {
  it('documents every setting with its default, exactly as `spanel config --example` prints it', async () => {
    const { readFileSync } = await import('node:fs');
    const { ROOT } = await import('../helpers/cli.js');
    const { SETTINGS } = await import('../../src/config/settings.js');
    const file = readFileSync(join(ROOT, '.env.example'), 'utf8');
    const r = await runCli(['config', '--example']);
    expect(r.code).toBe(0);
    expect(file).toBe(r.stdout);
    for (const d of Object.values(SETTINGS)) expect(file).toMatch(new RegExp(`^${d.env}=`, 'm'));
  });
});

describe('spanel demo and the configured database', () => {
  it('runs even when DATABASE_URL and REDIS_URL are invalid: it never uses them', async () => {
    const r = await runCli(['demo'], { DATABASE_URL: 'not a url', REDIS_URL: 'nope' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('ignoring DATABASE_URL / REDIS_URL');
  });
});
