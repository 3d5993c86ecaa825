import type { Knex } from 'knex';
import { beforeEach, describe, expect, it } from 'vitest';
import { expiredAccounts } from '../../src/jobs/check/expired-accounts.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';
import { runCli } from '../helpers/cli.js';
import { dump, insertUser, money, normalise } from '../helpers/fixtures.js';
import { ACTIVE, DAY, DEPENDENTS, NOW_ISO, UNIX, countRows, norm, panelLocal, stepRunner } from './check.helpers.js';


/** Never used for 14+ days: rule d (and c) delete it at NOW. */
const DOOMED = { t: 0, u: 0, d: 0, last_check_in_time: 0, reg_date: panelLocal(-20 * DAY) };

async function addDependents(knex: Knex, userId: number, email: string): Promise<void> {
  for (const [table, column] of DEPENDENTS) await knex(table).insert({ [column]: userId });
  await knex('ss_password_reset').insert({ email, token: `t-${userId}` });
}

describe.each(DIALECTS)('check step 3, deleting accounts, on %s', (dialect) => {
  const t = useTestDatabase(dialect);
  const run = stepRunner(t);
  const cli = (args: string[], env: Record<string, string> = {}) =>
    runCli(['job', 'check', '--now', NOW_ISO, '--json', ...args], { DATABASE_URL: t.url, SPANEL_TIMEZONE: 'Asia/Shanghai', ...env });

  beforeEach(async () => {
    for (const table of ['user', 'payback', 'spanel_archived_user', 'spanel_money_ledger', 'ss_password_reset', 'alive_ip', ...DEPENDENTS.map(([x]) => x)]) {
      if (await t.knex.schema.hasTable(table)) await t.knex(table).del();
    }
  });

  /** Two referrers (score 31 and 32) with a doomed referral each, a doomed loner, a keeper. */
  async function fixture() {
    const low = await insertUser(t.knex, { ...ACTIVE, score: 31, money: '10.00', ban_times: 0 });
    const high = await insertUser(t.knex, { ...ACTIVE, score: 32, money: '10.00', ban_times: 0 });
    const lowRef = await insertUser(t.knex, { ...DOOMED, ref_by: low });
    const highRef = await insertUser(t.knex, { ...DOOMED, ref_by: high });
    const loner = await insertUser(t.knex, { ...DOOMED, email: `loner${Date.now()}@example.com`, money: '0.50' });
    const keeper = await insertUser(t.knex, { ...ACTIVE, email: `keeper${Date.now()}@example.com` });
    const [lowReward] = await t.knex('payback').insert({ total: '-1.00', userid: lowRef, ref_by: low, ref_get: '2.00', datetime: 1, callback: 0 });
    const [highReward] = await t.knex('payback').insert({ total: '-1.00', userid: highRef, ref_by: high, ref_get: '3.00', datetime: 1, callback: 0 });
    const emailOf = async (id: number) => (await t.knex('user').where('id', id).first()).email as string;
    await addDependents(t.knex, loner, await emailOf(loner));
    await addDependents(t.knex, keeper, await emailOf(keeper));
    return { low, high, lowRef, highRef, loner, keeper, lowReward: Number(lowReward), highReward: Number(highReward) };
  }

  it('recovers the reward from a referrer under score 32, archives whole rows, deletes dependents then users', async () => {
    const f = await fixture();
    const usersBefore = await dump(t.knex, 'user');
    const result = await run([expiredAccounts]);
    expect(result.error).toBeNull();
    const step = result.steps[0]!;

    expect((await t.knex('user').select('id').orderBy('id')).map((r) => Number(r.id))).toEqual([f.low, f.high, f.keeper]);
    expect(step.count).toBe(3);
    expect(step.counts).toEqual({
      link: 1, login_ip: 1, ss_invite_code: 1, user_token: 1, ss_password_reset: 1, bought: 1, code: 1, disconnect_ip: 1, radius_ban: 1,
      user: 3, spanel_archived_user: 3, 'rewards recovered': 1,
    });
    expect(step.skipped).toBeUndefined();

    // Dependents: the loner's went, the keeper's stayed.
    for (const [table, column] of DEPENDENTS) {
      expect((await t.knex(table).select(column)).map((r) => Number(r[column]))).toEqual([f.keeper]);
    }
    const keeperEmail = usersBefore.find((u) => u.id === f.keeper)!.email;
    expect((await t.knex('ss_password_reset').select('email')).map((r) => r.email)).toEqual([keeperEmail]);

    // Archive: one row per deleted user, the whole row as JSON, the rules, the run.
    const archive = await t.knex('spanel_archived_user').orderBy('user_id');
    expect(archive.map((a) => Number(a.user_id))).toEqual([f.lowRef, f.highRef, f.loner]);
    for (const a of archive) {
      const original = usersBefore.find((u) => u.id === Number(a.user_id))!;
      expect(normalise(JSON.parse(a.row_json))).toEqual(original);
      expect(a).toMatchObject({ email: original.email, reason: 'rule c,d' });
      expect(Number(a.run_id)).toBe(result.runId);
      expect(Number(a.deleted_at)).toBe(UNIX);
    }

    // Recovery from the score-31 referrer only.
    const low = await t.knex('user').where('id', f.low).first();
    expect([money(low.money), Number(low.ban_times)]).toEqual(['8.00', 1]);
    const high = await t.knex('user').where('id', f.high).first();
    expect([money(high.money), Number(high.ban_times)]).toEqual(['10.00', 0]);
    const payback = (await dump(t.knex, 'payback')).map((p) => ({ ...p, total: money(p.total), ref_get: money(p.ref_get) }));
    expect(payback).toEqual([
      expect.objectContaining({ id: f.lowReward, total: '-1.00', userid: f.lowRef, ref_by: f.low, ref_get: '2.00', callback: 1 }),
      expect.objectContaining({ id: f.highReward, total: '-1.00', userid: f.highRef, ref_by: f.high, ref_get: '3.00', callback: 0 }),
      expect.objectContaining({ total: '-2.00', userid: f.lowRef, ref_by: f.low, ref_get: '-2.00', datetime: UNIX, callback: 0 }),
    ]);
    const ledger = await dump(t.knex, 'spanel_money_ledger');
    expect(ledger).toEqual([
      expect.objectContaining({ user_id: f.low, reason: 'check: account deleted', run_id: result.runId, operator: 'tester', created_at: UNIX }),
    ]);
    expect([money(ledger[0]!.amount_before), money(ledger[0]!.amount_after), money(ledger[0]!.delta)]).toEqual(['10.00', '8.00', '-2.00']);

    // The report samples every deleted user with its rules, and the recovery's changes.
    const deletedUsers = norm(step.changes).filter((c) => c.table === 'user' && c.action === 'delete');
    expect(deletedUsers.map((c) => [c.id, c.before!.reason])).toEqual([[f.lowRef, 'rule c,d'], [f.highRef, 'rule c,d'], [f.loner, 'rule c,d']]);
    expect(norm(step.changes)).toContainEqual({ table: 'user', id: f.low, action: 'update', before: { money: '10.00', ban_times: 0 }, after: { money: '8.00', ban_times: 1 } });
  });

  it('dry run lists exactly what the real run then deletes and leaves every table as it was', async () => {
    await fixture();
    const tables = ['user', 'payback', 'spanel_archived_user', 'spanel_money_ledger', 'ss_password_reset', ...DEPENDENTS.map(([x]) => x)];
    const before = await Promise.all(tables.map((x) => dump(t.knex, x)));
    const dry = await run([expiredAccounts], { dryRun: true });
    expect(dry.error).toBeNull();
    expect(await Promise.all(tables.map((x) => dump(t.knex, x)))).toEqual(before);
    const real = await run([expiredAccounts]);
    // A rolled-back insert still consumes a MySQL auto-increment id: compare inserted rows without it.
    const strip = (cs: ReturnType<typeof norm>) => cs.map((c) => (c.action === 'insert' ? { ...c, id: 0 } : c));
    expect(strip(norm(dry.steps[0]!.changes))).toEqual(strip(norm(real.steps[0]!.changes)));
    expect(dry.steps[0]!.counts).toEqual(real.steps[0]!.counts);
    expect(dry.steps[0]!.count).toBe(3);
  });

  it('refuses above MAX_DELETE_PER_RUN: exit 1 and every step rolled back; --force deletes', async () => {
    await fixture();
    await t.knex('alive_ip').insert({ datetime: UNIX - 1000 });
    const tables = ['user', 'payback', 'spanel_archived_user', 'spanel_money_ledger', 'alive_ip', 'link'];
    const before = await Promise.all(tables.map((x) => dump(t.knex, x)));

    const refused = await cli([], { MAX_DELETE_PER_RUN: '2' });
    expect(refused.code).toBe(1);
    expect(refused.json().error).toBe(
      '3 accounts qualify for deletion, more than MAX_DELETE_PER_RUN=2: nothing was changed; list them with --dry-run --force, then rerun with --force or raise MAX_DELETE_PER_RUN',
    );
    expect(await Promise.all(tables.map((x) => dump(t.knex, x)))).toEqual(before);

    // A dry run predicts exactly that; with --force it lists what --force would delete.
    const dry = await cli(['--dry-run'], { MAX_DELETE_PER_RUN: '2' });
    expect([dry.code, dry.json().outcome, dry.json().error]).toEqual([1, 'failed', refused.json().error]);
    const dryForced = await cli(['--dry-run', '--force'], { MAX_DELETE_PER_RUN: '2' });
    expect(dryForced.code).toBe(0);
    const dryStep = dryForced.json().steps.find((s: { name: string }) => s.name === 'expired-accounts');
    expect(dryStep.count).toBe(3);
    expect(dryStep.data).toEqual({ qualifying: 3, cap: 2 });
    expect(await Promise.all(tables.map((x) => dump(t.knex, x)))).toEqual(before);

    const atCap = await cli([], { MAX_DELETE_PER_RUN: '3' });
    expect(atCap.code).toBe(0);
    expect(await countRows(t.knex, 'user')).toBe(3);
  });

  it('more candidates than one archive batch: the refusal still counts them all, and nothing is archived or deleted', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 520; i++) ids.push(await insertUser(t.knex, { ...DOOMED, email: `many${i}-${Date.now()}@example.com` }));
    const refused = await cli([], { MAX_DELETE_PER_RUN: '10' });
    expect(refused.code).toBe(1);
    expect(refused.json().error).toMatch(/^520 accounts qualify for deletion, more than MAX_DELETE_PER_RUN=10: nothing was changed/);
    expect(await countRows(t.knex, 'user')).toBe(520);
    expect(await countRows(t.knex, 'spanel_archived_user')).toBe(0);
  });

  it('--force deletes above the cap', async () => {
    await fixture();
    const forced = await cli(['--force'], { MAX_DELETE_PER_RUN: '1' });
    expect(forced.code).toBe(0);
    expect(forced.json().steps.find((s: { name: string }) => s.name === 'expired-accounts').count).toBe(3);
    expect(await countRows(t.knex, 'user')).toBe(3);
  });

  it('skips and reports a dependent table this install lacks', async () => {
    const f = await fixture();
    await t.knex.schema.dropTable('radius_ban');
    const result = await run([expiredAccounts]);
    expect(result.error).toBeNull();
    expect(result.steps[0]!.skipped).toEqual(['radius_ban']);
    expect(result.steps[0]!.counts).not.toHaveProperty('radius_ban');
    expect(await countRows(t.knex, 'link', { userid: f.loner })).toBe(0);
    expect(await countRows(t.knex, 'user')).toBe(3);
  });
});
