import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadSettings } from '../../src/config/load.js';
import { recordMoneyChange, recordMoneyChanges } from '../../src/ledger/ledger.js';
import { cents, formatMoney } from '../../src/ledger/money.js';
import { runCommand } from '../../src/runner/run.js';
import type { StepContext } from '../../src/runner/types.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';
import { money } from '../helpers/fixtures.js';

describe('money', () => {
  it.each([
    ['0.045', '0.04'],
    ['0.055', '0.06'],
    ['0.0450001', '0.05'],
    ['-0.045', '-0.04'],
    ['2.675', '2.68'], // a float would make this 2.67
  ])('cents(%s) = %s, half-to-even and exact', (v, expected) => expect(cents(v).toFixed(2)).toBe(expected));

  it('formats SQLite numbers and MySQL strings alike', () => {
    expect([formatMoney(0.1 + 0.2), formatMoney('12.5'), formatMoney(-3)]).toEqual(['0.30', '12.50', '-3.00']);
  });
});

describe.each(DIALECTS)('ledger writer on %s', (dialect) => {
  const t = useTestDatabase(dialect);

  async function inRun(body: (ctx: StepContext) => Promise<void>, dryRun = false) {
    const settings = loadSettings({ env: { DATABASE_URL: t.url }, cwd: '/' }).settings;
    return runCommand(
      { command: 'test ledger', lockName: null, steps: [{ name: 'w', title: 'Write', run: async (ctx) => (await body(ctx), { count: 0, changes: [] }) }] },
      { settings, log: pino({ level: 'silent' }), database: t.db },
      { dryRun, force: false, now: new Date('2026-11-25T00:00:00Z'), operator: 'carol' },
    );
  }

  it('writes before, after, derived delta, reason, reference, run id, operator and time', async () => {
    const r = await inRun((ctx) => recordMoneyChange(ctx, { userId: 7, before: '1.10', after: 0.3 - 0.5, reason: 'payment', reference: 'paylist:9' }));
    const rows = await t.knex('spanel_money_ledger').where('run_id', r.runId!);
    expect(rows.map((l) => [Number(l.user_id), money(l.amount_before), money(l.amount_after), money(l.delta), l.reason, l.reference, l.operator, Number(l.created_at)])).toEqual([
      [7, '1.10', '-0.20', '-1.30', 'payment', 'paylist:9', 'carol', 1795564800],
    ]);
  });

  it('writes large sets in chunked multi-row inserts, and nothing in a dry run', async () => {
    const changes = Array.from({ length: 1203 }, (_, i) => ({ userId: i + 1, before: '0.00', after: '0.01', reason: 'commission', reference: null }));
    const count = async () => Number((await t.knex('spanel_money_ledger').count({ n: '*' }).first())!.n);
    const countBefore = await count();
    const dry = await inRun((ctx) => recordMoneyChanges(ctx, changes), true);
    expect(dry.error).toBeNull();
    expect(await count()).toBe(countBefore);
    const r = await inRun((ctx) => recordMoneyChanges(ctx, changes));
    expect(Number((await t.knex('spanel_money_ledger').count({ n: '*' }).first())!.n)).toBe(countBefore + 1203);
    expect(Number((await t.knex('spanel_money_ledger').where('run_id', r.runId!).count({ n: '*' }).first())!.n)).toBe(1203);
  });
});
