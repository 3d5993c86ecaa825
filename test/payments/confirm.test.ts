import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadSettings } from '../../src/config/load.js';
import { confirmSpec } from '../../src/payments/confirm.js';
import { runCommand } from '../../src/runner/run.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';
import { dump, insertOrder, insertUser, money } from '../helpers/fixtures.js';
import { expectLedgerBalanced, ledgerSnapshot } from '../ledger/balance.js';

const NOW = '2026-11-25T10:00:00Z';
const UNIX = Date.parse(NOW) / 1000;

describe.each(DIALECTS)('payment confirm on %s', (dialect) => {
  const t = useTestDatabase(dialect);

  /** Runs the command and checks the ledger explains every balance change it made. */
  async function confirm(args: string[], env: Record<string, string> = {}): Promise<CliResult & { ledger: Record<string, any>[] }> {
    const snap = await ledgerSnapshot(t.knex);
    const r = await runCli(['payment', 'confirm', ...args, '--now', NOW, '--operator', 'alice'], { DATABASE_URL: t.url, ...env });
    const ledger = await expectLedgerBalanced(t.knex, snap);
    return { ...r, ledger };
  }
  const balance = async (id: number) => money((await t.knex('user').where('id', id).first()).money);
  const order = (id: number) => t.knex('paylist').where('id', id).first();
  const paybacks = async (orderId: number) =>
    (await t.knex('payback').where('paylist_id', orderId).orderBy('id')).map((p) => [Number(p.ref_by), money(p.ref_get), money(p.total), Number(p.userid), Number(p.datetime), Number(p.callback)]);
  const everything = async () => ({
    user: await dump(t.knex, 'user'),
    paylist: await dump(t.knex, 'paylist'),
    payback: await dump(t.knex, 'payback'),
    ledger: await dump(t.knex, 'spanel_money_ledger'),
  });
  /** payer → r[0] → r[1] → …; returns [payer, ...referrers]. */
  async function chain(n: number, overrides: Record<number, Record<string, unknown>> = {}): Promise<number[]> {
    const ids: number[] = [];
    let refBy = 0;
    for (let i = n; i >= 0; i--) {
      refBy = await insertUser(t.knex, { money: '1.00', ref_by: refBy, ...(overrides[i] ?? {}) });
      ids.unshift(refBy);
    }
    return ids;
  }

  it('confirms an order without referrer: status, payer credit, ledger, output', async () => {
    const payer = await insertUser(t.knex, { money: '1.50' });
    const id = await insertOrder(t.knex, { userid: payer, total: '10.25' });
    const r = await confirm([String(id)]);
    expect(r.code).toBe(0);
    expect(Number((await order(id)).status)).toBe(1);
    expect(await balance(payer)).toBe('11.75');
    expect(r.ledger.map((l) => [Number(l.user_id), money(l.amount_before), money(l.amount_after), money(l.delta), l.reason, l.reference, l.operator, Number(l.created_at)])).toEqual([
      [payer, '1.50', '11.75', '10.25', 'payment', `paylist:${id}`, 'alice', UNIX],
    ]);
    expect(Number(r.ledger[0]!.run_id)).toBeGreaterThan(0);
    expect(r.stdout).toContain(`order #${id}: 10.25 for user #${payer}, marked paid`);
    expect(r.stdout).toContain(`user #${payer} balance 1.50 → 11.75`);
    expect(r.stdout).toContain(`user #${payer} has no referrer`);
  });

  it.each([1, 2, 3])('pays every level of a %i-level chain', async (n) => {
    const [payer, ...refs] = await chain(n);
    const id = await insertOrder(t.knex, { userid: payer!, total: '10.00' });
    const r = await confirm([String(id)]);
    expect(r.code).toBe(0);
    for (const ref of refs) expect(await balance(ref)).toBe('3.00');
    expect(await paybacks(id)).toEqual(refs.map((ref) => [ref, '2.00', '10.00', payer, UNIX, 0]));
    expect(r.ledger.filter((l) => l.reason === 'commission').map((l) => Number(l.user_id))).toEqual(refs);
  });

  it('PAYBACK_COUNT=3 on a 5-deep chain pays exactly the first 3 levels; json lists them', async () => {
    const [payer, ...refs] = await chain(5);
    const id = await insertOrder(t.knex, { userid: payer!, total: '7.00' });
    const r = await confirm([String(id), '--json']);
    expect(r.code).toBe(0);
    expect(await Promise.all(refs.map(balance))).toEqual(['2.40', '2.40', '2.40', '1.00', '1.00']);
    const commission = r.json().steps.find((s: any) => s.name === 'commission');
    expect(commission.data.levels).toEqual(
      refs.slice(0, 3).map((ref, i) => ({ level: i + 1, referrer: ref, outcome: 'paid', commission: '1.40', before: '1.00', after: '2.40' })),
    );
    const payment = r.json().steps.find((s: any) => s.name === 'credit-payer');
    expect(payment.data).toEqual({ payer, before: '1.00', after: '8.00' });
  });

  it('PAYBACK_COUNT=0 and ENABLE_PAYBACK=false pay no commission but credit the payer', async () => {
    for (const env of [{ PAYBACK_COUNT: '0' }, { ENABLE_PAYBACK: 'false' }] as Record<string, string>[]) {
      const [payer, ref] = await chain(1);
      const id = await insertOrder(t.knex, { userid: payer!, total: '10.00' });
      const r = await confirm([String(id)], env);
      expect(r.code).toBe(0);
      expect([await balance(payer!), await balance(ref!)]).toEqual(['11.00', '1.00']);
      expect(await paybacks(id)).toEqual([]);
      expect(r.stdout).toContain(env.PAYBACK_COUNT ? 'PAYBACK_COUNT=0' : 'ENABLE_PAYBACK=false');
    }
  });

  it('a disabled referrer in the middle gets nothing, and the walk continues past it', async () => {
    const [payer, r1, r2, r3] = await chain(3, { 2: { enable: 0 } });
    const id = await insertOrder(t.knex, { userid: payer!, total: '10.00' });
    const r = await confirm([String(id)]);
    expect([await balance(r1!), await balance(r2!), await balance(r3!)]).toEqual(['3.00', '1.00', '3.00']);
    expect(r.stdout).toContain(`level 2: user #${r2} skipped: disabled (enable=0)`);
    expect(await paybacks(id)).toEqual([[r1, '2.00', '10.00', payer, UNIX, 0], [r3, '2.00', '10.00', payer, UNIX, 0]]);
  });

  it('stops at a cycle and at self-referral, paying nobody twice', async () => {
    const a = await insertUser(t.knex, { money: '0.00' });
    const b = await insertUser(t.knex, { money: '0.00', ref_by: a });
    await t.knex('user').where('id', a).update({ ref_by: b });
    const payer = await insertUser(t.knex, { money: '0.00', ref_by: a });
    const id = await insertOrder(t.knex, { userid: payer, total: '5.00' });
    const r = await confirm([String(id)], { PAYBACK_COUNT: '10' });
    expect([await balance(a), await balance(b)]).toEqual(['1.00', '1.00']);
    expect(r.stdout).toContain(`level 3: walk stopped: user #${a} was already visited (a referral cycle)`);

    const self = await insertUser(t.knex, { money: '0.00' });
    await t.knex('user').where('id', self).update({ ref_by: self });
    const own = await insertOrder(t.knex, { userid: self, total: '5.00' });
    const s = await confirm([String(own)]);
    expect(s.code).toBe(0);
    expect(await balance(self)).toBe('5.00');
    expect(await paybacks(own)).toEqual([]);
    expect(s.stdout).toContain(`level 1: walk stopped: user #${self} was already visited`);
  });

  it('stops at a referrer that no longer exists', async () => {
    const a = await insertUser(t.knex, { money: '0.00', ref_by: 987_650 });
    const payer = await insertUser(t.knex, { money: '0.00', ref_by: a });
    const id = await insertOrder(t.knex, { userid: payer, total: '5.00' });
    const r = await confirm([String(id)]);
    expect(r.code).toBe(0);
    expect(await balance(a)).toBe('1.00');
    expect(r.stdout).toContain('level 2: walk stopped: referrer #987650 no longer exists');
  });

  it.each([
    ['0.30', '0.15', '0.04'], // 0.045: tie, to even (down)
    ['0.55', '0.1', '0.06'], // 0.055: tie, to even (up)
    ['0.35', '0.15', '0.05'], // 0.0525: not a tie, up
    ['33.33', '0.2', '6.67'], // 6.666
  ])('total %s × rate %s = %s, half-to-even', async (total, rate, expected) => {
    const [payer, ref] = await chain(1, { 0: { money: '0.00' }, 1: { money: '0.00' } });
    const id = await insertOrder(t.knex, { userid: payer!, total });
    expect((await confirm([String(id)], { PAYBACK_MONEY: rate })).code).toBe(0);
    expect(await balance(ref!)).toBe(expected);
  });

  it('a commission that rounds to 0.00 pays nothing and writes no payback row', async () => {
    const [payer, ref] = await chain(1);
    const id = await insertOrder(t.knex, { userid: payer!, total: '0.02' });
    const r = await confirm([String(id)]);
    expect(r.code).toBe(0);
    expect(await balance(ref!)).toBe('1.00');
    expect(await paybacks(id)).toEqual([]);
    expect(r.stdout).toContain('rounds to 0.00');
  });

  it('already paid: exit 0, says so, changes nothing', async () => {
    const [payer, ref] = await chain(1);
    const id = await insertOrder(t.knex, { userid: payer!, total: '10.00' });
    expect((await confirm([String(id)])).code).toBe(0);
    const before = await everything();
    const again = await confirm([String(id)]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`order #${id} is already paid: nothing to do`);
    expect(await everything()).toEqual(before);
    expect(await balance(ref!)).toBe('3.00');
  });

  it('expired: refused without --allow-expired (exit 1, nothing changed), confirmed with it', async () => {
    const payer = await insertUser(t.knex, { money: '0.00' });
    const id = await insertOrder(t.knex, { userid: payer, total: '4.00', status: -1 });
    const before = await everything();
    const refused = await confirm([String(id)]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--allow-expired');
    expect(await everything()).toEqual(before);
    const ok = await confirm([String(id), '--allow-expired']);
    expect(ok.code).toBe(0);
    expect(Number((await order(id)).status)).toBe(1);
    expect(await balance(payer)).toBe('4.00');
  });

  it('a payer that no longer exists aborts everything (exit 1)', async () => {
    const ref = await insertUser(t.knex, { money: '0.00' });
    const id = await insertOrder(t.knex, { userid: 987_651, total: '4.00' });
    void ref;
    const before = await everything();
    const r = await confirm([String(id)]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('user #987651, no longer exists');
    expect(await everything()).toEqual(before);
  });

  it('refuses a missing order and a non-positive total (exit 1, nothing changed)', async () => {
    const payer = await insertUser(t.knex);
    const zero = await insertOrder(t.knex, { userid: payer, total: '0.00' });
    const before = await everything();
    const missing = await confirm(['2000000000']);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringContaining('order #2000000000 does not exist')]);
    const z = await confirm([String(zero)]);
    expect([z.code, z.stderr]).toEqual([1, expect.stringContaining('positive total')]);
    expect(await everything()).toEqual(before);
  });

  it('refuses a payment that would push the payer above DECIMAL(12,2) (exit 1, nothing changed)', async () => {
    const payer = await insertUser(t.knex, { money: '9999999999.00' });
    const id = await insertOrder(t.knex, { userid: payer, total: '5.00' });
    const before = await everything();
    const r = await confirm([String(id)]);
    expect([r.code, r.stderr]).toEqual([
      1,
      `spanel: order #${id}: user #${payer}'s balance would exceed the money column's maximum of 9999999999.99 (9999999999.00 + payment 5.00): nothing was changed\n`,
    ]);
    expect(await everything()).toEqual(before);
  });

  it('refuses a commission that would push a referrer above DECIMAL(12,2) (exit 1, nothing changed)', async () => {
    const [payer, ref] = await chain(1, { 0: { money: '0.00' }, 1: { money: '9999999998.00' } });
    const id = await insertOrder(t.knex, { userid: payer!, total: '10.00' });
    const before = await everything();
    const r = await confirm([String(id)]);
    expect([r.code, r.stderr]).toEqual([
      1,
      `spanel: order #${id}: user #${ref}'s balance would exceed the money column's maximum of 9999999999.99 (9999999998.00 + commission 2.00): nothing was changed\n`,
    ]);
    expect(await everything()).toEqual(before);
    // Exactly the maximum is still fine.
    await t.knex('user').where('id', ref!).update({ money: '9999999997.99' });
    expect((await confirm([String(id)])).code).toBe(0);
    expect(await balance(ref!)).toBe('9999999999.99');
  });

  it('payer credit and commission store exact cents (no binary drift on SQLite)', async () => {
    // 0.20 + 0.10 is 0.30000000000000004 in a float column unless the sum is rounded.
    const [payer, ref] = await chain(1, { 0: { money: '0.20' }, 1: { money: '0.20' } });
    const id = await insertOrder(t.knex, { userid: payer!, total: '0.10' });
    expect((await confirm([String(id)], { PAYBACK_MONEY: '1' })).code).toBe(0);
    const raw = async (u: number) => Number((await t.knex('user').where('id', u).first()).money);
    expect([await raw(payer!), await raw(ref!)]).toEqual([0.3, 0.3]);
  });

  it('re-checks the total on the locked row: an order whose total became 0 is refused (exit 1, nothing changed)', async () => {
    const payer = await insertUser(t.knex, { money: '1.00' });
    const id = await insertOrder(t.knex, { userid: payer, total: '4.00' });
    // Stands in for a concurrent edit landing between the unlocked read and the UPDATE: the
    // row the UPDATE locks has total 0.
    const trigger = `spanel_test_zero_total_${id}`;
    await t.knex.raw(
      dialect === 'mysql'
        ? `CREATE TRIGGER ${trigger} BEFORE UPDATE ON paylist FOR EACH ROW BEGIN IF NEW.id = ${id} THEN SET NEW.total = 0; END IF; END`
        : `CREATE TRIGGER ${trigger} AFTER UPDATE OF status ON paylist WHEN NEW.id = ${id} BEGIN UPDATE paylist SET total = 0 WHERE id = NEW.id; END`,
    );
    try {
      const before = await everything();
      const r = await confirm([String(id)]);
      expect([r.code, r.stderr]).toEqual([1, `spanel: order #${id} has total 0.00: only an order with a positive total can be confirmed\n`]);
      expect(await everything()).toEqual(before);
    } finally {
      await t.knex.raw(`DROP TRIGGER ${trigger}`);
    }
  });

  it('records --tradeno', async () => {
    const payer = await insertUser(t.knex);
    const id = await insertOrder(t.knex, { userid: payer, total: '1.00' });
    expect((await confirm([String(id), '--tradeno', '2026112522001'])).code).toBe(0);
    expect((await order(id)).tradeno).toBe('2026112522001');
  });

  it('dry run changes nothing and reports exactly what the real run does', async () => {
    const [payer] = await chain(2);
    const id = await insertOrder(t.knex, { userid: payer!, total: '10.00' });
    const before = await everything();
    const runs = await t.knex('spanel_run').count({ n: '*' }).first();
    const dry = await confirm([String(id), '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(await everything()).toEqual(before);
    expect(await t.knex('spanel_run').count({ n: '*' }).first()).toEqual(runs);
    const real = await confirm([String(id), '--json']);
    const steps = (r: CliResult) =>
      r.json().steps.map((s: any) => ({ ...s, durationMs: 0, changes: s.changes.map((c: any) => (c.action === 'insert' ? { ...c, id: 0 } : c)) }));
    expect(steps(dry)).toEqual(steps(real));
    expect(steps(real)[2].count).toBe(4);
  });
});

describe('payment confirm near the balance maximum, non-strict sql_mode (MariaDB)', () => {
  // A database of its own: the session sql_mode set below stays on a pooled connection.
  const t = useTestDatabase('mysql');

  it('refuses instead of letting MariaDB clamp the balance while the ledger records the unclamped value', async () => {
    const payer = await insertUser(t.knex, { money: '9999999999.00' });
    const id = await insertOrder(t.knex, { userid: payer, total: '5.00' });
    const before = { user: await dump(t.knex, 'user'), paylist: await dump(t.knex, 'paylist'), ledger: await dump(t.knex, 'spanel_money_ledger') };
    const spec = confirmSpec(id, {});
    // Non-strict mode, on the connection the command's transaction runs on.
    spec.steps.unshift({ name: 'sql-mode', title: 'non-strict', run: async (ctx) => (await ctx.trx.raw("SET SESSION sql_mode = ''"), { count: 0, changes: [] }) });
    const settings = loadSettings({ env: { DATABASE_URL: t.url }, cwd: '/' }).settings;
    const r = await runCommand(spec, { settings, log: pino({ level: 'silent' }), database: t.db }, { dryRun: false, force: false, now: new Date(NOW), operator: 'alice' });
    expect([r.exitCode, r.error]).toEqual([
      1,
      `order #${id}: user #${payer}'s balance would exceed the money column's maximum of 9999999999.99 (9999999999.00 + payment 5.00): nothing was changed`,
    ]);
    expect({ user: await dump(t.knex, 'user'), paylist: await dump(t.knex, 'paylist'), ledger: await dump(t.knex, 'spanel_money_ledger') }).toEqual(before);
  });
});
