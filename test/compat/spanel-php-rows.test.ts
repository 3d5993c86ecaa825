import type { Knex } from 'knex';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { dump } from '../helpers/fixtures.js';
import { expectLedgerBalanced, ledgerSnapshot } from '../ledger/balance.js';
import { createSpanelSchema, phpReward, phpUser, schemaFingerprint } from './panel-schemas.js';

// Each test runs whole commands in process; on a shared, loaded host that can take minutes (a bound, not a speed claim).
vi.setConfig({ testTimeout: 300_000, hookTimeout: 300_000 });

/** 10:00 in Asia/Shanghai. */
const NOW = '2026-11-25T02:00:00Z';
const UNIX = Date.parse(NOW) / 1000;
const DAY = 86_400;

/**
 * SPanel's published schema (NULLable payback.callback without default, `code` table), rows
 * as its PHP writes them, then `spanel migrate` and the commands, on MariaDB.
 */
describe('on an SPanel database as the PHP panel leaves it', () => {
  let t: TestDatabase;
  const env = () => ({ DATABASE_URL: t.url, SPANEL_TIMEZONE: 'Asia/Shanghai' });
  const cli = async (args: string[]): Promise<CliResult & { ledger: Record<string, unknown>[] }> => {
    const snap = await ledgerSnapshot(t.knex);
    const operator = args[0] === 'job' ? [] : ['--operator', 'alice'];
    const r = await runCli([...args, '--now', NOW, ...operator], env());
    return { ...r, ledger: await expectLedgerBalanced(t.knex, snap) };
  };
  const user = async (id: number) => (await dump(t.knex, 'user')).find((u) => u.id === id);
  const paybacks = async () =>
    (await t.knex('payback').select('id', 'total', 'userid', 'ref_by', 'ref_get', 'callback').orderBy('id')).map((p) => ({ ...p, id: Number(p.id), userid: Number(p.userid), ref_by: Number(p.ref_by) }));
  const count = async (table: string) => Number((await t.knex(table).count({ n: '*' }).first())?.n);

  beforeEach(async () => {
    t = await createTestDatabase('mysql', { migrate: false });
    await createSpanelSchema(t.knex);
    const m = await runCli(['migrate'], env());
    expect(m.code, m.stderr).toBe(0);
  });
  afterEach(async () => t.drop());

  it('migrate left every existing column as it was: payback.callback still NULLable without default', async () => {
    const { columns } = await schemaFingerprint(t.knex);
    expect(columns).toContain('payback callback int(8) YES NULL');
    expect(columns).toContain('user u bigint(20) NO NULL');
    expect(columns).toContain('code number decimal(11,2) NO NULL');
    expect(columns.filter((c) => c.startsWith('payback '))).toEqual([
      'payback id bigint(20) NO NULL',
      'payback total decimal(12,2) NO NULL',
      'payback userid bigint(20) NO NULL',
      'payback ref_by bigint(20) NO NULL',
      'payback ref_get decimal(12,2) NO NULL',
      'payback callback int(8) YES NULL',
      'payback datetime bigint(20) NO NULL',
      'payback paylist_id bigint(20) YES NULL',
    ]);
  });

  it('referral recover takes back a PHP-written reward (callback NULL): −2 row, callback 1, balance, ledger; the dry run said so first', async () => {
    const [referrer] = await t.knex('user').insert(phpUser({ money: '10.00', score: 100 }));
    const [referred] = await t.knex('user').insert(phpUser({ ref_by: referrer }));
    const [reward] = await t.knex('payback').insert(phpReward(referred!, referrer!, '3.00'));
    expect((await paybacks())[0].callback).toBeNull();

    const dry = await cli(['referral', 'recover', String(referred), '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(dry.json().steps[0].data).toEqual({ user: referred, status: 'recovered', recovered: 1, vanished: 0 });
    expect(dry.json().steps[0].changes[0]).toEqual({ table: 'payback', id: reward, action: 'update', before: { callback: null }, after: { callback: 1 } });
    expect(await paybacks()).toHaveLength(1);

    const r = await cli(['referral', 'recover', String(referred), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(await paybacks()).toEqual([
      { id: reward, total: '-1.00', userid: referred, ref_by: referrer, ref_get: '3.00', callback: 1 },
      // InnoDB does not give back the id the dry run's rolled-back insert used.
      { id: expect.any(Number), total: '-2.00', userid: referred, ref_by: referrer, ref_get: '-3.00', callback: 0 },
    ]);
    expect(await user(referrer!)).toMatchObject({ money: '7.00', ban_times: 1 });
    expect(r.ledger.map((l) => [Number(l.user_id), l.amount_before, l.amount_after, l.reason, l.reference])).toEqual([[referrer, '10.00', '7.00', 'referral_recover', `payback:${reward}`]]);

    const again = await cli(['referral', 'recover', String(referred)]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('already recovered: nothing to do');
  });

  it('a PHP reward with NULL callback but a −2 row already is recovered: nothing moves (the −2 row is the proof)', async () => {
    const [referrer] = await t.knex('user').insert(phpUser({ money: '10.00' }));
    const [referred] = await t.knex('user').insert(phpUser({ ref_by: referrer }));
    await t.knex('payback').insert([phpReward(referred!, referrer!, '3.00'), { ...phpReward(referred!, referrer!, '-3.00'), total: '-2.00' }]);
    const before = await paybacks();
    const r = await cli(['referral', 'recover', String(referred)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('already recovered: nothing to do');
    expect(await paybacks()).toEqual(before);
    expect(await user(referrer!)).toMatchObject({ money: '10.00' });
  });

  it('job check step 3 recovers the PHP-written reward of a deleted user whose referrer scores below 32', async () => {
    const [referrer] = await t.knex('user').insert(phpUser({ money: '10.00', score: 10, t: UNIX, reg_date: '2026-11-01 00:00:00' }));
    const [gone] = await t.knex('user').insert(phpUser({ ref_by: referrer, reg_date: '2026-01-01 00:00:00', money: '0.00' }));
    const [reward] = await t.knex('payback').insert(phpReward(gone!, referrer!, '2.50'));
    const r = await cli(['job', 'check', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const step = r.json().steps.find((s: any) => s.name === 'expired-accounts');
    expect(step.counts).toMatchObject({ user: 1, 'rewards recovered': 1 });
    expect(await user(gone!)).toBeUndefined();
    expect(await user(referrer!)).toMatchObject({ money: '7.50', ban_times: 1 });
    expect((await paybacks()).map((p) => [p.id, p.total, p.ref_get, p.callback])).toEqual([
      [reward, '-1.00', '2.50', 1],
      [expect.any(Number), '-2.00', '-2.50', 0],
    ]);
    expect(r.ledger).toHaveLength(1);
  });

  it('job check step 4 recovers the PHP-written reward before it clears ref_by', async () => {
    const [referrer] = await t.knex('user').insert(phpUser({ money: '10.00', score: 100, t: UNIX, reg_date: '2026-11-01 00:00:00' }));
    const [debtor] = await t.knex('user').insert(phpUser({ ref_by: referrer, money: '-1.00', score: 50, t: UNIX, reg_date: '2026-11-01 00:00:00' }));
    const [reward] = await t.knex('payback').insert(phpReward(debtor!, referrer!, '2.00'));
    const r = await cli(['job', 'check', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const step = r.json().steps.find((s: any) => s.name === 'negative-balance');
    expect(step.counts).toEqual({ disabled: 1, 'ref_by cleared': 1, 'rewards recovered': 1 });
    expect(await user(debtor!)).toMatchObject({ enable: 0, ref_by: 0, score: 49 });
    expect(await user(referrer!)).toMatchObject({ money: '8.00', ban_times: 1 });
    expect((await paybacks()).map((p) => [p.id, p.total, p.callback])).toEqual([[reward, '-1.00', 1], [expect.any(Number), '-2.00', 0]]);
  });

  it('payment confirm writes the top-up code row as postPayment does, in the same transaction, shown by the dry run', async () => {
    const [payer] = await t.knex('user').insert(phpUser({ money: '1.00' }));
    const [order] = await t.knex('paylist').insert({ userid: payer, total: '10.25', status: 0, datetime: UNIX - 60 });
    const expected = { code: 'spanel payment confirm (alice)', type: -1, number: '10.25', isused: 1, userid: payer, usedatetime: '2026-11-25 10:00:00' };

    const dry = await cli(['payment', 'confirm', String(order), '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    const dryStep = dry.json().steps.find((s: any) => s.name === 'top-up-record');
    expect(dryStep.count).toBe(1);
    expect(dryStep.changes).toEqual([{ table: 'code', id: expect.any(Number), action: 'insert', after: expected }]);
    expect(await count('code')).toBe(0);

    const r = await cli(['payment', 'confirm', String(order)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`top-up of 10.25 recorded for user #${payer}`);
    const rows = await t.knex('code').select('*');
    expect(rows.map((c) => ({ ...c, id: 0, userid: Number(c.userid) }))).toEqual([{ id: 0, ...expected }]);
    expect(await user(payer!)).toMatchObject({ money: '11.25' });
  });

  it('a failed confirmation leaves no code row (same transaction)', async () => {
    const [order] = await t.knex('paylist').insert({ userid: 999, total: '5.00', status: 0, datetime: UNIX - 60 });
    const r = await cli(['payment', 'confirm', String(order)]);
    expect(r.code).toBe(1);
    expect(await count('code')).toBe(0);
    expect(Number((await t.knex('paylist').where('id', order).first()).status)).toBe(0);
  });

  it('zero dates as old panels hold them: jobs run, a zero class_expire ends the class, nothing else is touched', async () => {
    const zero = '0000-00-00 00:00:00';
    const [paid] = await t.knex('user').insert(phpUser({ reg_date: zero, class: 2, class_expire: zero, money: '5.00', t: UNIX - 60, renew_time: UNIX + DAY }));
    for (const job of ['daily', 'hourly', 'check']) {
      const r = await cli(['job', job, '--json']);
      expect(r.code, `${job}: ${r.stderr}`).toBe(0);
    }
    expect(await user(paid!)).toMatchObject({ reg_date: zero, class: 0, class_expire: zero, enable: 1, money: '5.00' });
  });

  describe('a referrer at −9 999 999 999.99 (recovery would overflow DECIMAL(12,2))', () => {
    async function scene(knex: Knex) {
      const [poor] = await knex('user').insert(phpUser({ money: '-9999999999.99', enable: 0, score: 10, t: UNIX, reg_date: '2026-11-01 00:00:00' }));
      const [rich] = await knex('user').insert(phpUser({ money: '10.00', score: 10, t: UNIX, reg_date: '2026-11-01 00:00:00' }));
      const active = { t: UNIX, reg_date: '2026-11-01 00:00:00' };
      const [debtorOfPoor] = await knex('user').insert(phpUser({ ...active, ref_by: poor, money: '-1.00', score: 50 }));
      const [debtorOfRich] = await knex('user').insert(phpUser({ ...active, ref_by: rich, money: '-1.00', score: 50 }));
      const [goneOfPoor] = await knex('user').insert(phpUser({ ref_by: poor, money: '0.00' }));
      const [goneOfRich] = await knex('user').insert(phpUser({ ref_by: rich, money: '0.00' }));
      const ids = [debtorOfPoor, debtorOfRich, goneOfPoor, goneOfRich].map(Number);
      const [r1] = await knex('payback').insert(phpReward(ids[0]!, poor!, '1.00'));
      await knex('payback').insert(phpReward(ids[1]!, rich!, '1.00'));
      const [r3] = await knex('payback').insert(phpReward(ids[2]!, poor!, '1.00'));
      await knex('payback').insert(phpReward(ids[3]!, rich!, '1.00'));
      return { poor: poor!, rich: rich!, debtorOfPoor: ids[0]!, debtorOfRich: ids[1]!, goneOfPoor: ids[2]!, goneOfRich: ids[3]!, poorRewards: [r1!, r3!] };
    }

    it('job check skips exactly those rewards, keeps that ref_by, does everything else, ends partial (exit 1); the dry run predicted it', async () => {
      const s = await scene(t.knex);
      const before = { user: await dump(t.knex, 'user'), payback: await dump(t.knex, 'payback') };
      const dry = await cli(['job', 'check', '--dry-run', '--json']);
      expect({ user: await dump(t.knex, 'user'), payback: await dump(t.knex, 'payback') }).toEqual(before);
      const real = await cli(['job', 'check', '--json']);

      for (const r of [dry, real]) {
        expect(r.code, r.stderr).toBe(1);
        const out = r.json();
        expect(out.outcome).toBe('partial');
        expect(out.error).toMatch(/^2 rows (would be|were) skipped because of their values/);
        const skipped = out.steps.flatMap((st: any) => (st.skippedRows ?? []).map((x: any) => [st.name, x.table, x.id]));
        expect(skipped).toEqual([
          ['expired-accounts', 'payback', s.poorRewards[1]],
          ['negative-balance', 'payback', s.poorRewards[0]],
        ]);
        expect(out.steps.find((st: any) => st.name === 'negative-balance').skippedRows[0].reason).toBe(
          `taking reward 1.00 of user #${s.debtorOfPoor} back from referrer #${s.poor} would put its balance below -9999999999.99, the money column's minimum`,
        );
      }
      const strip = (r: CliResult) => r.json().steps.map((st: any) => ({ ...st, durationMs: 0, changes: st.changes.map((c: any) => (c.action === 'insert' ? { ...c, id: 0 } : c)) }));
      expect(strip(dry)).toEqual(strip(real));

      expect(await user(s.poor)).toMatchObject({ money: '-9999999999.99', ban_times: 0 });
      expect(await user(s.rich)).toMatchObject({ money: '8.00', ban_times: 2 });
      expect(await user(s.debtorOfPoor)).toMatchObject({ enable: 0, ref_by: s.poor });
      expect(await user(s.debtorOfRich)).toMatchObject({ enable: 0, ref_by: 0 });
      expect(await user(s.goneOfPoor)).toBeUndefined();
      expect(await user(s.goneOfRich)).toBeUndefined();
      const open = await t.knex('payback').whereIn('id', s.poorRewards).select('callback');
      expect(open.map((p) => p.callback)).toEqual([null, null]);

      const [run] = await t.knex('spanel_run').where('command', 'job check').select('outcome', 'steps', 'error');
      expect(run.outcome).toBe('partial');
      expect(JSON.parse(run.steps).find((st: any) => st.name === 'negative-balance').skippedRows).toHaveLength(1);
      expect(run.error).toMatch(/^2 rows were skipped/);
    });

    it('referral recover skips the reward it cannot take back: exit 1 partial naming the payback row, nothing changed', async () => {
      const s = await scene(t.knex);
      const before = await dump(t.knex, 'user');
      const r = await cli(['referral', 'recover', String(s.goneOfPoor)]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`skipped payback #${s.poorRewards[1]}: taking reward 1.00`);
      expect(r.stderr).toContain('spanel: 1 row was skipped because of their values');
      expect(await dump(t.knex, 'user')).toEqual(before);
    });
  });
});
