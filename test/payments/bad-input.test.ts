import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';
import { dump, insertOrder, insertUser } from '../helpers/fixtures.js';

const MALFORMED = ['abc', '0', '-1', '1.5', '1e3', '1234567890123456789012345', '5 OR 1=1', '', '2147483648', '+5', ' 5', '0x10', '５'];

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
        expect(r.stderr).toBe(`spanel: invalid ${what} ${JSON.stringify(bad)}: expected a whole number from 1 to 2147483647\n`);
      }
      for (const bad of ['-1', '-5']) {
        // Without "--" too: the argument parser must not take a negative id for an option.
        const r = await runCli([...cmd, bad], env);
        expect([r.code, r.stderr]).toEqual([2, `spanel: invalid ${what} "${bad}": expected a whole number from 1 to 2147483647\n`]);
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
      expect([r.code, r.stdout, r.stderr]).toEqual([2, '', `spanel: invalid ${what} "abc": expected a whole number from 1 to 2147483647\n`]);
    }
  });
});
