import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeNonTransactional } from '../../src/db/engines.js';
import { createLogger } from '../../src/log.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { createTestDatabase, useTestDatabase } from '../helpers/db.js';
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

  it('a duration must be at least 1s: SPANEL_PING_TIMEOUT=0 and SPANEL_OVERDUE_CHECK=0m exit 2 naming each', async () => {
    const r = await runCli(['config'], { SPANEL_PING_TIMEOUT: '0', SPANEL_OVERDUE_CHECK: '0m' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter((l) => l.startsWith('  - '))).toEqual([
      '  - SPANEL_PING_TIMEOUT="0" is invalid: expected a duration of at least 1s, such as 90s, 30m, 26h or 8d',
      '  - SPANEL_OVERDUE_CHECK="0m" is invalid: expected a duration of at least 1s, such as 90s, 30m, 26h or 8d',
    ]);
    const ok = await runCli(['config', '--json'], { SPANEL_PING_TIMEOUT: '1s', SPANEL_OVERDUE_CHECK: '1' });
    expect(ok.code).toBe(0);
    expect(ok.json()).toMatchObject({ SPANEL_PING_TIMEOUT: 1, SPANEL_OVERDUE_CHECK: 1 });
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

describe('a password holding @ # : / or spaces is masked whole', () => {
  // Valid in a URL: '@' (the last one ends the credentials), ':' and spaces.
  const DB_URL = 'mysql://sp:S3cret@PW x:y@127.0.0.1:3307/db';
  const REDIS = 'redis://:R3d@is pw@127.0.0.1:6390/0';
  const FRAGMENTS = ['S3cret', 'PW x', 'x:y', 'R3d', 'is pw', 'Ab1', 'Cd2', 'Rd3'];
  const noFragment = (r: { stdout: string; stderr: string }) => {
    for (const f of FRAGMENTS) expect(`${r.stdout}${r.stderr}`).not.toContain(f);
  };

  it('spanel config and config --json', async () => {
    const r = await runCli(['config'], { DATABASE_URL: DB_URL, REDIS_URL: REDIS });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.find((l) => l.startsWith('DATABASE_URL '))).toBe(`${'DATABASE_URL'.padEnd(28)} "mysql://sp:***@127.0.0.1:3307/db"`);
    expect(lines.find((l) => l.startsWith('REDIS_URL '))).toBe(`${'REDIS_URL'.padEnd(28)} "redis://:***@127.0.0.1:6390/0"`);
    noFragment(r);
    const j = await runCli(['config', '--json'], { DATABASE_URL: DB_URL, REDIS_URL: REDIS });
    expect(j.json()).toMatchObject({ DATABASE_URL: 'mysql://sp:***@127.0.0.1:3307/db', REDIS_URL: 'redis://:***@127.0.0.1:6390/0' });
    noFragment(j);
  });

  it('a configuration error never echoes a URL setting raw, even when dotenv cut its password at "#"', async () => {
    const invalid = await runCli(['config'], { DATABASE_URL: 'mysql://sp:S3cret@PW x/y#z@127.0.0.1:3307/db', REDIS_URL: 'redis://:R3d@is pw@127.0.0.1:bad/0' });
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain('  - DATABASE_URL="mysql://sp:***@127.0.0.1:3307/db" is invalid: expected a URL such as');
    expect(invalid.stderr).toContain('  - REDIS_URL="redis://:***@127.0.0.1:bad/0" is invalid: expected redis://');
    noFragment(invalid);

    const dir = mkdtempSync(join(tmpdir(), 'spanel-env-'));
    writeFileSync(join(dir, '.env'), 'DATABASE_URL=mysql://sp:Ab1#Cd2@127.0.0.1:3307/db\nREDIS_URL=redis://:Rd3#x@127.0.0.1:6379/0\n');
    const cut = await runCli(['doctor'], {}, dir);
    expect(cut.code).toBe(2);
    expect(cut.stderr).toContain('  - DATABASE_URL="mysql://sp:***" is invalid: expected a URL such as');
    expect(cut.stderr).toContain('  - REDIS_URL="redis://:***" is invalid: expected redis://');
    noFragment(cut);
  });

  it('doctor against an unreachable port, at LOG_LEVEL=trace', async () => {
    const r = await runCli(['doctor'], { DATABASE_URL: DB_URL.replace(':3307/', ':1/'), REDIS_URL: REDIS.replace(':6390/', ':1/'), LOG_LEVEL: 'trace' });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('[FAIL] database: cannot reach the database at mysql://sp:***@127.0.0.1:1/db (');
    expect(r.stdout).toContain('[FAIL] redis: cannot reach Redis at redis://:***@127.0.0.1:1/0 (');
    noFragment(r);
  });
});

describe('logs', () => {
  const logLines = async (write: (log: Awaited<ReturnType<typeof createLogger>>) => void) => {
    const chunks: string[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        chunks.push(String(chunk));
        done();
      },
    });
    write(await createLogger('info', stream));
    return chunks.join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
  };

  it('a logged Error keeps its message and stack', async () => {
    const [line] = await logLines((log) => log.error({ err: new Error('boom') }, 'x'));
    expect(line).toMatchObject({ level: 50, name: 'spanel', msg: 'x', err: { type: 'Error', message: 'boom' } });
    expect(line!.err.stack).toMatch(/^Error: boom\n\s+at /);
  });

  it('a password in any logged string is masked, the line stays JSON and the stack intact', async () => {
    const url = 'mysql://sp:S3cret@PW x"y@127.0.0.1:3306/db';
    const [line] = await logLines((log) => log.error({ err: new Error(`cannot reach ${url}`), url, error: new Error(url) }, `failed at ${url}`));
    expect(line).toMatchObject({
      msg: 'failed at mysql://sp:***@127.0.0.1:3306/db',
      url: 'mysql://sp:***@127.0.0.1:3306/db',
      err: { message: 'cannot reach mysql://sp:***@127.0.0.1:3306/db' },
      error: { message: 'mysql://sp:***@127.0.0.1:3306/db' },
    });
    expect(line!.err.stack.split('\n')[0]).toBe('Error: cannot reach mysql://sp:***@127.0.0.1:3306/db');
    expect(line!.err.stack.split('\n').length).toBeGreaterThan(2);
    expect(JSON.stringify(line)).not.toMatch(/S3cret|PW x/);
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
    expect(out.checks.find((c: { check: string }) => c.check === 'table engines')).toEqual({ check: 'table engines', level: 'ok', detail: 'panel tables are transactional (InnoDB)' });
  });

  it.each([
    ['escaped underscores, as phpMyAdmin writes them', (db: string) => db.replace(/_/g, '\\_')],
    ['a wildcard', (db: string) => `${db.slice(0, -3)}%`],
  ])('doctor accepts privileges granted on a database pattern: %s', async (_what, pattern) => {
    const dbName = new URL(t.url).pathname.slice(1);
    const grantee = `sp_${randomBytes(4).toString('hex')}`;
    const admin = await mysql.createConnection({ uri: MYSQL_ADMIN_URL });
    try {
      for (const host of ['%', 'localhost']) {
        await admin.query(`CREATE USER '${grantee}'@'${host}' IDENTIFIED BY 'pw'`);
        await admin.query(`GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX ON \`${pattern(dbName)}\`.* TO '${grantee}'@'${host}'`);
      }
      const u = new URL(t.url);
      u.username = grantee;
      u.password = 'pw';
      const r = await runCli(['doctor'], { DATABASE_URL: u.toString() });
      expect(r.stdout).toContain('[ok  ] privileges: SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX granted\n');
      expect(r.code, r.stdout).toBe(0);
    } finally {
      for (const host of ['%', 'localhost']) await admin.query(`DROP USER IF EXISTS '${grantee}'@'${host}'`);
      await admin.end();
    }
  });

  it('doctor fails (exit 1) when a panel table cannot roll back (MyISAM), saying how to convert it', async () => {
    const other = await createTestDatabase('mysql');
    try {
      await other.knex.raw('ALTER TABLE `payback` ENGINE=MyISAM');
      const r = await runCli(['doctor'], { DATABASE_URL: other.url });
      expect(r.code).toBe(1);
      const message = describeNonTransactional(new Map([['payback', 'MyISAM']]));
      expect(message).toContain('ALTER TABLE `payback` ENGINE=InnoDB;');
      expect(r.stdout.split('\n')).toContain(`[FAIL] table engines: ${message}`);
    } finally {
      await other.drop();
    }
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
      expect(r.stdout).toMatch(/\[FAIL\] migrations: \d+ pending .*run `spanel migrate`/);
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
