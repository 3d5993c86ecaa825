import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { warnIfSkewed } from '../../src/runner/server.js';
import { runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';

const state = (hostAheadMs: number) => ({
  readOnly: false,
  innodbReadOnly: false,
  replicaThreads: 0,
  galera: null,
  serverNowMs: 1_800_000_000_000,
  hostNowMs: 1_800_000_000_000 + hostAheadMs,
});

describe('one clock: the database server\'s', () => {
  const t = useTestDatabase('mysql');
  const serverMs = async () => Number(((await t.knex.raw('SELECT ROUND(UNIX_TIMESTAMP(NOW(6)) * 1000) AS ms')) as [{ ms: string }[]])[0][0]!.ms);

  it('a run without --now acts on the server\'s time; --now wins', async () => {
    const before = await serverMs();
    expect((await runCli(['job', 'hourly'], { DATABASE_URL: t.url })).code).toBe(0);
    const after = await serverMs();
    const last = await t.knex('spanel_run').orderBy('id', 'desc').first();
    expect(Number(last.now_at)).toBeGreaterThanOrEqual(before);
    expect(Number(last.now_at)).toBeLessThanOrEqual(after);
    expect((await runCli(['job', 'hourly', '--now', '2026-11-25T02:00:00+08:00'], { DATABASE_URL: t.url })).code).toBe(0);
    expect(Number((await t.knex('spanel_run').orderBy('id', 'desc').first()).now_at)).toBe(Date.parse('2026-11-25T02:00:00+08:00'));
  });

  it('a host clock off by more than SPANEL_MAX_CLOCK_SKEW is warned about', () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    warnIfSkewed(log, state(4_000), 5);
    warnIfSkewed(log, state(-4_000), 5);
    expect(lines).toEqual([]);
    warnIfSkewed(log, state(300_000), 5);
    warnIfSkewed(log, state(-6_000), 5);
    expect(lines.map((l) => [l.skewSeconds, l.msg])).toEqual([
      [300, "this host's clock is 300.0 s ahead of the database server's: jobs use the server's clock, but fix NTP on this host"],
      [-6, "this host's clock is 6.0 s behind the database server's: jobs use the server's clock, but fix NTP on this host"],
    ]);
  });
});
