import type { Knex } from 'knex';
import { recordMoneyChanges, type MoneyChange } from '../ledger/ledger.js';
import { formatMoney, money, type Money } from '../ledger/money.js';
import type { RowChange, SkippedRow, StepContext } from '../runner/types.js';
import { MIN_BALANCE } from '../payments/balance-limit.js';

/** Referred users per IN list: keeps statements and the rows held in memory bounded. */
export const RECOVER_BATCH = 1000;

/** payback.total of a registration reward, and of the row recording its recovery. */
export const REWARD = -1;
export const RECOVERED = -2;
/** payback.callback of a reward row: 1 recovered, 3 referrer no longer exists (SPEC §2). */
export const CALLBACK_RECOVERED = 1;
export const CALLBACK_REFERRER_GONE = 3;

export interface RecoverResult {
  /** Reward rows acted on: recovered + vanished. */
  count: number;
  /** Rewards taken back from an existing referrer. */
  recovered: number;
  /** Rewards whose referrer no longer exists: marked callback 3, no money moved. */
  vanished: number;
  /** payback and user rows before → after, at most ctx.sampleSize per table. */
  changes: RowChange[];
  /** One line per acted-on reward, at most ctx.sampleSize, then a "… more" line. */
  notes: string[];
  /** Rewards left open because taking them back would overflow the referrer's balance. */
  skippedRows: SkippedRow[];
  /** Referred users with a reward in `skippedRows`: their referral link must stay. */
  unrecoveredUsers: Set<number>;
}

interface Reward {
  id: number;
  userid: number;
  refBy: number;
  refGet: Money;
  /** NULL on PHP-written rows: SPanel adds the column nullable and never sets it. */
  callback: number | null;
}

interface Referrer {
  id: number;
  money: Money;
  banTimes: number;
}

/**
 * SPEC §4 "referral recover", set-based over many referred users (the check job passes every
 * user it deletes). Works from payback rows only, so the referred user row may already be gone.
 *
 * Concurrency: candidate rows are found with a plain read, then locked by primary key and
 * re-checked on their current version. Two concurrent recoveries of one reward therefore
 * serialise on that row, and the second sees callback = 1 and leaves it alone. Locking by
 * primary key (not by a range of userid) takes no gap locks, so recoveries of neighbouring
 * users cannot deadlock on each other's inserts.
 */
export async function recoverRegistrationRewards(
  ctx: StepContext,
  userIds: readonly number[],
  opts: { reason: string },
): Promise<RecoverResult> {
  const acc: RecoverResult = { count: 0, recovered: 0, vanished: 0, changes: [], notes: [], skippedRows: [], unrecoveredUsers: new Set() };
  const ids = [...new Set(userIds.filter((id) => Number.isSafeInteger(id) && id > 0))].sort((a, b) => a - b);
  let notesLeft = ctx.sampleSize;
  for (let i = 0; i < ids.length; i += RECOVER_BATCH) {
    const batch = await recoverBatch(ctx, ids.slice(i, i + RECOVER_BATCH), opts.reason, acc);
    const shown = batch.slice(0, Math.max(0, notesLeft));
    acc.notes.push(...shown);
    notesLeft -= batch.length;
  }
  if (notesLeft < 0) acc.notes.push(`… and ${-notesLeft} more`);
  return acc;
}

async function recoverBatch(ctx: StepContext, userIds: number[], reason: string, acc: RecoverResult): Promise<string[]> {
  const open = await lockOpenRewards(ctx, userIds);
  if (open.length === 0) return [];
  const referrers = await lockReferrers(ctx, open);
  const { ledger, overflow } = ledgerEntries(open.filter((r) => referrers.has(r.refBy)), referrers, reason);
  for (const r of overflow) {
    acc.skippedRows.push({ table: 'payback', id: r.id, reason: `taking reward ${formatMoney(r.refGet)} of user #${r.userid} back from referrer #${r.refBy} would put its balance below ${formatMoney(MIN_BALANCE)}, the money column's minimum` });
    acc.unrecoveredUsers.add(r.userid);
  }
  const rewards = open.filter((r) => !overflow.includes(r));
  const live = rewards.filter((r) => referrers.has(r.refBy));
  const gone = rewards.filter((r) => !referrers.has(r.refBy));

  await takeBackMoney(ctx, live, referrers);
  await insertRecoveryRows(ctx, live);
  await setCallback(ctx, live, CALLBACK_RECOVERED);
  await setCallback(ctx, gone, CALLBACK_REFERRER_GONE);
  await recordMoneyChanges(ctx, ledger);

  await sampleChanges(ctx, acc, rewards, referrers, live);
  acc.count += rewards.length;
  acc.recovered += live.length;
  acc.vanished += gone.length;
  return rewards.map((r) =>
    referrers.has(r.refBy)
      ? `user #${r.userid}: reward ${formatMoney(r.refGet)} taken back from referrer #${r.refBy} (payback #${r.id})`
      : `user #${r.userid}: referrer #${r.refBy} no longer exists, payback #${r.id} marked callback 3, no money moved`,
  );
}

/**
 * Reward rows (total −1) of these users that are not yet recovered: no matching −2 row (same
 * userid and ref_by) and callback neither 1 nor 3 — NULL included, as the PHP panel leaves it
 * (a bare NOT IN would skip every PHP-written reward). Returned locked, in id order.
 */
async function lockOpenRewards(ctx: StepContext, userIds: number[]): Promise<Reward[]> {
  const open = (qb: Knex.QueryBuilder) =>
    qb.where('total', REWARD).where((cb) => cb.whereNull('callback').orWhereNotIn('callback', [CALLBACK_RECOVERED, CALLBACK_REFERRER_GONE]));
  const found: { id: number | string }[] = await ctx.trx('payback').select('id').whereIn('userid', userIds).where(open).orderBy('id');
  if (found.length === 0) return [];
  const locked: Record<string, unknown>[] = await ctx.dialect.forUpdate(
    ctx.trx('payback')
      .select('id', 'userid', 'ref_by', 'ref_get', 'callback')
      .whereIn('id', found.map((r) => Number(r.id)))
      .where(open)
      .orderBy('id'),
  );
  const rewards = locked.map<Reward>((r) => ({
    id: Number(r.id),
    userid: Number(r.userid),
    refBy: Number(r.ref_by),
    refGet: money(r.ref_get as string),
    callback: r.callback === null || r.callback === undefined ? null : Number(r.callback),
  }));
  if (rewards.length === 0) return [];
  const recoveredPairs: { userid: number | string; ref_by: number | string }[] = await ctx
    .trx('payback')
    .select('userid', 'ref_by')
    .where('total', RECOVERED)
    .whereIn('userid', [...new Set(rewards.map((r) => r.userid))]);
  const done = new Set(recoveredPairs.map((p) => pairKey(p.userid, p.ref_by)));
  return rewards.filter((r) => !done.has(pairKey(r.userid, r.refBy)));
}

async function lockReferrers(ctx: StepContext, rewards: Reward[]): Promise<Map<number, Referrer>> {
  const ids = [...new Set(rewards.map((r) => r.refBy))].sort((a, b) => a - b);
  const rows: Record<string, unknown>[] = await ctx.dialect.forUpdate(
    ctx.trx('user').select('id', 'money', 'ban_times').whereIn('id', ids).orderBy('id'),
  );
  return new Map(
    rows.map((r) => [Number(r.id), { id: Number(r.id), money: money(r.money as string), banTimes: Number(r.ban_times) }]),
  );
}

/**
 * One ledger row per recovered reward; a referrer losing several sees a running balance. A
 * reward whose recovery would take the balance below what DECIMAL(12,2) holds is left out
 * (MySQL would fail the whole job on it, every run): it is reported as skipped instead.
 */
function ledgerEntries(live: Reward[], referrers: Map<number, Referrer>, reason: string): { ledger: MoneyChange[]; overflow: Reward[] } {
  const running = new Map<number, Money>();
  const ledger: MoneyChange[] = [];
  const overflow: Reward[] = [];
  for (const r of live) {
    const before = running.get(r.refBy) ?? referrers.get(r.refBy)!.money;
    const after = before.minus(r.refGet);
    if (after.lt(MIN_BALANCE)) {
      overflow.push(r);
      continue;
    }
    running.set(r.refBy, after);
    ledger.push({ userId: r.refBy, before, after, reason, reference: `payback:${r.id}` });
  }
  return { ledger, overflow };
}

/**
 * One UPDATE for all referrers of the batch; the amounts are summed in SQL from the locked rows.
 * ROUND to cents: on SQLite the decimal column is a float, and 0.30 − (0.10 + 0.20) would be
 * stored as −5.55e-17, which the check job then disables as a negative balance. On a MySQL
 * DECIMAL it changes nothing.
 */
async function takeBackMoney(ctx: StepContext, live: Reward[], referrers: Map<number, Referrer>): Promise<void> {
  if (live.length === 0) return;
  const rewardIds = live.map((r) => r.id);
  const k = ctx.trx;
  const perReferrer = (expr: string) =>
    k('payback as rp').select(k.raw(expr)).whereIn('rp.id', rewardIds).where('rp.ref_by', k.ref('user.id'));
  await k('user')
    .whereIn('id', [...new Set(live.map((r) => r.refBy))])
    .update({
      money: k.raw('ROUND(?? - (?), 2)', ['money', perReferrer('COALESCE(SUM(rp.ref_get), 0)')]),
      ban_times: k.raw('COALESCE(??, 0) + (?)', ['ban_times', perReferrer('COUNT(*)')]),
    });
}

async function insertRecoveryRows(ctx: StepContext, live: Reward[]): Promise<void> {
  const rows = live.map((r) => ({ ...recoveryRow(ctx, r), paylist_id: null }));
  for (let i = 0; i < rows.length; i += 500) await ctx.trx('payback').insert(rows.slice(i, i + 500));
}

function recoveryRow(ctx: StepContext, r: Reward): Record<string, unknown> {
  return {
    total: formatMoney(RECOVERED),
    userid: r.userid,
    ref_by: r.refBy,
    ref_get: formatMoney(r.refGet.negated()),
    datetime: ctx.clock.unix,
    callback: 0,
  };
}

async function setCallback(ctx: StepContext, rewards: Reward[], callback: number): Promise<void> {
  if (rewards.length === 0) return;
  await ctx.trx('payback').whereIn('id', rewards.map((r) => r.id)).update({ callback });
}

/** Adds sampled before → after rows, up to ctx.sampleSize per table over the whole call. */
async function sampleChanges(
  ctx: StepContext,
  acc: RecoverResult,
  rewards: Reward[],
  referrers: Map<number, Referrer>,
  live: Reward[],
): Promise<void> {
  const room = (table: string, action: RowChange['action']) =>
    Math.max(0, ctx.sampleSize - acc.changes.filter((c) => c.table === table && c.action === action).length);

  for (const r of rewards.slice(0, room('payback', 'update'))) {
    const callback = referrers.has(r.refBy) ? CALLBACK_RECOVERED : CALLBACK_REFERRER_GONE;
    acc.changes.push({ table: 'payback', id: r.id, action: 'update', before: { callback: r.callback }, after: { callback } });
  }

  const sampledLive = live.slice(0, room('payback', 'insert'));
  if (sampledLive.length > 0) {
    // These pairs had no −2 row before this call (that is what made them open), so every −2
    // row of theirs now is one this call inserted: that is how its id is found.
    const byPair = new Map(sampledLive.map((r) => [pairKey(r.userid, r.refBy), r]));
    const inserted: { id: number | string; userid: number | string; ref_by: number | string }[] = await ctx
      .trx('payback')
      .select('id', 'userid', 'ref_by')
      .where('total', RECOVERED)
      .whereIn('userid', [...new Set(sampledLive.map((r) => r.userid))])
      .orderBy('id');
    for (const row of inserted) {
      const r = byPair.get(pairKey(row.userid, row.ref_by));
      if (!r) continue;
      acc.changes.push({ table: 'payback', id: Number(row.id), action: 'insert', after: recoveryRow(ctx, r) });
    }
  }

  const taken = new Map<number, { sum: Money; n: number }>();
  for (const r of live) {
    const t = taken.get(r.refBy) ?? { sum: money(0), n: 0 };
    taken.set(r.refBy, { sum: t.sum.plus(r.refGet), n: t.n + 1 });
  }
  for (const [id, t] of [...taken].slice(0, room('user', 'update'))) {
    const ref = referrers.get(id)!;
    acc.changes.push({
      table: 'user',
      id,
      action: 'update',
      before: { money: formatMoney(ref.money), ban_times: ref.banTimes },
      after: { money: formatMoney(ref.money.minus(t.sum)), ban_times: ref.banTimes + t.n },
    });
  }
}

const pairKey = (userid: unknown, refBy: unknown): string => `${Number(userid)}:${Number(refBy)}`;
