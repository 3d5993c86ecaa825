import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadSettings } from '../../src/config/load.js';
import { runCommand } from '../../src/runner/run.js';
import type { CommandSpec, Step } from '../../src/runner/types.js';
import { runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';
import { dump, insertOrder, insertUser } from '../helpers/fixtures.js';

const log = pino({ level: 'silent' });
const waitFor = async (cond: () => Promise<boolean>) => {
  for (let i = 0; !(await cond()); i++) {
    if (i > 400) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
};

/** What only a real InnoDB shows: deadlocks and storage engines that cannot roll back. */
describe('runner on MariaDB: deadlocks and storage engines', () => {
  const t = useTestDatabase('mysql');
  const run = (spec: CommandSpec, dryRun = false) =>
    runCommand(spec, { settings: loadSettings({ env: { DATABASE_URL: t.url }, cwd: '/' }).settings, log, database: t.db }, {
      dryRun,
      force: false,
      now: new Date('2026-11-25T00:00:00Z'),
      operator: 'tester',
    });

  it('runs a transaction again from the start when InnoDB makes it a deadlock victim', async () => {
    const a = await insertUser(t.knex, { money: '1.00' });
    const b = await insertUser(t.knex, { money: '1.00' });
    const other = await mysql.createConnection({ uri: t.url });
    // The other transaction holds b and has written more rows, so InnoDB picks ours as the victim.
    await other.query('START TRANSACTION');
    await other.query('UPDATE user SET ban_times = ban_times + 1 WHERE id = ?', [b]);
    await other.query('INSERT INTO link (userid, token) VALUES ?', [Array.from({ length: 30 }, (_, i) => [999, `t${i}`])]);
    let attempts = 0;
    let resets = 0;
    const crossing: Step = {
      name: 'crossing',
      title: 'Locks a, then b',
      async run(ctx) {
        attempts++;
        await ctx.trx('user').where('id', a).update({ money: '2.00' });
        if (attempts === 1) {
          const blocked = other.query('SELECT id FROM user WHERE id = ? FOR UPDATE', [a]);
          await waitFor(async () => {
            const [rows] = (await t.knex.raw("SELECT COUNT(*) AS n FROM information_schema.innodb_trx WHERE trx_state = 'LOCK WAIT' AND trx_mysql_thread_id = ?", [
              other.threadId,
            ])) as [{ n: number }[]];
            return Number(rows[0]!.n) > 0;
          });
          // The other side gets row a once InnoDB has rolled this attempt back; then it commits.
          void blocked.then(() => other.query('COMMIT'));
        }
        await ctx.trx('user').where('id', b).update({ money: '3.00' });
        return { count: 2, changes: [] };
      },
    };
    const result = await run({ command: 'test deadlock', lockName: null, steps: [crossing], reset: () => void resets++ });
    await other.end();
    expect([result.outcome, result.exitCode, result.error]).toEqual(['success', 0, null]);
    expect([attempts, resets, result.steps.length]).toEqual([2, 2, 1]);
    const rows = await t.knex('user').select('id', 'money', 'ban_times').whereIn('id', [a, b]).orderBy('id');
    expect(rows.map((r) => [Number(r.id), String(r.money), Number(r.ban_times)])).toEqual([
      [a, '2.00', 0],
      [b, '3.00', 1],
    ]);
  });

  it('rolls back instead of committing when another run took the lease over during the run', async () => {
    const id = await insertUser(t.knex, { money: '1.00' });
    const losesLock: Step = {
      name: 'loses-lock',
      title: 'Changes a row, then another host takes the lease over (as after an expiry)',
      async run(ctx) {
        await ctx.trx('user').where('id', id).update({ money: '9.00' });
        await t.knex('spanel_lock').where('name', 'test:lost').update({ token: 'another-host', host: 'other', pid: 1 });
        return { count: 1, changes: [] };
      },
    };
    const result = await run({ command: 'test lost lock', lockName: 'test:lost', steps: [losesLock] });
    expect([result.outcome, result.exitCode, result.error]).toEqual([
      'failed',
      1,
      'lost the overlap lock "test:lost" (its lease expired or another run took it over): rolled back so that no other run overlaps this one; run the job again',
    ]);
    expect(String((await t.knex('user').where('id', id).first()).money)).toBe('1.00');
    // The other holder's lease is left alone.
    expect(await t.knex('spanel_lock').where('name', 'test:lost').first()).toMatchObject({ token: 'another-host', host: 'other' });
  });

  it('refuses (exit 2) to change a panel that has a MyISAM table, before anything is written; dbclean still runs', async () => {
    const payer = await insertUser(t.knex, { money: '0.00' });
    const order = await insertOrder(t.knex, { userid: payer, total: '5.00', status: 0 });
    await t.knex.raw('ALTER TABLE payback ENGINE=MyISAM');
    try {
      const before = { user: await dump(t.knex, 'user'), paylist: await dump(t.knex, 'paylist'), runs: await dump(t.knex, 'spanel_run') };
      for (const args of [['payment', 'confirm', String(order), '--dry-run'], ['payment', 'confirm', String(order)], ['job', 'check']]) {
        const r = await runCli(args, { DATABASE_URL: t.url });
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr).toBe(
          'spanel: these panel tables cannot roll back a change: payback (MyISAM); a dry run or a failed run would leave its changes behind, so spanel refuses to change them. Convert them (back up first, at a quiet moment): ALTER TABLE `payback` ENGINE=InnoDB;\n',
        );
      }
      expect({ user: await dump(t.knex, 'user'), paylist: await dump(t.knex, 'paylist'), runs: await dump(t.knex, 'spanel_run') }).toEqual(before);
      expect((await runCli(['job', 'dbclean'], { DATABASE_URL: t.url })).code).toBe(0);
    } finally {
      await t.knex.raw('ALTER TABLE payback ENGINE=InnoDB');
    }
  });
});
