import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/load.js';
import { createObservers } from '../../src/ops/observers.js';
import { pingTargets, pingUrlFor } from '../../src/ops/ping-targets.js';
import { runCommand } from '../../src/runner/run.js';
import type { CommandSpec } from '../../src/runner/types.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';

interface Hit {
  method: string;
  path: string;
  body: string;
  at: number;
}

/** A healthchecks-like endpoint on 127.0.0.1 that records every request; `delayMs` makes it slow. */
function pingServer() {
  const hits: Hit[] = [];
  const state = { delayMs: 0, status: 200 };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hits.push({ method: req.method!, path: req.url!, body, at: Date.now() });
      const answer = () => {
        if (!res.destroyed) res.writeHead(state.status, { 'content-type': 'text/plain' }).end('OK');
      };
      if (state.delayMs) setTimeout(answer, state.delayMs).unref();
      else answer();
    });
  });
  return {
    hits,
    state,
    base: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    start: () => new Promise<void>((r) => server.listen(0, '127.0.0.1', r)),
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

// Pings do not depend on the dialect: the embedded database keeps these runs fast.
describe('health pings', () => {
  const t = useTestDatabase('sqlite');
  const srv = pingServer();
  beforeAll(() => srv.start());
  afterAll(() => srv.stop());
  beforeEach(() => {
    srv.hits.length = 0;
    srv.state.delayMs = 0;
    srv.state.status = 200;
  });
  const env = (extra: Record<string, string> = {}) => ({
    DATABASE_URL: t.url,
    SPANEL_PING_URL: `${srv.base()}/ping/key/spanel-{job}`,
    SPANEL_PING_TIMEOUT: '1s',
    ...extra,
  });

  it('a successful job pings /start before and the URL itself after, with a summary', async () => {
    const r = await runCli(['job', 'hourly'], env());
    expect(r.code, r.stderr).toBe(0);
    expect(srv.hits.map((h) => [h.method, h.path])).toEqual([
      ['POST', '/ping/key/spanel-hourly/start'],
      ['POST', '/ping/key/spanel-hourly'],
    ]);
    expect(srv.hits[1]!.body).toMatch(/^spanel job hourly: success in [\d.]+ s; rows changed: /);
  });

  it('a failed job pings /fail with the error', async () => {
    const settings = loadSettings({ env: env(), cwd: '/' }).settings;
    const spec: CommandSpec = {
      command: 'job daily',
      lockName: 'test:daily',
      steps: [{ name: 'boom', title: 'boom', run: async () => Promise.reject(new Error('step exploded')) }],
    };
    const log = pino({ level: 'silent' });
    const result = await runCommand(spec, { settings, log, observers: await createObservers(settings, log, spec), database: t.db }, {
      dryRun: false,
      force: false,
      now: new Date(),
      operator: 't',
    });
    expect(result.exitCode).toBe(1);
    expect(srv.hits.map((h) => h.path)).toEqual(['/ping/key/spanel-daily/start', '/ping/key/spanel-daily/fail']);
    expect(srv.hits[1]!.body).toMatch(/^spanel job daily: failed after [\d.]+ s: unexpected error: step exploded\n$/);
  });

  it('a dry run pings nothing', async () => {
    const r = await runCli(['job', 'hourly', '--dry-run'], env());
    expect(r.code).toBe(0);
    expect(srv.hits).toEqual([]);
  });

  it('a slow endpoint holds the job no longer than the timeout per ping, and the job still succeeds', async () => {
    srv.state.delayMs = 20_000;
    const t0 = Date.now();
    const r = await runCli(['job', 'hourly', '--json'], env({ LOG_LEVEL: 'warn' }));
    const took = Date.now() - t0;
    expect(r.code).toBe(0);
    expect(r.json().outcome).toBe('success');
    expect(srv.hits.map((h) => h.path)).toEqual(['/ping/key/spanel-hourly/start', '/ping/key/spanel-hourly']);
    // Two pings of at most 1 s each plus the job itself: far below the server's 20 s.
    expect(took).toBeGreaterThanOrEqual(2000);
    expect(took).toBeLessThan(6000);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('health ping failed'));
    expect(warnings).toHaveLength(2);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40, job: 'hourly', ping: 'start', reason: 'no answer within 1 s', target: srv.base().slice(7) });
    // The secret part of the URL is never logged.
    expect(r.stderr).not.toContain('/ping/key');
  });

  it('an unreachable or refusing endpoint is logged and does not fail the job', async () => {
    const down = pingServer();
    await down.start();
    const url = `${down.base()}/{job}`;
    await down.stop();
    const r = await runCli(['job', 'hourly'], env({ SPANEL_PING_URL: url, LOG_LEVEL: 'warn' }));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('ECONNREFUSED');
    expect(r.stderr.split('\n').filter((l) => l.includes('health ping failed'))).toHaveLength(2);

    srv.state.status = 404;
    const refused = await runCli(['job', 'hourly'], env({ LOG_LEVEL: 'warn' }));
    expect(refused.code).toBe(0);
    expect(refused.stderr).toContain('"status":404');
    expect(refused.stderr).toContain('health ping was refused');
  });

  it('one URL per job: only the listed jobs are pinged, each at its own URL', async () => {
    const perJob = `daily=${srv.base()}/uuid-daily, hourly=${srv.base()}/uuid-hourly?x=1`;
    expect((await runCli(['job', 'hourly'], env({ SPANEL_PING_URL: perJob }))).code).toBe(0);
    expect((await runCli(['job', 'dbclean'], env({ SPANEL_PING_URL: perJob }))).code).toBe(0);
    expect(srv.hits.map((h) => h.path)).toEqual(['/uuid-hourly/start?x=1', '/uuid-hourly?x=1']);
  });

  it('the real binary pings too and exits promptly (no socket keeps it alive)', async () => {
    const t0 = Date.now();
    const r = await spawnCli(['job', 'hourly'], env());
    expect(r.code, r.stderr).toBe(0);
    expect(srv.hits.map((h) => h.path)).toEqual(['/ping/key/spanel-hourly/start', '/ping/key/spanel-hourly']);
    // bin/spanel force-exits after 2 s if a handle lingers; a clean exit is well under that.
    expect(Date.now() - t0).toBeLessThan(2000 + 1500);
  });

  it('payment and referral commands are never pinged', async () => {
    const settings = loadSettings({ env: env(), cwd: '/' }).settings;
    const log = pino({ level: 'silent' });
    expect(await createObservers(settings, log, { command: 'payment confirm', lockName: null, steps: [] })).toEqual([]);
    expect(await createObservers(settings, log, { command: 'referral recover', lockName: null, steps: [] })).toEqual([]);
  });
});

describe('SPANEL_PING_URL syntax', () => {
  it('a {job} template covers the four jobs', () => {
    expect(pingTargets('https://hc-ping.com/KEY/spanel-{job}')).toEqual({
      daily: 'https://hc-ping.com/KEY/spanel-daily',
      hourly: 'https://hc-ping.com/KEY/spanel-hourly',
      check: 'https://hc-ping.com/KEY/spanel-check',
      dbclean: 'https://hc-ping.com/KEY/spanel-dbclean',
    });
  });

  it('job=URL pairs, separated by commas or spaces', () => {
    expect(pingTargets('daily=https://h/a,hourly=https://h/b check=https://h/c')).toEqual({
      daily: 'https://h/a',
      hourly: 'https://h/b',
      check: 'https://h/c',
    });
  });

  it('start and fail go before the query string', () => {
    expect(pingUrlFor('https://h/uuid/', 'start')).toBe('https://h/uuid/start');
    expect(pingUrlFor('https://h/uuid?rid=1', 'fail')).toBe('https://h/uuid/fail?rid=1');
    expect(pingUrlFor('https://h/uuid?rid=1', 'success')).toBe('https://h/uuid?rid=1');
  });

  it.each([
    ['one URL for every job', 'https://hc-ping.com/0b3c'],
    ['not http', 'ftp://h/{job}'],
    ['a job twice', 'daily=https://h/a,daily=https://h/b'],
    ['an unknown job', 'daily=https://h/a,weekly=https://h/b'],
    ['a pair without URL', 'daily='],
  ])('refused at start with exit 2: %s', async (_what, value) => {
    const r = await runCli(['job', 'hourly'], { DATABASE_URL: 'sqlite:/nonexistent/x.sqlite', SPANEL_PING_URL: value });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('SPANEL_PING_URL=');
    expect(r.stderr).toContain('{job}');
  });
});
