import { describe, expect, it } from 'vitest';
import { runCli, spawnCli } from '../helpers/cli.js';
import { DIALECTS, useTestDatabase, type TestDatabase } from '../helpers/db.js';
import { dump, insertUser, money } from '../helpers/fixtures.js';
import { expectLedgerBalanced, ledgerSnapshot } from '../ledger/balance.js';

const NOW = '2026-11-25T10:00:00Z';

async function reward(t: TestDatabase, userid: number, refBy: number, refGet = '2.00'): Promise<number> {
  const [id] = await t.knex('payback').insert({ total: -1, userid, ref_by: refBy, ref_get: refGet, datetime: 1, callback: 0 });
  return Number(id);
}
const balance = async (t: TestDatabase, id: number) => money((await t.knex('user').where('id', id).first()).money);

describe.each(DIALECTS)('referral recover on %s', (dialect) => {
  const t = useTestDatabase(dialect);
  async function recover(user: number, ...flags: string[]) {
    const snap = await ledgerSnapshot(t.knex);
    const r = await runCli(['referral', 'recover', String(user), '--now', NOW, '--operator', 'bob', ...flags], { DATABASE_URL: t.url });
    return { ...r, ledger: await expectLedgerBalanced(t.knex, snap) };
  }
  const everything = async () => ({ user: await dump(t.knex, 'user'), payback: await dump(t.knex, 'payback'), ledger: await dump(t.knex, 'spanel_money_ledger') });

  it('recovers, then says "already recovered" and changes nothing', async () => {
    const referrer = await insertUser(t.knex, { money: '5.00' });
    const user = await insertUser(t.knex, { ref_by: referrer });
    const rid = await reward(t, user, referrer);
    const r = await recover(user);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`user #${user}: reward 2.00 taken back from referrer #${referrer} (payback #${rid})`);
    expect(await balance(t, referrer)).toBe('3.00');
    expect(r.ledger.map((l) => [l.reason, l.reference, l.operator])).toEqual([['referral_recover', `payback:${rid}`, 'bob']]);
    const before = await everything();
    const again = await recover(user, '--json');
    expect(again.code).toBe(0);
    expect(again.json().steps[0].data).toEqual({ user, status: 'already_recovered', recovered: 0, vanished: 0 });
    expect(await everything()).toEqual(before);
  });

  it('says "no registration reward" for a user without one', async () => {
    const user = await insertUser(t.knex);
    const r = await recover(user);
    expect([r.code, r.stdout]).toEqual([0, expect.stringContaining(`user #${user} has no registration reward: nothing to recover`)]);
  });

  it('works after the user row is deleted', async () => {
    const referrer = await insertUser(t.knex, { money: '0.50' });
    const user = await insertUser(t.knex, { ref_by: referrer });
    await reward(t, user, referrer, '1.00');
    await t.knex('user').where('id', user).del();
    const r = await recover(user);
    expect(r.code).toBe(0);
    expect(await balance(t, referrer)).toBe('-0.50');
    expect(await t.knex('payback').where({ total: -2, userid: user })).toHaveLength(1);
  });

  it('a vanished referrer: callback 3, no money moves; a second run says why nothing happens', async () => {
    const user = await insertUser(t.knex);
    const rid = await reward(t, user, 876_540);
    const r = await recover(user);
    expect(r.code).toBe(0);
    expect(r.ledger).toEqual([]);
    expect(Number((await t.knex('payback').where('id', rid).first()).callback)).toBe(3);
    expect(r.stdout).toContain('referrer #876540 no longer exists');
    expect((await recover(user)).stdout).toContain(`user #${user}'s referrer no longer exists (already marked callback 3)`);
  });

  it('--json: a reward whose referrer is gone reports "referrer_gone", not "recovered"', async () => {
    const user = await insertUser(t.knex);
    await reward(t, user, 876_541);
    const first = await recover(user, '--json');
    expect(first.code).toBe(0);
    expect(first.json().steps[0].data).toEqual({ user, status: 'referrer_gone', recovered: 0, vanished: 1 });
    expect((await recover(user, '--json')).json().steps[0].data).toEqual({ user, status: 'referrer_gone', recovered: 0, vanished: 0 });
  });

  it('--json: one reward recovered and one whose referrer is gone reports "recovered"', async () => {
    const referrer = await insertUser(t.knex, { money: '5.00' });
    const user = await insertUser(t.knex, { ref_by: referrer });
    await reward(t, user, referrer);
    await reward(t, user, 876_542);
    const r = await recover(user, '--json');
    expect(r.json().steps[0].data).toEqual({ user, status: 'recovered', recovered: 1, vanished: 1 });
  });

  it('dry run reports the recovery and changes nothing', async () => {
    const referrer = await insertUser(t.knex, { money: '5.00' });
    const user = await insertUser(t.knex, { ref_by: referrer });
    await reward(t, user, referrer);
    const before = await everything();
    const r = await recover(user, '--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`user #${referrer}: money 5.00 → 3.00, ban_times 0 → 1`);
    expect(await everything()).toEqual(before);
  });
});

describe('referral recover, concurrent processes (MariaDB)', () => {
  const t = useTestDatabase('mysql');

  it('10 processes recovering one user take the reward back once; all exit 0', { timeout: 180_000 }, async () => {
    const referrer = await insertUser(t.knex, { money: '5.00' });
    const user = await insertUser(t.knex, { ref_by: referrer });
    await reward(t, user, referrer, '2.00');
    const snap = await ledgerSnapshot(t.knex);
    const results = await Promise.all(Array.from({ length: 10 }, () => spawnCli(['referral', 'recover', String(user)], { DATABASE_URL: t.url })));
    expect(results.map((r) => [r.code, r.stderr])).toEqual(Array(10).fill([0, '']));
    expect(results.filter((r) => r.stdout.includes('taken back'))).toHaveLength(1);
    expect(results.filter((r) => r.stdout.includes('already recovered'))).toHaveLength(9);
    expect(await balance(t, referrer)).toBe('3.00');
    expect(await t.knex('payback').where({ total: -2, userid: user })).toHaveLength(1);
    expect(await expectLedgerBalanced(t.knex, snap)).toHaveLength(1);
  });

  it('10 processes recovering 10 neighbouring users of one referrer neither deadlock nor double-count', { timeout: 180_000 }, async () => {
    const referrer = await insertUser(t.knex, { money: '0.00', ban_times: 0 });
    const users: number[] = [];
    for (let i = 0; i < 10; i++) {
      users.push(await insertUser(t.knex, { ref_by: referrer }));
      await reward(t, users[i]!, referrer, '0.25');
    }
    const snap = await ledgerSnapshot(t.knex);
    const results = await Promise.all(users.map((u) => spawnCli(['referral', 'recover', String(u)], { DATABASE_URL: t.url })));
    expect(results.map((r) => [r.code, r.stderr])).toEqual(Array(10).fill([0, '']));
    const ref = await t.knex('user').where('id', referrer).first();
    expect([money(ref.money), Number(ref.ban_times)]).toEqual(['-2.50', 10]);
    expect(await expectLedgerBalanced(t.knex, snap)).toHaveLength(10);
  });
});
