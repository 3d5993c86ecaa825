import { describe, expect, it } from 'vitest';
import { spawnCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { insertOrder, insertUser, money } from '../helpers/fixtures.js';
import { expectLedgerBalanced, ledgerSnapshot } from '../ledger/balance.js';

const N = 20;

/** Separate processes, separate connections: only the database can keep these apart. */
describe('payment confirm, concurrent processes (MariaDB)', () => {
  const t = useTestDatabase('mysql');
  const balance = async (id: number) => money((await t.knex('user').where('id', id).first()).money);

  it(`${N} processes confirming one order: exactly one wins, everyone exits 0`, { timeout: 180_000 }, async () => {
    const r3 = await insertUser(t.knex, { money: '0.00' });
    const r2 = await insertUser(t.knex, { money: '0.00', ref_by: r3 });
    const r1 = await insertUser(t.knex, { money: '0.00', ref_by: r2 });
    const payer = await insertUser(t.knex, { money: '0.00', ref_by: r1 });
    const id = await insertOrder(t.knex, { userid: payer, total: '10.00' });
    const snap = await ledgerSnapshot(t.knex);

    const results = await Promise.all(Array.from({ length: N }, () => spawnCli(['payment', 'confirm', String(id)], { DATABASE_URL: t.url })));
    expect(results.map((r) => r.code)).toEqual(Array(N).fill(0));
    expect(results.filter((r) => r.stdout.includes('marked paid'))).toHaveLength(1);
    expect(results.filter((r) => r.stdout.includes('already paid'))).toHaveLength(N - 1);
    expect([await balance(payer), await balance(r1), await balance(r2), await balance(r3)]).toEqual(['10.00', '2.00', '2.00', '2.00']);
    expect(await t.knex('payback').where('paylist_id', id)).toHaveLength(3);
    const ledger = await expectLedgerBalanced(t.knex, snap);
    expect(ledger).toHaveLength(4);
  });

  it(`${N} processes confirming ${N} orders of one payer: the balance is the exact sum`, { timeout: 180_000 }, async () => {
    const referrer = await insertUser(t.knex, { money: '0.00' });
    const payer = await insertUser(t.knex, { money: '0.10', ref_by: referrer });
    const totals = Array.from({ length: N }, (_, i) => `${i + 1}.${String(i * 7 % 100).padStart(2, '0')}`);
    const ids: number[] = [];
    for (const total of totals) ids.push(await insertOrder(t.knex, { userid: payer, total }));
    const snap = await ledgerSnapshot(t.knex);

    const results = await Promise.all(ids.map((id) => spawnCli(['payment', 'confirm', String(id)], { DATABASE_URL: t.url })));
    expect(results.map((r) => [r.code, r.stderr])).toEqual(Array(N).fill([0, '']));
    const cents = totals.reduce((n, v) => n + Math.round(Number(v) * 100), 10);
    expect(await balance(payer)).toBe((cents / 100).toFixed(2));
    const commission = totals.reduce((n, v) => n + Math.round(Number(v) * 100 * 0.2), 0);
    expect(await balance(referrer)).toBe((commission / 100).toFixed(2));
    expect(await expectLedgerBalanced(t.knex, snap)).toHaveLength(2 * N);
  });

  it(`${N} processes confirming the orders of two users who refer each other: no deadlock reaches the operator`, { timeout: 180_000 }, async () => {
    // Each confirmation locks its payer, then the other user as referrer: opposite orders, the
    // textbook deadlock. InnoDB rolls one back and the runner runs it again.
    const a = await insertUser(t.knex, { money: '0.00' });
    const b = await insertUser(t.knex, { money: '0.00', ref_by: a });
    await t.knex('user').where('id', a).update({ ref_by: b });
    const ids: number[] = [];
    for (let i = 0; i < N; i++) ids.push(await insertOrder(t.knex, { userid: i % 2 ? b : a, total: '1.00' }));
    const snap = await ledgerSnapshot(t.knex);
    const results = await Promise.all(ids.map((id) => spawnCli(['payment', 'confirm', String(id)], { DATABASE_URL: t.url })));
    expect(results.map((r) => [r.code, r.stderr])).toEqual(Array(N).fill([0, '']));
    // Each user paid N/2 orders of 1.00 and earned 0.20 on each of the other's N/2.
    expect([await balance(a), await balance(b)]).toEqual(['12.00', '12.00']);
    expect(await expectLedgerBalanced(t.knex, snap)).toHaveLength(2 * N);
  });
});
