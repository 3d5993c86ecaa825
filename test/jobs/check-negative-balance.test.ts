import { beforeEach, describe, expect, it } from 'vitest';
import { negativeBalance } from '../../src/jobs/check/negative-balance.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';
import { dump, insertUser, money } from '../helpers/fixtures.js';
import { ACTIVE, UNIX, countRows, norm, stepRunner } from './check.helpers.js';

const WARNING = '20261125 10:00:00 account disabled: the balance is negative';

describe.each(DIALECTS)('check step 4, negative balance, on %s', (dialect) => {
  const t = useTestDatabase(dialect);
  const run = stepRunner(t);

  beforeEach(async () => {
    for (const table of ['user', 'payback', 'spanel_money_ledger']) await t.knex(table).del();
  });

  async function fixture() {
    const ref = await insertUser(t.knex, { ...ACTIVE, money: '10.00', score: 100 });
    const ref2 = await insertUser(t.knex, { ...ACTIVE, money: '10.00', score: 100 });
    const to63 = await insertUser(t.knex, { ...ACTIVE, money: '-0.01', class: 3, ban_times: 2, score: 64, node_group: 3, ref_by: ref });
    const to64 = await insertUser(t.knex, { ...ACTIVE, money: '-5.00', class: 0, ban_times: 0, score: 65, node_group: 1, ref_by: ref2 });
    const noRef = await insertUser(t.knex, { ...ACTIVE, money: '-1.00', class: 1, ban_times: 0, score: 10, node_group: 0, ref_by: 0 });
    const zero = await insertUser(t.knex, { ...ACTIVE, money: '0.00', score: 10, ref_by: ref });
    const disabled = await insertUser(t.knex, { ...ACTIVE, money: '-1.00', enable: 0, score: 10, ref_by: ref, node_group: 3 });
    await t.knex('payback').insert([
      { total: '-1.00', userid: to63, ref_by: ref, ref_get: '2.00', datetime: 1, callback: 0 },
      { total: '-1.00', userid: to64, ref_by: ref2, ref_get: '2.00', datetime: 1, callback: 0 },
    ]);
    return { ref, ref2, to63, to64, noRef, zero, disabled };
  }

  const row = async (id: number) => {
    const r = await t.knex('user').where('id', id).first();
    return { enable: Number(r.enable), warming: r.warming, ban_times: Number(r.ban_times), score: Number(r.score), node_group: Number(r.node_group), ref_by: Number(r.ref_by), money: money(r.money) };
  };

  it('disables negative balances with every column change; recovery and ref_by=0 only below score 64', async () => {
    const f = await fixture();
    const untouched = (await dump(t.knex, 'user')).filter((u) => [f.ref2, f.zero, f.disabled].includes(u.id as number));
    const result = await run([negativeBalance]);
    expect(result.error).toBeNull();
    const step = result.steps[0]!;
    expect(step.count).toBe(3);
    expect(step.counts).toEqual({ disabled: 3, 'ref_by cleared': 1, 'rewards recovered': 1 });

    expect(await row(f.to63)).toEqual({ enable: 0, warming: WARNING, ban_times: 5, score: 63, node_group: 2, ref_by: 0, money: '-0.01' });
    expect(await row(f.to64)).toEqual({ enable: 0, warming: WARNING, ban_times: 0, score: 64, node_group: 1, ref_by: f.ref2, money: '-5.00' });
    expect(await row(f.noRef)).toEqual({ enable: 0, warming: WARNING, ban_times: 1, score: 9, node_group: 0, ref_by: 0, money: '-1.00' });
    expect((await dump(t.knex, 'user')).filter((u) => [f.ref2, f.zero, f.disabled].includes(u.id as number))).toEqual(untouched);

    // The score-63 user's referrer gives the reward back; the score-64 user's keeps it.
    expect(await row(f.ref)).toMatchObject({ money: '8.00', ban_times: 1 });
    const payback = (await dump(t.knex, 'payback')).map((p) => [p.userid, money(p.total), money(p.ref_get), p.callback]);
    expect(payback).toEqual([
      [f.to63, '-1.00', '2.00', 1],
      [f.to64, '-1.00', '2.00', 0],
      [f.to63, '-2.00', '-2.00', 0],
    ]);
    expect(await dump(t.knex, 'spanel_money_ledger')).toEqual([
      expect.objectContaining({ user_id: f.ref, reason: 'check: negative balance', run_id: result.runId, created_at: UNIX }),
    ]);

    const changes = norm(step.changes).filter((c) => c.table === 'user' && c.id !== f.ref);
    expect(changes).toEqual([
      { table: 'user', id: f.to63, action: 'update',
        before: { enable: 1, warming: null, ban_times: 2, score: 64, node_group: 3, ref_by: f.ref },
        after: { enable: 0, warming: WARNING, ban_times: 5, score: 63, node_group: 2, ref_by: 0 } },
      { table: 'user', id: f.to64, action: 'update',
        before: { enable: 1, warming: null, score: 65 }, after: { enable: 0, warming: WARNING, score: 64 } },
      { table: 'user', id: f.noRef, action: 'update',
        before: { enable: 1, warming: null, ban_times: 0, score: 10 }, after: { enable: 0, warming: WARNING, ban_times: 1, score: 9 } },
    ]);

    const again = await run([negativeBalance]);
    expect(again.steps[0]).toMatchObject({ count: 0, changes: [] });
  });

  it('dry run reports exactly what the real run changes and writes nothing', async () => {
    await fixture();
    const tables = ['user', 'payback', 'spanel_money_ledger'];
    const before = await Promise.all(tables.map((x) => dump(t.knex, x)));
    const dry = await run([negativeBalance], { dryRun: true });
    expect(await Promise.all(tables.map((x) => dump(t.knex, x)))).toEqual(before);
    const real = await run([negativeBalance]);
    const noInsertIds = (r: typeof dry) => norm(r.steps[0]!.changes).map((c) => (c.action === 'insert' ? { ...c, id: 0 } : c));
    expect(noInsertIds(dry)).toEqual(noInsertIds(real));
    expect(dry.steps[0]!.counts).toEqual(real.steps[0]!.counts);
  });

  it('disables only the users negative when it starts: a referrer the recovery pushes below 0 waits for the next run, whatever its id', async () => {
    const low = await insertUser(t.knex, { ...ACTIVE, money: '0.50', score: 100 });
    const a = await insertUser(t.knex, { ...ACTIVE, money: '-1.00', score: 50, ref_by: low });
    const b = await insertUser(t.knex, { ...ACTIVE, money: '-1.00', score: 50 });
    const high = await insertUser(t.knex, { ...ACTIVE, money: '0.50', score: 100 });
    await t.knex('user').where('id', b).update({ ref_by: high });
    await t.knex('payback').insert([
      { total: '-1.00', userid: a, ref_by: low, ref_get: '5.00', datetime: 1, callback: 0 },
      { total: '-1.00', userid: b, ref_by: high, ref_get: '5.00', datetime: 1, callback: 0 },
    ]);
    const result = await run([negativeBalance]);
    expect(result.steps[0]!.counts).toEqual({ disabled: 2, 'ref_by cleared': 2, 'rewards recovered': 2 });
    for (const id of [low, high]) expect(await row(id)).toMatchObject({ enable: 1, money: '-4.50', ban_times: 1, score: 100 });
    const next = await run([negativeBalance]);
    expect(next.steps[0]!.counts).toEqual({ disabled: 2, 'ref_by cleared': 0, 'rewards recovered': 0 });
    for (const id of [low, high]) expect(await row(id)).toMatchObject({ enable: 0, score: 99 });
  });

  it('handles more users than one batch, with a bounded sample', async () => {
    const rows = Array.from({ length: 520 }, (_, i) => ({ email: `neg${i}@example.com`, money: '-1.00', enable: 1, score: 100, node_group: 2, reg_date: '2026-01-01 00:00:00' }));
    for (let i = 0; i < rows.length; i += 100) await t.knex('user').insert(rows.slice(i, i + 100));
    const result = await run([negativeBalance], { sampleSize: 5 });
    expect(result.steps[0]!.count).toBe(520);
    expect(result.steps[0]!.changes).toHaveLength(5);
    expect(await countRows(t.knex, 'user', { enable: 0, score: 99, node_group: 1 })).toBe(520);
  });

  // Last in the file: it alters the user table.
  it.runIf(dialect === 'mysql')('counts a NULL class, ban_times or score as 0 on a panel whose columns are NULLable', async () => {
    await t.knex.raw('ALTER TABLE `user` MODIFY `class` INT NULL, MODIFY `ban_times` INT NULL, MODIFY `score` INT NULL');
    const noClass = await insertUser(t.knex, { ...ACTIVE, money: '-1.00', class: null, ban_times: 2, score: 70, node_group: 2 });
    const noBans = await insertUser(t.knex, { ...ACTIVE, money: '-1.00', class: 3, ban_times: null, score: null, node_group: 0 });
    const result = await run([negativeBalance]);
    expect(result.error).toBeNull();
    expect(result.steps[0]!.counts).toEqual({ disabled: 2, 'ref_by cleared': 0, 'rewards recovered': 0 });
    expect(await row(noClass)).toEqual({ enable: 0, warming: WARNING, ban_times: 2, score: 69, node_group: 1, ref_by: 0, money: '-1.00' });
    expect(await row(noBans)).toEqual({ enable: 0, warming: WARNING, ban_times: 3, score: -1, node_group: 0, ref_by: 0, money: '-1.00' });
  });
});
