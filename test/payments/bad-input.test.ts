import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';
import { dump, insertOrder, insertUser, money } from '../helpers/fixtures.js';
import { parseId } from '../../src/util/ids.js';

const MALFORMED = ['abc', '0', '-1', '1.5', '1e3', '1234567890123456789012345', '5 OR 1=1', '', '4294967296', '99999999999', '04294967295', '+5', ' 5', '0x10', '５'];

describe.each(DIALECTS)('malformed ids on %s', (dialect) => {
  const t = useTestDatabase(dialect);
  const tables = ['user', 'paylist', 'payback', 'spanel_money_ledger', 'spanel_run'];
  const everything = async () => Object.fromEntries(await Promise.all(tables.map(async (n) => [n, await dump(t.knex, n)] as const)));

  it('refuses every malformed <order> and <user> with exit 2 and one line, changing nothing', async () => {
    // Rows that a mis-parsed id (5, 1, 1000, 0x10 = 16) would touch.
    const referrer = await insertUser(t.knex, { money: '3.00' });
    for (let i = 0; i < 5; i++) {
      const u = await insertUser(t.knex, { ref_by: referrer });
      await insertOrder(t.knex, { userid: u, total: '10.00' });
      await t.knex('payback').insert({ total: -1, userid: u, ref_by: referrer, ref_get: '1.00', datetime: 1, callback: 0 });
    }
    const before = await everything();
    const env = { DATABASE_URL: t.url };
    for (const [cmd, what] of [[['payment', 'confirm'], 'order id'], [['referral', 'recover'], 'user id']] as const) {
      for (const bad of MALFORMED) {
        const r = await runCli([...cmd, '--', bad], env);
        expect([r.code, r.stdout], `${cmd.join(' ')} ${JSON.stringify(bad)}`).toEqual([2, '']);
        expect(r.stderr).toBe(`spanel: invalid ${what} ${JSON.stringify(bad)}: expected a whole number from 1 to 4294967295\n`);
      }
      for (const bad of ['-1', '-5']) {
        // Without "--" too: the argument parser must not take a negative id for an option.
        const r = await runCli([...cmd, bad], env);
        expect([r.code, r.stderr]).toEqual([2, `spanel: invalid ${what} "${bad}": expected a whole number from 1 to 4294967295\n`]);
      }
      for (const args of [[], ['5', 'extra']]) {
        const r = await runCli([...cmd, ...args], env);
        expect(r.code, `${cmd.join(' ')} ${args.join(' ')}`).toBe(2);
        expect(r.stderr.split('\n')[0]).toMatch(/^error: /);
      }
    }
    for (const opt of [['--operator', ''], ['--operator', 'x'.repeat(65)]]) {
      expect((await runCli(['referral', 'recover', '1', ...opt], env)).code).toBe(2);
    }
    expect((await runCli(['payment', 'confirm', '1', '--tradeno', ' '], env)).code).toBe(2);
    expect(await everything()).toEqual(before);
  });
});

describe('malformed ids without any configuration', () => {
  it('are refused as bad ids, not as a missing DATABASE_URL', async () => {
    for (const [cmd, what] of [[['payment', 'confirm'], 'order id'], [['referral', 'recover'], 'user id']] as const) {
      const r = await runCli([...cmd, 'abc'], { DATABASE_URL: '' });
      expect([r.code, r.stdout, r.stderr]).toEqual([2, '', `spanel: invalid ${what} "abc": expected a whole number from 1 to 4294967295\n`]);
    }
  });
});

describe('ids up to INT UNSIGNED max', () => {
  it('parses 1, 2147483648 and 4294967295 (user.id / paylist.id are INT UNSIGNED)', () => {
    expect(['1', '2147483647', '2147483648', '4294967295'].map((v) => parseId(v, 'order id'))).toEqual([1, 2147483647, 2147483648, 4294967295]);
  });
});

describe.each(DIALECTS)('ids above 2147483647 on %s', (dialect) => {
  // A database of its own: the explicit ids push the tables' auto-increment to their maximum.
  const t = useTestDatabase(dialect);

  it('confirms order #4294967295 and looks up user #4294967295', async () => {
    const payer = await insertUser(t.knex, { id: 4294967294, money: '1.00' });
    const id = await insertOrder(t.knex, { id: 4294967295, userid: payer, total: '2.50' });
    const env = { DATABASE_URL: t.url };
    const r = await runCli(['payment', 'confirm', String(id), '--operator', 'alice'], env);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain('order #4294967295: 2.50 for user #4294967294, marked paid');
    expect(money((await t.knex('user').where('id', payer).first()).money)).toBe('3.50');
    const u = await runCli(['referral', 'recover', '4294967295'], env);
    expect([u.code, u.stderr]).toEqual([0, '']);
    expect(u.stdout).toContain('user #4294967295 has no registration reward: nothing to recover');
  });
});
