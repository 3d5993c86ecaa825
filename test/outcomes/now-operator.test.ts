import { describe, expect, it } from 'vitest';
import { parseOperator } from '../../src/ledger/operator.js';
import { futureNowProblem, parseNow } from '../../src/time/clock.js';
import { runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { dump, insertOrder, insertUser } from '../helpers/fixtures.js';

/** SPEC §5 "Time" and issue 10 items 7 and 8: --now and --operator are checked as typed. */
describe('--now', () => {
  const refused: [string, RegExp][] = [
    ['2026-02-30T00:00:00Z', /no such day: 02\/2026 has 28 days/],
    ['2025-02-29T12:00:00Z', /no such day/],
    ['2026-04-31T00:00:00+08:00', /no such day: 04\/2026 has 30 days/],
    ['2026-13-01T00:00:00Z', /no such month/],
    ['2026-00-10T00:00:00Z', /no such month/],
    ['2026-11-00T00:00:00Z', /no such day/],
    ['2026-11-25T24:00:00Z', /no such time of day/],
    ['2026-11-25T23:60:00Z', /no such time of day/],
    ['2026-11-25T23:59:60Z', /no such time of day/],
    ['1900-01-01T00:00:00Z', /year must be from 2000 to 2037/],
    ['0000-01-01T00:00:00Z', /year must be from 2000 to 2037/],
    ['9999-12-31T23:59:59Z', /year must be from 2000 to 2037/],
    ['2038-01-19T03:14:08Z', /year must be from 2000 to 2037/],
    ['2026-11-25T02:00:00+15:00', /zone offset/],
    ['2026-11-25T02:00:00', /with a zone/],
    ['2026-11-25', /with a zone/],
    ['yesterday', /with a zone/],
    ['2026-11-25T02:00:00Z junk', /with a zone/],
    ['+02026-11-25T02:00:00Z', /with a zone/],
    ['', /with a zone/],
  ];
  it.each(refused)('refuses %j', (raw, why) => {
    const r = parseNow(raw);
    expect(typeof r).toBe('string');
    expect(r).toMatch(why);
  });

  const accepted: [string, string][] = [
    ['2024-02-29T12:00:00Z', '2024-02-29T12:00:00.000Z'],
    ['2026-11-25T02:00:00+08:00', '2026-11-24T18:00:00.000Z'],
    ['2026-11-25T02:00+0800', '2026-11-24T18:00:00.000Z'],
    ['2000-01-01T00:00:00Z', '2000-01-01T00:00:00.000Z'],
    ['2037-12-31T23:59:59.5Z', '2037-12-31T23:59:59.500Z'],
    [' 2026-11-25T02:00:00Z ', '2026-11-25T02:00:00.000Z'],
  ];
  it.each(accepted)('accepts %j as %s', (raw, iso) => {
    expect((parseNow(raw) as Date).toISOString()).toBe(iso);
  });

  it('a real run may not act more than 5 minutes ahead of the host clock; a dry run may', () => {
    const wall = Date.parse('2026-12-01T00:00:00Z');
    expect(futureNowProblem(new Date(wall + 5 * 60_000), false, wall)).toBeNull();
    expect(futureNowProblem(new Date(wall + 5 * 60_000 + 1000), false, wall)).toMatch(/ahead of this host's clock .* by more than 5 minutes/);
    expect(futureNowProblem(new Date(wall + 365 * 86_400_000), true, wall)).toBeNull();
    expect(futureNowProblem(new Date(wall - 365 * 86_400_000), false, wall)).toBeNull();
  });
});

describe('--operator', () => {
  const refused: [string, RegExp][] = [
    ['', /1 to 64 characters/],
    ['   ', /1 to 64 characters/],
    ['a'.repeat(65), /1 to 64 characters/],
    ['alice\n', /printable/],
    ['ali\nce', /printable/],
    ['ali\rce', /printable/],
    ['ali\tce', /printable/],
    ['alice\u0000', /printable/],
    ['\u001b[31malice', /printable/],
    ['ali\u007fce', /printable/],
    ['ali\u200bce', /printable/],
    ['ali\u202ece', /printable/],
    ['ali\u2028ce', /printable/],
    ['ali\u00a0ce', /printable/],
  ];
  it.each(refused)('refuses %j', (raw, why) => {
    expect(() => parseOperator(raw)).toThrow(why);
  });
  it.each([
    ['alice', 'alice'],
    [' bob ', 'bob'],
    ['Zhang Wei', 'Zhang Wei'],
    ['张伟', '张伟'],
    ['support@example.com', 'support@example.com'],
    ['é'.repeat(64), 'é'.repeat(64)],
  ])('accepts %j', (raw, stored) => {
    expect(parseOperator(raw)).toBe(stored);
  });
});

describe('the CLI refuses bad --now/--operator before it changes anything (MariaDB)', () => {
  const t = useTestDatabase('mysql');

  it('job daily --now 1900-01-01 and --now 2026-02-30: exit 2, no run recorded, no user touched', async () => {
    await insertUser(t.knex, { class: 1, renew_time: 1, t: 1, reg_date: '2020-01-01 00:00:00' });
    const users = await dump(t.knex, 'user');
    for (const now of ['1900-01-01T00:00:00Z', '2026-02-30T00:00:00Z', '9999-12-31T00:00:00Z']) {
      const r = await runCli(['job', 'daily', '--now', now], { DATABASE_URL: t.url });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`invalid --now "${now}"`);
    }
    expect(await dump(t.knex, 'user')).toEqual(users);
    expect(await t.knex('spanel_run')).toHaveLength(0);
  });

  it('a real run in the future is refused (exit 2); the same --now with --dry-run runs', async () => {
    const ahead = new Date(Date.now() + 3600_000).toISOString();
    const order = await insertOrder(t.knex, { status: 0, datetime: Math.floor(Date.now() / 1000) - 60 });
    const real = await runCli(['job', 'hourly', '--now', ahead], { DATABASE_URL: t.url });
    expect(real.code).toBe(2);
    expect(real.stderr).toContain('a real run may not act in the future');
    expect(Number((await t.knex('paylist').where('id', order).first()).status)).toBe(0);
    expect(await t.knex('spanel_run')).toHaveLength(0);
    const dry = await runCli(['job', 'hourly', '--now', ahead, '--dry-run', '--json'], { DATABASE_URL: t.url });
    expect(dry.code).toBe(0);
    expect(dry.json().steps.find((s: { name: string }) => s.name === 'stale-orders').count).toBe(1);
  });

  it('--operator with a control character: exit 2, nothing paid, nothing in the ledger', async () => {
    const payer = await insertUser(t.knex, { money: '0.00' });
    const order = await insertOrder(t.knex, { userid: payer, total: '3.00' });
    const r = await runCli(['payment', 'confirm', String(order), '--operator', 'eve\u001b[2K'], { DATABASE_URL: t.url });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('only printable characters');
    expect(await t.knex('spanel_money_ledger')).toHaveLength(0);
    expect(Number((await t.knex('paylist').where('id', order).first()).status)).toBe(0);
  });

  it('the ledger records the acted-as time and the wall-clock time; the history both too', async () => {
    const payer = await insertUser(t.knex, { money: '0.00' });
    const order = await insertOrder(t.knex, { userid: payer, total: '3.00' });
    const before = Math.floor(Date.now() / 1000);
    const r = await runCli(['payment', 'confirm', String(order), '--now', '2026-11-25T10:00:00Z', '--operator', 'alice', '--json'], { DATABASE_URL: t.url });
    expect(r.code).toBe(0);
    const [row] = await t.knex('spanel_money_ledger').where('user_id', payer);
    expect(Number(row.created_at)).toBe(Date.parse('2026-11-25T10:00:00Z') / 1000);
    expect(Number(row.recorded_at)).toBeGreaterThanOrEqual(before);
    expect(row.operator).toBe('alice');
    const run = await t.knex('spanel_run').where('id', r.json().runId).first();
    expect(Number(run.now_at)).toBe(Date.parse('2026-11-25T10:00:00Z'));
    expect(Number(run.started_at)).toBeGreaterThanOrEqual(before * 1000);
  });
});
