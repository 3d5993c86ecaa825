import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { startCommitProxy, type CommitFault, type CommitProxy } from '../helpers/commit-proxy.js';
import { useTestDatabase } from '../helpers/db.js';
import { GiB, insertOrder, insertUser, money } from '../helpers/fixtures.js';
import { useTestRedis } from '../helpers/redis.js';

/**
 * SPEC §5 "done means committed": a COMMIT lost on the way to the server, or whose answer is
 * lost on the way back, through a proxy in front of the real MariaDB.
 */
const NOW = '2026-11-25T10:00:00Z';
const UNIX = Date.parse(NOW) / 1000;

describe('a lost COMMIT or a lost answer to it', () => {
  const t = useTestDatabase('mysql');
  const redis = useTestRedis();
  let proxy: CommitProxy;
  let url: string;

  beforeAll(async () => {
    proxy = await startCommitProxy({ host: '127.0.0.1', port: 3306 }, 33101);
    url = proxy.url(new URL(t.url).pathname.slice(1));
  });
  afterAll(async () => proxy?.close());

  const env = () => ({ DATABASE_URL: url, REDIS_URL: redis.url, REDIS_KEY_PREFIX: redis.prefix });
  const cli = (args: string[], fault?: CommitFault): Promise<CliResult> => {
    if (fault) proxy.arm(fault);
    return runCli([...args, '--now', NOW], env());
  };
  const lastRun = async (command: string) => t.knex('spanel_run').where('command', command).orderBy('id', 'desc').first();
  const balance = async (id: number) => money((await t.knex('user').where('id', id).first()).money);

  describe('payment confirm', () => {
    it('COMMIT never reaches the server: exit 1 "not committed", history failed, unpaid; the retry pays once', async () => {
      const payer = await insertUser(t.knex, { money: '1.00' });
      const order = await insertOrder(t.knex, { userid: payer, total: '10.00' });
      const fired = proxy.fired();
      const r = await cli(['payment', 'confirm', String(order), '--operator', 'alice'], 'close-on-commit');
      expect(proxy.fired()).toBe(fired + 1);
      expect(r.code).toBe(1);
      expect(r.stdout).not.toContain('done in');
      expect(r.stderr).toMatch(/lost during COMMIT; checked run #\d+: not committed, nothing was changed/);
      expect(Number((await t.knex('paylist').where('id', order).first()).status)).toBe(0);
      expect(await balance(payer)).toBe('1.00');
      const run = await lastRun('payment confirm');
      expect(run.outcome).toBe('failed');
      expect(await t.knex('spanel_money_ledger').where('run_id', run.id)).toHaveLength(0);

      const retry = await cli(['payment', 'confirm', String(order), '--operator', 'alice']);
      expect(retry.code).toBe(0);
      expect(await balance(payer)).toBe('11.00');
      expect((await lastRun('payment confirm')).outcome).toBe('success');
    });

    it("the server commits but its answer is lost: resolved as committed, exit 0; a retry says already paid and pays nothing", async () => {
      const payer = await insertUser(t.knex, { money: '1.00' });
      const order = await insertOrder(t.knex, { userid: payer, total: '10.00' });
      const r = await cli(['payment', 'confirm', String(order), '--operator', 'alice'], 'drop-commit-reply');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('done in');
      expect(Number((await t.knex('paylist').where('id', order).first()).status)).toBe(1);
      expect(await balance(payer)).toBe('11.00');
      const run = await lastRun('payment confirm');
      expect(run.outcome).toBe('success');
      expect(await t.knex('spanel_money_ledger').where('run_id', run.id)).toHaveLength(1);

      const retry = await cli(['payment', 'confirm', String(order), '--operator', 'alice']);
      expect(retry.code).toBe(0);
      expect(retry.stdout).toContain('already paid');
      expect(await balance(payer)).toBe('11.00');
    });

    it('nobody can be asked afterwards: exit 1 "outcome unknown" naming the run, never success', async () => {
      const payer = await insertUser(t.knex, { money: '1.00' });
      const order = await insertOrder(t.knex, { userid: payer, total: '10.00' });
      const r = await cli(['payment', 'confirm', String(order), '--json'], 'close-on-commit-then-refuse');
      proxy.accept();
      expect(r.code).toBe(1);
      const out = r.json();
      expect(out.outcome).toBe('unknown');
      expect(out.error).toContain(`outcome unknown`);
      expect(out.error).toContain(`spanel status`);
      expect(out.error).toContain(`spanel_run row id ${out.runId}`);
      // The record could not be finished: it still says running (shown as crashed by status).
      expect((await t.knex('spanel_run').where('id', out.runId).first()).outcome).toBe('running');
      expect(await balance(payer)).toBe('1.00');
      const retry = await cli(['payment', 'confirm', String(order)]);
      expect(retry.code).toBe(0);
      expect(await balance(payer)).toBe('11.00');
    });
  });

  describe('referral recover', () => {
    async function reward() {
      const referrer = await insertUser(t.knex, { money: '5.00' });
      const user = await insertUser(t.knex, { ref_by: referrer });
      await t.knex('payback').insert({ total: -1, userid: user, ref_by: referrer, ref_get: '2.00', datetime: 1, callback: 0 });
      return { referrer, user };
    }

    it('lost COMMIT: not committed, nothing recovered; the retry recovers once', async () => {
      const { referrer, user } = await reward();
      const r = await cli(['referral', 'recover', String(user)], 'close-on-commit');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('not committed, nothing was changed');
      expect(await balance(referrer)).toBe('5.00');
      expect(await t.knex('payback').where({ userid: user, total: -2 })).toHaveLength(0);
      expect((await lastRun('referral recover')).outcome).toBe('failed');
      expect((await cli(['referral', 'recover', String(user)])).code).toBe(0);
      expect(await balance(referrer)).toBe('3.00');
    });

    it('lost answer: committed, exit 0; the retry recovers nothing more', async () => {
      const { referrer, user } = await reward();
      const r = await cli(['referral', 'recover', String(user)], 'drop-commit-reply');
      expect(r.code).toBe(0);
      expect((await lastRun('referral recover')).outcome).toBe('success');
      expect(await balance(referrer)).toBe('3.00');
      const retry = await cli(['referral', 'recover', String(user)]);
      expect(retry.code).toBe(0);
      expect(await balance(referrer)).toBe('3.00');
      expect(await t.knex('payback').where({ userid: user, total: -2 })).toHaveLength(1);
    });
  });

  describe('job daily (Redis snapshots after commit)', () => {
    const snapshotKey = (id: number) => `${redis.prefix}user:${id}:traffic_lastday`;
    const capped = () => insertUser(t.knex, { class: 1, renew_time: UNIX - 10, node_group: 2, t: UNIX - 60, u: 1 * GiB, d: 2 * GiB });

    it('lost COMMIT: exit 1, nothing renewed, no snapshot written, history not success', async () => {
      const id = await capped();
      const r = await cli(['job', 'daily'], 'close-on-commit');
      expect(r.code).toBe(1);
      expect(r.stdout).not.toContain('done in');
      expect(r.stderr).toContain('not committed, nothing was changed');
      expect(Number((await t.knex('user').where('id', id).first()).renew_time)).toBe(UNIX - 10);
      expect(await redis.client.get(snapshotKey(id))).toBeNull();
      expect((await lastRun('job daily')).outcome).toBe('failed');
    });

    it('lost answer: resolved as committed, exit 0, renewed and the snapshot written', async () => {
      const id = await capped();
      const r = await cli(['job', 'daily'], 'drop-commit-reply');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('done in');
      expect(Number((await t.knex('user').where('id', id).first()).renew_time)).toBe(UNIX + 10 * 86_400);
      expect(await redis.client.get(snapshotKey(id))).toBe(String(3 * GiB));
      expect((await lastRun('job daily')).outcome).toBe('success');
    });
  });

  describe('job check', () => {
    const neverUsed = () => insertUser(t.knex, { reg_date: '2026-01-01 00:00:00', last_check_in_time: UNIX, t: 0, u: 0, d: 0 });

    it('lost COMMIT: exit 1, the account is still there, nothing archived', async () => {
      const id = await neverUsed();
      const r = await cli(['job', 'check'], 'close-on-commit');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('not committed, nothing was changed');
      expect(await t.knex('user').where('id', id)).toHaveLength(1);
      expect(await t.knex('spanel_archived_user').where('user_id', id)).toHaveLength(0);
      expect((await lastRun('job check')).outcome).toBe('failed');
    });

    it('lost answer: committed, exit 0, the account deleted and archived once', async () => {
      const id = await neverUsed();
      const r = await cli(['job', 'check'], 'drop-commit-reply');
      expect(r.code).toBe(0);
      expect(await t.knex('user').where('id', id)).toHaveLength(0);
      expect(await t.knex('spanel_archived_user').where('user_id', id)).toHaveLength(1);
      expect((await lastRun('job check')).outcome).toBe('success');
    });
  });
});
