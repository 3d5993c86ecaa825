import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LockHeldError, OperationError } from '../../src/errors.js';
import { acquireLock, activeLeases } from '../../src/runner/lock.js';
import { retryingConflicts } from '../../src/runner/retry.js';
import { runCli } from '../helpers/cli.js';
import { useTestDatabase } from '../helpers/db.js';

const serverMs = async (knex: import('knex').Knex) => Number(((await knex.raw('SELECT ROUND(UNIX_TIMESTAMP(NOW(6)) * 1000) AS ms')) as [{ ms: string }[]])[0][0]!.ms);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The lease row of src/runner/lock.ts on one MariaDB server. */
describe('overlap lock lease (MariaDB)', () => {
  const t = useTestDatabase('mysql');

  it('is held until released: a second taker gets LockHeldError (exit 75); status names the holder', async () => {
    const first = await acquireLock(t.db, 'job:a', { leaseSeconds: 60 });
    await expect(acquireLock(t.db, 'job:a', { leaseSeconds: 60 })).rejects.toThrow(new LockHeldError('job:a'));
    const other = await acquireLock(t.db, 'job:b', { leaseSeconds: 60 });
    const leases = await activeLeases(t.db);
    expect(leases.map((l) => [l.name, l.pid])).toEqual([
      ['job:a', process.pid],
      ['job:b', process.pid],
    ]);
    const now = await serverMs(t.knex);
    expect(leases[0]!.expiresAtMs - now).toBeGreaterThan(55_000);
    expect(leases[0]!.expiresAtMs - now).toBeLessThanOrEqual(60_000);

    const status = await runCli(['status', '--now', '2026-11-25T02:00:00+08:00'], { DATABASE_URL: t.url });
    expect(status.stdout).toMatch(new RegExp(`Locks held now:\\n  job:a held by \\S+ pid ${process.pid} since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d, lease expires \\d{4}-`));
    const json = await runCli(['status', '--json'], { DATABASE_URL: t.url });
    expect(json.json().locks.map((l: { name: string; pid: number }) => [l.name, l.pid])).toEqual([
      ['job:a', process.pid],
      ['job:b', process.pid],
    ]);

    await first.release();
    await other.release();
    expect(await activeLeases(t.db)).toEqual([]);
    const again = await acquireLock(t.db, 'job:a', { leaseSeconds: 60 });
    await again.release();
  });

  it('is renewed while the run works, so it outlives its length', async () => {
    const lock = await acquireLock(t.db, 'job:renewed', { leaseSeconds: 1 });
    try {
      await sleep(2500);
      await expect(acquireLock(t.db, 'job:renewed', { leaseSeconds: 1 })).rejects.toThrow(LockHeldError);
      const trx = await t.knex.transaction();
      await lock.verify(trx);
      await trx.commit();
    } finally {
      await lock.release();
    }
  });

  it('of a dead holder (no renewal) expires, and the next taker takes it over', async () => {
    const now = await serverMs(t.knex);
    await t.knex('spanel_lock').insert({ name: 'job:dead', token: 'dead', host: 'gone', pid: 4242, acquired_at: now - 61_000, expires_at: now - 1_000 });
    const lock = await acquireLock(t.db, 'job:dead', { leaseSeconds: 60 });
    const row = await t.knex('spanel_lock').where('name', 'job:dead').first();
    expect([row.host === 'gone', Number(row.pid), row.token === 'dead']).toEqual([false, process.pid, false]);
    // The dead holder, were it to come back, finds its lease gone inside its transaction.
    await lock.release();
  });

  it('a holder whose lease was taken over fails its check inside the transaction', async () => {
    const lock = await acquireLock(t.db, 'job:taken', { leaseSeconds: 60 });
    await t.knex('spanel_lock').where('name', 'job:taken').update({ token: 'another' });
    const trx = await t.knex.transaction();
    await expect(lock.verify(trx)).rejects.toThrow(OperationError);
    await trx.rollback();
    await lock.release();
    expect(await t.knex('spanel_lock').where('name', 'job:taken').first()).toMatchObject({ token: 'another' });
  });
});

describe('conflict retries with a time budget', () => {
  const conflict = () => Object.assign(new Error('Deadlock found when trying to get lock; try restarting transaction'), { code: 'ER_LOCK_DEADLOCK', errno: 1213 });
  const capture = () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    return { log, lines };
  };

  it('backs off exponentially until the budget would run out, logging each retry', async () => {
    const { log, lines } = capture();
    let attempts = 0;
    const failing = retryingConflicts(log, 1, async () => {
      attempts++;
      throw conflict();
    }, () => 1);
    // Waits of 100, 200, 400 ms fit in 1 s; the next (800 ms) would not.
    await expect(failing).rejects.toThrow(/conflicted with concurrent changes \(deadlock or cluster certification\) 4 times in 0\.\d s and was rolled back each time: nothing was changed; run the command again \(SPANEL_RETRY_BUDGET allows 1 s\)/);
    expect(attempts).toBe(4);
    expect(lines.map((l) => [l.attempt, l.waitMs])).toEqual([
      [1, 100],
      [2, 200],
      [3, 400],
    ]);
  });

  it('returns once an attempt succeeds; other errors are not retried', async () => {
    const { log } = capture();
    let attempts = 0;
    await retryingConflicts(log, 30, async () => {
      if (++attempts < 3) throw conflict();
    }, () => 0);
    expect(attempts).toBe(3);
    let other = 0;
    await expect(retryingConflicts(log, 30, async () => {
      other++;
      throw new Error('boom');
    })).rejects.toThrow('boom');
    expect(other).toBe(1);
  });
});

describe('after an upgrade without migrate', () => {
  const t = useTestDatabase('mysql');
  it('a missing lease table says to run migrate', async () => {
    await t.knex.schema.dropTable('spanel_lock');
    await expect(acquireLock(t.db, 'job:a', { leaseSeconds: 60 })).rejects.toThrow(
      new OperationError('the lock table spanel_lock is missing (spanel was upgraded): run `spanel migrate` first'),
    );
  });
});
