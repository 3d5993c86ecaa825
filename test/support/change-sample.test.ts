import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';
import { insertUser } from '../helpers/fixtures.js';
import { ACTIVE, DAY, NOW_ISO, panelLocal } from '../jobs/check.helpers.js';

const DOOMED = { t: 0, u: 0, d: 0, last_check_in_time: 0, reg_date: panelLocal(-40 * DAY) };
const count = async (knex: any, table: string) => Number((await knex(table).count({ n: '*' }).first()).n);

describe.each(DIALECTS)('the change sample kept with a run, on %s', (dialect) => {
  const t = useTestDatabase(dialect);
  const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { DATABASE_URL: t.url, SPANEL_TIMEZONE: 'Asia/Shanghai', ...env });

  it('a run that fails keeps no sample and no archived rows (they roll back with it)', async () => {
    const doomed = await insertUser(t.knex, { ...DOOMED, email: 'd1@example.com' });
    await t.knex('link').insert({ type: 1, token: 'x', userid: doomed });
    const r = await cli(['job', 'check', '--now', NOW_ISO, '--json'], { MAX_DELETE_PER_RUN: '0' });
    expect(r.code).toBe(1);
    expect(r.json().outcome).toBe('failed');
    expect([await count(t.knex, 'spanel_run_change'), await count(t.knex, 'spanel_archived_row'), await count(t.knex, 'spanel_archived_user')]).toEqual([0, 0, 0]);
    const shown = (await cli(['history', 'show', String(r.json().runId), '--json'])).json();
    expect([shown.outcome, shown.rowsChanged, shown.error]).toEqual(['failed', null, expect.stringContaining('MAX_DELETE_PER_RUN=0')]);
  });

  it('SPANEL_SAMPLE_SIZE bounds the rows kept per step and table; the count stays whole', async () => {
    for (let i = 0; i < 3; i++) await insertUser(t.knex, { ...ACTIVE, email: `neg${i}@example.com`, money: '-1.00' });
    const r = await cli(['job', 'check', '--now', NOW_ISO, '--json'], { SPANEL_SAMPLE_SIZE: '2' });
    expect(r.code).toBe(0);
    const show = (await cli(['history', 'show', String(r.json().runId), '--json'])).json();
    const neg = show.steps.find((s: any) => s.name === 'negative-balance');
    expect([neg.count, neg.changes.length]).toEqual([3, 2]);
    const del = show.steps.find((s: any) => s.name === 'expired-accounts');
    expect(del.changes.map((c: any) => c.action)).toEqual(['delete']);
  });

  it('a database whose support migration is pending still runs its jobs (no sample kept)', async () => {
    await t.knex.schema.dropTable('spanel_run_change');
    await insertUser(t.knex, { ...ACTIVE, email: 'neg-late@example.com', money: '-1.00' });
    const r = await cli(['job', 'check', '--now', NOW_ISO, '--json']);
    expect([r.code, r.json().outcome]).toEqual([0, 'success']);
    const show = (await cli(['history', 'show', String(r.json().runId), '--json'])).json();
    expect(show.steps.find((s: any) => s.name === 'negative-balance')).toMatchObject({ count: 1, changes: [] });
  });

  it('ledger verify judges a deleted user by its archived balance', async () => {
    const payer = await insertUser(t.knex, { ...ACTIVE, email: 'payer-gone@example.com', money: '0.00' });
    const [order] = await t.knex('paylist').insert({ userid: payer, total: '0.75', status: 0, tradeno: null, datetime: 1 });
    expect((await cli(['payment', 'confirm', String(order), '--now', NOW_ISO])).code).toBe(0);
    // Idle since long ago, balance 0.75 ≤ AUTO_CLEAN_MIN_MONEY: rules b and c delete it.
    await t.knex('user').where('id', payer).update({ t: 1, last_check_in_time: 1, reg_date: panelLocal(-100 * DAY) });
    expect((await cli(['job', 'check', '--now', NOW_ISO])).code).toBe(0);
    expect(await t.knex('user').where('id', payer).first()).toBeUndefined();
    const ok = (await cli(['ledger', 'verify', '--user', String(payer), '--json'])).json();
    expect(ok).toMatchObject({ ok: true, users: 1, problems: [] });
    const explained = (await cli(['ledger', 'payer-gone@example.com', '--json'])).json();
    expect([explained.state, explained.balance, explained.consistent]).toEqual(['deleted', '0.75', true]);
  });

  it('history shows a "running" row whose process is gone as crashed', async () => {
    const [id] = await t.knex('spanel_run').insert({ command: 'job daily', outcome: 'running', started_at: Date.now(), now_at: Date.now(), host: hostname(), pid: 999_999_999, operator: 'x' });
    const runs = (await cli(['history', '--json'])).json().runs;
    expect(runs.find((r: any) => r.id === Number(id))).toMatchObject({ outcome: 'crashed', rowsChanged: null });
  });
});
