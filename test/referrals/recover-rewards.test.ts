import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { loadSettings } from '../../src/config/load.js';
import { recoverRegistrationRewards, type RecoverResult } from '../../src/referrals/recover-rewards.js';
import { runCommand } from '../../src/runner/run.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';
import { dump, insertUser, money } from '../helpers/fixtures.js';
import { expectLedgerBalanced, ledgerSnapshot } from '../ledger/balance.js';

const log = pino({ level: 'silent' });
const NOW = new Date('2026-11-25T00:00:00Z');
const UNIX = NOW.getTime() / 1000;

describe.each(DIALECTS)('recoverRegistrationRewards on %s', (dialect) => {
  const t = useTestDatabase(dialect);

  async function recover(userIds: number[], dryRun = false, sampleSize?: number): Promise<{ r: RecoverResult; runId: number | null }> {
    const settings = loadSettings({ env: { DATABASE_URL: t.url }, cwd: '/' }).settings;
    let r!: RecoverResult;
    const result = await runCommand(
      { command: 'test recover', lockName: null, steps: [{ name: 'recover', title: 'Recover', run: async (ctx) => (r = await recoverRegistrationRewards(ctx, userIds, { reason: 'referral_recover' })) }] },
      { settings, log, database: t.db },
      { dryRun, force: false, now: NOW, operator: 'alice', ...(sampleSize !== undefined ? { sampleSize } : {}) },
    );
    expect(result.error).toBeNull();
    return { r, runId: result.runId };
  }

  const reward = async (userid: number, refBy: number, refGet = '3.00', extra: Record<string, unknown> = {}) => {
    const [id] = await t.knex('payback').insert({ total: -1, userid, ref_by: refBy, ref_get: refGet, datetime: 100, callback: 0, ...extra });
    return Number(id);
  };
  const row = (id: number) => t.knex('payback').where('id', id).first();
  const user = (id: number) => t.knex('user').where('id', id).first();

  it('takes the reward back, writes the −2 row, marks the original and the ledger; second run is a no-op', async () => {
    const referrer = await insertUser(t.knex, { money: '5.00', ban_times: 2 });
    const referred = await insertUser(t.knex, { ref_by: referrer });
    const rid = await reward(referred, referrer, '3.00');
    const snap = await ledgerSnapshot(t.knex);

    const { r, runId } = await recover([referred]);
    expect({ count: r.count, recovered: r.recovered, vanished: r.vanished }).toEqual({ count: 1, recovered: 1, vanished: 0 });
    const ref = await user(referrer);
    expect([money(ref.money), Number(ref.ban_times)]).toEqual(['2.00', 3]);
    expect(Number((await row(rid)).callback)).toBe(1);
    const recovered = await t.knex('payback').where({ total: -2, userid: referred });
    expect(recovered).toHaveLength(1);
    expect([Number(recovered[0].ref_by), money(recovered[0].ref_get), Number(recovered[0].datetime), Number(recovered[0].callback)]).toEqual([referrer, '-3.00', UNIX, 0]);
    expect(recovered[0].paylist_id).toBeNull();
    const ledger = await expectLedgerBalanced(t.knex, snap);
    expect(ledger.map((l) => [Number(l.user_id), money(l.amount_before), money(l.amount_after), money(l.delta), l.reason, l.reference, Number(l.run_id), l.operator, Number(l.created_at)])).toEqual([
      [referrer, '5.00', '2.00', '-3.00', 'referral_recover', `payback:${rid}`, runId, 'alice', UNIX],
    ]);
    expect(r.changes).toEqual([
      { table: 'payback', id: rid, action: 'update', before: { callback: 0 }, after: { callback: 1 } },
      { table: 'payback', id: Number(recovered[0].id), action: 'insert', after: { total: '-2.00', userid: referred, ref_by: referrer, ref_get: '-3.00', datetime: UNIX, callback: 0 } },
      { table: 'user', id: referrer, action: 'update', before: { money: '5.00', ban_times: 2 }, after: { money: '2.00', ban_times: 3 } },
    ]);

    const all = { payback: await dump(t.knex, 'payback'), user: await dump(t.knex, 'user'), ledger: await dump(t.knex, 'spanel_money_ledger') };
    const again = await recover([referred]);
    expect(again.r).toEqual({ count: 0, recovered: 0, vanished: 0, changes: [], notes: [], skippedRows: [], unrecoveredUsers: new Set() });
    expect({ payback: await dump(t.knex, 'payback'), user: await dump(t.knex, 'user'), ledger: await dump(t.knex, 'spanel_money_ledger') }).toEqual(all);
  });

  it('works without the referred user row, and lets the balance go negative', async () => {
    const referrer = await insertUser(t.knex, { money: '1.00' });
    const goneUser = 999_001; // never existed in user: only the payback row knows it
    await reward(goneUser, referrer, '2.50');
    const snap = await ledgerSnapshot(t.knex);
    const { r } = await recover([goneUser]);
    expect(r.recovered).toBe(1);
    expect(money((await user(referrer)).money)).toBe('-1.50');
    await expectLedgerBalanced(t.knex, snap);
  });

  it('a vanished referrer: callback 3, no money, no −2 row, no ledger; then a no-op', async () => {
    const referred = await insertUser(t.knex);
    const rid = await reward(referred, 888_001, '3.00');
    const snap = await ledgerSnapshot(t.knex);
    const { r } = await recover([referred]);
    expect({ count: r.count, recovered: r.recovered, vanished: r.vanished }).toEqual({ count: 1, recovered: 0, vanished: 1 });
    expect(r.notes).toEqual([`user #${referred}: referrer #888001 no longer exists, payback #${rid} marked callback 3, no money moved`]);
    expect(Number((await row(rid)).callback)).toBe(3);
    expect(await t.knex('payback').where({ total: -2, userid: referred })).toEqual([]);
    expect(await expectLedgerBalanced(t.knex, snap)).toEqual([]);
    expect((await recover([referred])).r.count).toBe(0);
  });

  it('set-based over many users and batches: running ledger per referrer, legacy −2 rows respected', async () => {
    const a = await insertUser(t.knex, { money: '10.00', ban_times: 0 });
    const b = await insertUser(t.knex, { money: '0.00', ban_times: 5 });
    const r1 = await reward(700_003, a, '1.00');
    const r2 = await reward(700_004, a, '2.25');
    const r3 = await reward(701_150, b, '0.10'); // beyond the first 1000-id batch
    const legacy = await reward(700_005, b, '9.00'); // already recovered by the PHP panel (−2 row, callback left 0)
    await t.knex('payback').insert({ total: -2, userid: 700_005, ref_by: b, ref_get: '-9.00', datetime: 50, callback: 0 });
    const commission = await t.knex('payback').insert({ total: '10.00', userid: 700_006, ref_by: a, ref_get: '2.00', datetime: 50, callback: 0 });
    void commission;
    const ids = Array.from({ length: 1200 }, (_, i) => 700_001 + i);
    const snap = await ledgerSnapshot(t.knex);

    const { r } = await recover(ids);
    expect({ count: r.count, recovered: r.recovered, vanished: r.vanished }).toEqual({ count: 3, recovered: 3, vanished: 0 });
    expect([money((await user(a)).money), Number((await user(a)).ban_times)]).toEqual(['6.75', 2]);
    expect([money((await user(b)).money), Number((await user(b)).ban_times)]).toEqual(['-0.10', 6]);
    expect(Number((await row(legacy)).callback)).toBe(0);
    expect((await t.knex('payback').whereIn('id', [r1, r2, r3]).select('callback')).map((x) => Number(x.callback))).toEqual([1, 1, 1]);
    const ledger = await expectLedgerBalanced(t.knex, snap);
    expect(ledger.map((l) => [Number(l.user_id), money(l.amount_before), money(l.amount_after), l.reference])).toEqual([
      [a, '10.00', '9.00', `payback:${r1}`],
      [a, '9.00', '6.75', `payback:${r2}`],
      [b, '0.00', '-0.10', `payback:${r3}`],
    ]);
  });

  it('recovering 0.10 and 0.20 from a balance of 0.30 leaves exactly 0 (no float drift on SQLite)', async () => {
    // In a float column 0.30 − (0.10 + 0.20) is −5.55e-17, which the check job would disable
    // as a negative balance.
    const referrer = await insertUser(t.knex, { money: '0.30' });
    await reward(730_001, referrer, '0.10');
    await reward(730_002, referrer, '0.20');
    const { r } = await recover([730_001, 730_002]);
    expect(r.recovered).toBe(2);
    expect(Number((await user(referrer)).money)).toBe(0);
    expect(await t.knex('user').where('id', referrer).where('money', '<', 0).select('id')).toEqual([]);
  });

  it('dry run reports exactly what the real run then does, and changes nothing', async () => {
    const referrer = await insertUser(t.knex, { money: '4.00' });
    const referred = await insertUser(t.knex, { ref_by: referrer });
    await reward(referred, referrer, '1.20');
    const before = { payback: await dump(t.knex, 'payback'), user: await dump(t.knex, 'user'), ledger: await dump(t.knex, 'spanel_money_ledger') };
    const dry = await recover([referred], true);
    expect(dry.runId).toBeNull();
    expect({ payback: await dump(t.knex, 'payback'), user: await dump(t.knex, 'user'), ledger: await dump(t.knex, 'spanel_money_ledger') }).toEqual(before);
    const real = await recover([referred]);
    const stripInsertIds = (r: RecoverResult) => r.changes.map((c) => (c.action === 'insert' ? { ...c, id: 0 } : c));
    expect(stripInsertIds(dry.r)).toEqual(stripInsertIds(real.r));
    expect(dry.r.notes).toEqual(real.r.notes);
  });

  it('bounds changes and notes by the sample size', async () => {
    const referrer = await insertUser(t.knex, { money: '4.00' });
    for (const u of [720_001, 720_002, 720_003]) await reward(u, referrer, '0.01');
    const { r } = await recover([720_001, 720_002, 720_003], false, 1);
    expect(r.count).toBe(3);
    expect(r.changes.map((c) => `${c.table}:${c.action}`)).toEqual(['payback:update', 'payback:insert', 'user:update']);
    expect(r.notes).toHaveLength(2);
    expect(r.notes[1]).toBe('… and 2 more');
    expect(money((await user(referrer)).money)).toBe('3.97');
  });
});
