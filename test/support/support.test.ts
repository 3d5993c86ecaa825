import type { Knex } from 'knex';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';
import { dump, insertOrder, insertUser, money } from '../helpers/fixtures.js';
import { ACTIVE, DAY, DEPENDENTS, NOW_ISO, UNIX, panelLocal } from '../jobs/check.helpers.js';

/** Never used for 14+ days, registered 40 days ago: rules b, c and d delete it at NOW. */
const DOOMED = { t: 0, u: 0, d: 0, last_check_in_time: 0, reg_date: panelLocal(-40 * DAY) };
const ALL_DEPENDENT_TABLES = [...DEPENDENTS.map(([t]) => t), 'ss_password_reset'];

async function addDependents(knex: Knex, userId: number, email: string): Promise<void> {
  await knex('link').insert({ type: 1, token: `tok-${userId}`, userid: userId });
  await knex('login_ip').insert([{ userid: userId, ip: '10.0.0.1', datetime: UNIX - 100, type: 0 }, { userid: userId, ip: '10.0.0.2', datetime: UNIX - 50, type: 1 }]);
  await knex('ss_invite_code').insert({ code: `inv-${userId}`, user_id: userId, created_at: '2026-01-02 03:04:05', updated_at: '2026-01-02 03:04:05' });
  await knex('user_token').insert({ token: `ut-${userId}`, user_id: userId, create_time: 5, expire_time: 6 });
  await knex('bought').insert({ userid: userId, shopid: 3, datetime: UNIX - 9, renew: 0, coupon: 'X', price: '12.34' });
  await knex('code').insert({ code: 'alipay', type: -1, number: '9.99', isused: 1, userid: userId, usedatetime: '2026-03-04 05:06:07' });
  await knex('disconnect_ip').insert({ userid: userId, ip: '10.9.9.9', datetime: 7 });
  await knex('radius_ban').insert({ userid: userId });
  await knex('ss_password_reset').insert({ email, token: `reset-${userId}`, init_time: 1, expire_time: 2 });
}

async function dependentsOf(knex: Knex, userId: number, email: string): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [table, column] of DEPENDENTS) out[table] = (await dump(knex, table)).filter((r) => Number(r[column]) === userId);
  out.ss_password_reset = (await dump(knex, 'ss_password_reset')).filter((r) => r.email === email);
  return out;
}

describe.each(DIALECTS)('support commands on %s', (dialect) => {
  const t = useTestDatabase(dialect);
  const env = () => ({ DATABASE_URL: t.url, SPANEL_TIMEZONE: 'Asia/Shanghai' });
  const cli = (...args: string[]) => runCli(args, env());
  const ids = {} as Record<'referrer' | 'doomed' | 'payer' | 'order' | 'idle' | 'checkRun' | 'confirmRun', number>;
  let doomedEmail = '';
  let doomedRow: Record<string, unknown>;
  let doomedDeps: Record<string, unknown[]>;

  beforeAll(async () => {
    ids.referrer = await insertUser(t.knex, { ...ACTIVE, email: 'referrer@example.com', score: 10, money: '5.00', ban_times: 0 });
    ids.payer = await insertUser(t.knex, { ...ACTIVE, email: 'payer@example.com', ref_by: ids.referrer, money: '1.00' });
    doomedEmail = 'doomed@example.com';
    ids.doomed = await insertUser(t.knex, { ...DOOMED, email: doomedEmail, ref_by: ids.referrer, money: '0.50', warming: 'x' });
    await t.knex('payback').insert({ total: '-1.00', userid: ids.doomed, ref_by: ids.referrer, ref_get: '2.00', datetime: 1, callback: 0 });
    await addDependents(t.knex, ids.doomed, doomedEmail);
    doomedRow = (await dump(t.knex, 'user')).find((r) => r.id === ids.doomed)!;
    doomedDeps = await dependentsOf(t.knex, ids.doomed, doomedEmail);
    ids.order = await insertOrder(t.knex, { userid: ids.payer, total: '10.00', status: 0, datetime: UNIX - 600 });
    // Checked in 30 days ago: rule b deletes it 2 days and 1 s from NOW unless it checks in.
    ids.idle = await insertUser(t.knex, { ...ACTIVE, email: 'idle@example.com', last_check_in_time: UNIX - 30 * DAY, reg_date: panelLocal(-100 * DAY) });

    const confirm = await cli('payment', 'confirm', String(ids.order), '--now', NOW_ISO, '--operator', 'alice', '--json');
    expect(confirm.code).toBe(0);
    ids.confirmRun = confirm.json().runId;
    // The job takes no --operator: the invoking user (behind sudo, SUDO_USER) is the operator.
    const check = await runCli(['job', 'check', '--now', NOW_ISO, '--json'], { ...env(), SUDO_USER: 'cron' });
    expect(check.code, check.stderr).toBe(0);
    ids.checkRun = check.json().runId;
  });

  it('job check archives every dependent row as it was before deleting it', async () => {
    expect(await t.knex('user').where('id', ids.doomed).first()).toBeUndefined();
    const archive = await t.knex('spanel_archived_user').where('user_id', ids.doomed).first();
    const rows: { table_name: string; row_json: string; archive_id: unknown }[] = await t.knex('spanel_archived_row').where('archive_id', archive.id).orderBy('id');
    const byTable: Record<string, unknown[]> = {};
    for (const r of rows) (byTable[r.table_name] ??= []).push(JSON.parse(r.row_json));
    expect(Object.keys(byTable).sort()).toEqual([...ALL_DEPENDENT_TABLES].sort());
    expect(byTable.login_ip).toHaveLength(2);
    for (const table of ALL_DEPENDENT_TABLES) expect((byTable[table] as Record<string, unknown>[]).map(normaliseRow)).toEqual(doomedDeps[table]!.map(normaliseRow));
  });

  it('history lists the runs, newest first, with outcome, operator and rows changed', async () => {
    const r = await cli('history', '--json');
    expect(r.code).toBe(0);
    const runs = r.json().runs;
    expect(runs.map((x: any) => [x.id, x.command, x.outcome, x.operator])).toEqual([
      [ids.checkRun, 'job check', 'success', 'cron'],
      [ids.confirmRun, 'payment confirm', 'success', 'alice'],
    ]);
    // The check run deleted the user (1), its 10 dependent rows, archived 1, recovered 1 reward.
    expect(runs[0].rowsChanged).toBe((await stepCounts(ids.checkRun)).reduce((a, b) => a + b, 0));
    expect(runs[1].rowsChanged).toBe(5); // order paid, payer credited, top-up code row, referrer paid, payback row
    const only = await cli('history', '--command', 'check', '--json');
    expect(only.json().runs.map((x: any) => x.id)).toEqual([ids.checkRun]);
    expect((await cli('history', '--since', '2099-01-01', '--json')).json().runs).toEqual([]);
    expect((await cli('history', '--limit', '1', '--json')).json().runs).toHaveLength(1);
    const human = await cli('history');
    expect(human.stdout).toMatch(new RegExp(`#${ids.checkRun}\\s+job check\\s+\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}\\s+\\S+ m?s\\s+success\\s+cron`));
    expect((await cli('history', '--limit', '0')).code).toBe(2);
    expect((await cli('history', '--since', 'yesterday')).code).toBe(2);
  });

  async function stepCounts(run: number): Promise<number[]> {
    const row = await t.knex('spanel_run').where('id', run).first();
    return JSON.parse(row.steps).map((s: { count: number }) => s.count);
  }

  it('history show: arguments, step counts and the changed rows before → after, kept with the run', async () => {
    const r = await cli('history', 'show', String(ids.checkRun), '--json');
    expect(r.code).toBe(0);
    const d = r.json();
    expect(d.command).toBe('job check');
    const step = d.steps.find((s: any) => s.name === 'expired-accounts');
    expect(step.count).toBe(1);
    expect(step.changes).toContainEqual(expect.objectContaining({ table: 'user', id: ids.doomed, action: 'delete' }));
    expect(step.changes).toContainEqual({ table: 'user', id: ids.referrer, action: 'update', before: { money: '7.00', ban_times: 0 }, after: { money: '5.00', ban_times: 1 } });
    expect(d.money).toEqual([{ user: ids.referrer, before: '7.00', after: '5.00', delta: '-2.00', reason: 'check: account deleted', reference: expect.stringMatching(/^payback:\d+$/) }]);
    const confirm = (await cli('history', 'show', String(ids.confirmRun), '--json')).json();
    expect(confirm.args).toEqual({ order: ids.order, tradeno: null, allowExpired: false });
    expect(confirm.steps.find((s: any) => s.name === 'credit-payer').changes).toEqual([
      { table: 'user', id: ids.payer, action: 'update', before: { money: '1.00' }, after: { money: '11.00' } },
    ]);
    const human = await cli('history', 'show', String(ids.checkRun));
    expect(human.stdout).toContain(`user #${ids.referrer}: money 7.00 → 5.00, ban_times 0 → 1`);
    expect(human.stdout).toContain(`user #${ids.referrer} 7.00 → 5.00 (-2.00) check: account deleted payback:`);
    expect((await cli('history', 'show', '999999')).code).toBe(2);
    expect((await cli('history', 'show', 'abc')).code).toBe(2);
  });

  it('a dry run keeps no change sample', async () => {
    const before = await t.knex('spanel_run_change').count({ n: '*' }).first();
    expect((await cli('job', 'daily', '--now', NOW_ISO, '--dry-run')).code).toBe(0);
    expect(await t.knex('spanel_run_change').count({ n: '*' }).first()).toEqual(before);
  });

  it('ledger <user>: every row, and the balance still equals the last after', async () => {
    const r = await cli('ledger', 'referrer@example.com', '--json');
    expect(r.code).toBe(0);
    const x = r.json();
    expect(x.rows.map((l: any) => [l.before, l.after, l.delta, l.reason, l.runId, l.operator])).toEqual([
      ['5.00', '7.00', '2.00', 'commission', ids.confirmRun, 'alice'],
      ['7.00', '5.00', '-2.00', 'check: account deleted', ids.checkRun, 'cron'],
    ]);
    expect([x.consistent, x.balance, x.changedOutsideSince]).toEqual([true, '5.00', null]);
    const human = await cli('ledger', String(ids.referrer));
    expect(human.stdout).toContain(`+2.00  5.00 → 7.00     commission`);
    expect(human.stdout).toContain('OK: the balance equals the last recorded after (5.00)');
  });

  it('ledger verify: exit 0 while every chain holds; exit 1 naming a balance changed outside spanel and by how much', async () => {
    const ok = await cli('ledger', 'verify', '--json');
    expect([ok.code, ok.json().ok, ok.json().users]).toEqual([0, true, 2]);
    await t.knex('user').where('id', ids.payer).update({ money: '12.50' });
    const bad = await cli('ledger', 'verify');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`user #${ids.payer}: balance 12.50, last recorded after 11.00: differs by +1.50 (changed outside spanel since 2026-11-25 10:00:00)`);
    const json = (await cli('ledger', 'verify', '--json')).json();
    expect(json.problems.map((p: any) => [p.user, p.difference])).toEqual([[ids.payer, '1.50']]);
    expect((await cli('ledger', 'verify', '--user', String(ids.referrer))).code).toBe(0);
    const one = await cli('ledger', String(ids.payer));
    expect(one.stdout).toContain('the balance 12.50 differs from the last recorded after 11.00 by +1.50: changed outside spanel since 2026-11-25 10:00:00');
    // A break inside the chain is found too.
    await t.knex('spanel_money_ledger').insert({ user_id: ids.payer, amount_before: '20.00', amount_after: '12.50', delta: '-7.50', reason: 'test', reference: null, run_id: null, operator: 't', created_at: UNIX + 5 });
    const broken = (await cli('ledger', 'verify', '--user', String(ids.payer), '--json')).json();
    expect(broken.problems[0].breaks).toEqual([{ ledgerId: expect.any(Number), expectedBefore: '11.00', before: '20.00', gap: '9.00' }]);
    expect(broken.problems[0].difference).toBeNull();
    await t.knex('spanel_money_ledger').where('reason', 'test').del();
    await t.knex('user').where('id', ids.payer).update({ money: '11.00' });
  });

  it('payment list: by user (id or email), status and time, with who confirmed it', async () => {
    const unpaid = await insertOrder(t.knex, { userid: ids.payer, total: '3.00', status: 0, datetime: UNIX - 60 });
    const r = await cli('payment', 'list', '--user', 'payer@example.com', '--json');
    expect(r.code).toBe(0);
    expect(r.json().orders.map((o: any) => [o.id, o.status, o.total, o.confirmedBy?.operator ?? null])).toEqual([
      [unpaid, 'unpaid', '3.00', null],
      [ids.order, 'paid', '10.00', 'alice'],
    ]);
    expect((await cli('payment', 'list', '--user', String(ids.payer), '--status', 'paid', '--json')).json().orders.map((o: any) => o.id)).toEqual([ids.order]);
    expect((await cli('payment', 'list', '--since', '2026-11-25 09:58', '--json')).json().orders.map((o: any) => o.id)).toEqual([unpaid]);
    const human = await cli('payment', 'list', '--status', 'unpaid');
    expect(human.stdout).toMatch(new RegExp(`#${unpaid} +#${ids.payer} payer@example.com +3.00 +unpaid +2026-11-25 09:59:00 +- +confirm: spanel payment confirm ${unpaid}`));
    expect(human.stdout).toContain(`spanel payment confirm ${unpaid}`);
    expect((await cli('payment', 'list', '--status', 'refunded')).code).toBe(2);
    expect((await cli('payment', 'list', '--user', 'nobody@example.com')).code).toBe(2);
    await t.knex('paylist').where('id', unpaid).del();
  });

  it('user show: one screen for support, and the rule that acts next', async () => {
    const r = await cli('user', 'show', 'idle@example.com', '--now', NOW_ISO, '--json');
    expect(r.code).toBe(0);
    const p = r.json();
    expect(p.next).toMatchObject({ rule: 'check rule b', atPanelLocal: panelLocal(2 * DAY + 1), unless: 'they check in', confirmed: true });
    const human = await cli('user', 'show', String(ids.idle), '--now', NOW_ISO);
    expect(human.stdout).toContain(`next        deleted: no check-in by check rule b on ${panelLocal(2 * DAY + 1)} unless they check in`);

    const ref = (await cli('user', 'show', String(ids.referrer), '--now', NOW_ISO, '--json')).json();
    expect(ref).toMatchObject({ state: 'live', balance: '5.00', enabled: true, referrer: null });
    expect(ref.referred).toEqual({ count: 1, users: [{ id: ids.payer, email: 'payer@example.com' }] });
    expect(ref.rewards.received).toEqual({ registration: 1, commission: 1, total: '4.00', recovered: 1, recoveredTotal: '2.00' });
    expect(ref.recentRuns.map((c: any) => [c.run, c.after])).toEqual([
      [ids.checkRun, { money: '5.00', ban_times: 1 }],
      [ids.confirmRun, { money: '7.00' }],
    ]);

    const payer = (await cli('user', 'show', 'payer@example.com', '--json')).json();
    expect(payer.orders.map((o: any) => [o.id, o.status])).toContainEqual([ids.order, 1]);
    expect(payer.referrer).toEqual({ id: ids.referrer, email: 'referrer@example.com' });

    const gone = await cli('user', 'show', doomedEmail);
    expect(gone.code).toBe(0);
    expect(gone.stdout).toContain(`user #${ids.doomed} doomed@example.com: DELETED on 2026-11-25 10:00:00 (rule b,c,d, run #${ids.checkRun})`);
    expect(gone.stdout).toContain(`restore it with: spanel user restore ${ids.doomed} --dry-run`);
    expect((await cli('user', 'show', 'nobody@example.com')).code).toBe(2);
  });

  it('user restore --dry-run changes nothing; restore brings back the user and its rows exactly, once', async () => {
    const tables = ['user', 'payback', 'spanel_money_ledger', 'spanel_archived_user', 'spanel_run', ...ALL_DEPENDENT_TABLES];
    const snapshot = async () => Object.fromEntries(await Promise.all(tables.map(async (x) => [x, await dump(t.knex, x)])));
    const before = await snapshot();
    const dry = await cli('user', 'restore', String(ids.doomed), '--dry-run', '--now', NOW_ISO, '--json');
    expect(dry.code).toBe(0);
    expect(dry.json().steps.map((s: any) => [s.name, s.count])).toEqual([['restore-user', 1], ['restore-rows', 10], ['reward', 0]]);
    expect(await snapshot()).toEqual(before);

    const r = await cli('user', 'restore', String(ids.doomed), '--now', NOW_ISO, '--operator', 'bob');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('stays recovered (--with-reward takes the recovery back)');
    expect((await dump(t.knex, 'user')).find((u) => u.id === ids.doomed)).toEqual(doomedRow);
    const deps = await dependentsOf(t.knex, ids.doomed, doomedEmail);
    for (const table of ALL_DEPENDENT_TABLES) expect(deps[table]!.map(normaliseRow)).toEqual(doomedDeps[table]!.map(normaliseRow));
    const ledger = await t.knex('spanel_money_ledger').where('user_id', ids.doomed);
    expect(ledger.map((l: any) => [money(l.amount_before), money(l.amount_after), l.reason, l.operator])).toEqual([['0.00', '0.50', 'restore', 'bob']]);
    // The reward recovered at deletion stays recovered.
    expect(money((await t.knex('user').where('id', ids.referrer).first()).money)).toBe('5.00');
    expect((await cli('ledger', 'verify')).code).toBe(0);
    const history = (await cli('history', '--command', 'user restore', '--json')).json().runs;
    expect(history.map((h: any) => [h.outcome, h.operator])).toEqual([['success', 'bob']]);

    const again = await cli('user', 'restore', String(ids.doomed), '--now', NOW_ISO);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`user #${ids.doomed} was already restored`);
  });

  it('user restore --with-reward gives the recovered reward back through the ledger', async () => {
    const victim = await insertUser(t.knex, { ...DOOMED, email: 'victim@example.com', ref_by: ids.referrer });
    const [rid] = await t.knex('payback').insert({ total: '-1.00', userid: victim, ref_by: ids.referrer, ref_get: '1.25', datetime: 1, callback: 0 });
    expect((await cli('job', 'check', '--now', NOW_ISO)).code).toBe(0);
    expect(money((await t.knex('user').where('id', ids.referrer).first()).money)).toBe('3.75');
    expect(await t.knex('payback').where({ total: -2, userid: victim })).toHaveLength(1);

    const r = await cli('user', 'restore', String(victim), '--with-reward', '--now', NOW_ISO, '--operator', 'bob', '--json');
    expect(r.code).toBe(0);
    expect(r.json().steps[2].data).toEqual({ recoveredAtDeletion: 1, takenBack: 1 });
    const referrer = await t.knex('user').where('id', ids.referrer).first();
    expect([money(referrer.money), Number(referrer.ban_times)]).toEqual(['5.00', 1]);
    expect(await t.knex('payback').where({ total: -2, userid: victim })).toHaveLength(0);
    expect(Number((await t.knex('payback').where('id', rid).first()).callback)).toBe(0);
    const last = await t.knex('spanel_money_ledger').where('user_id', ids.referrer).orderBy('id', 'desc').first();
    expect([money(last.amount_before), money(last.amount_after), last.reason, last.reference]).toEqual(['3.75', '5.00', 'restore_reward', `payback:${rid}`]);
    expect((await cli('ledger', 'verify')).code).toBe(0);
  });

  it('user restore refuses (exit 2, nothing changed) when the email is in use again, or the user was never archived', async () => {
    const lost = await insertUser(t.knex, { ...DOOMED, email: 'lost@example.com' });
    expect((await cli('job', 'check', '--now', NOW_ISO)).code).toBe(0);
    await insertUser(t.knex, { ...ACTIVE, email: 'lost@example.com' });
    const before = await dump(t.knex, 'user');
    const r = await cli('user', 'restore', String(lost), '--now', NOW_ISO);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`the email lost@example.com of archived user #${lost} is in use again`);
    expect(await dump(t.knex, 'user')).toEqual(before);
    const never = await cli('user', 'restore', '987654', '--now', NOW_ISO);
    expect([never.code, never.stderr]).toEqual([2, expect.stringContaining('user #987654 is not in the archive')]);
  });

  it('user restore refuses when the id is in use again', async () => {
    const taken = await insertUser(t.knex, { ...DOOMED, email: 'taken@example.com' });
    expect((await cli('job', 'check', '--now', NOW_ISO)).code).toBe(0);
    await insertUser(t.knex, { ...ACTIVE, id: taken, email: 'other@example.com' });
    const r = await cli('user', 'restore', String(taken), '--now', NOW_ISO);
    expect([r.code, r.stderr]).toEqual([2, expect.stringContaining(`user id #${taken} is in use again`)]);
  });
});

/** Archived JSON and live rows compare alike: numbers as numbers, money as cents. */
function normaliseRow(row: unknown): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(row as Record<string, unknown>).map(([k, v]) => {
      if (typeof v === 'string' && /^-?\d+\.\d+$/.test(v)) return [k, Number(v)];
      if (typeof v === 'string' && /^-?\d+$/.test(v) && v.length < 16) return [k, Number(v)];
      return [k, v];
    }),
  );
}
