import type { Knex } from 'knex';
import { ARCHIVE_TABLE } from '../jobs/check/archive-users.js';
import { LEDGER_TABLE } from '../ledger/ledger.js';
import { formatMoney, money, type Money } from '../ledger/money.js';

/**
 * A restore starts the user's balance again from the archived account, so its row may not
 * continue the chain of the rows written before the deletion.
 */
export const CHAIN_RESTART_REASONS = new Set(['restore']);

export interface LedgerEntry {
  id: number;
  userId: number;
  createdAt: number;
  before: string;
  after: string;
  delta: string;
  reason: string;
  reference: string | null;
  runId: number | null;
  operator: string;
}

export function ledgerEntry(r: Record<string, unknown>): LedgerEntry {
  return {
    id: Number(r.id),
    userId: Number(r.user_id),
    createdAt: Number(r.created_at),
    before: formatMoney(money(r.amount_before as string)),
    after: formatMoney(money(r.amount_after as string)),
    delta: formatMoney(money(r.delta as string)),
    reason: String(r.reason),
    reference: (r.reference as string | null) ?? null,
    runId: r.run_id === null || r.run_id === undefined ? null : Number(r.run_id),
    operator: String(r.operator),
  };
}

export interface ChainBreak {
  ledgerId: number;
  expectedBefore: string;
  before: string;
  /** before − the previous row's after. */
  gap: string;
}

export interface UserVerdict {
  user: number;
  ok: boolean;
  rows: number;
  lastAfter: string;
  lastAt: number;
  /** live: the user row exists; deleted: it is in the archive; missing: neither. */
  state: 'live' | 'deleted' | 'missing';
  /** The current balance (or the archived one of a deleted user). */
  balance: string | null;
  /** balance − lastAfter, when they differ. */
  difference: string | null;
  breaks: ChainBreak[];
  /** Rows whose delta is not after − before. */
  badDeltas: number[];
}

/** Per-user state while the ledger is walked in (user_id, id) order. */
class Walk {
  rows = 0;
  last: LedgerEntry | null = null;
  breaks: ChainBreak[] = [];
  badDeltas: number[] = [];
  constructor(readonly user: number) {}

  add(e: LedgerEntry): void {
    if (!money(e.after).minus(e.before).eq(money(e.delta))) this.badDeltas.push(e.id);
    if (this.last && !CHAIN_RESTART_REASONS.has(e.reason) && !money(e.before).eq(money(this.last.after))) {
      this.breaks.push({ ledgerId: e.id, expectedBefore: this.last.after, before: e.before, gap: formatMoney(money(e.before).minus(this.last.after)) });
    }
    this.rows++;
    this.last = e;
  }
}

const LEDGER_BATCH = 5000;
const USER_BATCH = 500;

/**
 * Walks the whole ledger (or one user's rows) in keyset batches ordered by (user_id, id),
 * holding one user at a time, and compares each user's latest `after` with the balance in the
 * user table (or, for a deleted user, in its archived row). Calls `onUser` for every user.
 */
export async function verifyLedger(knex: Knex, opts: { user?: number }, onUser: (v: UserVerdict) => void): Promise<void> {
  let pending: Walk[] = [];
  const flush = async () => {
    for (const v of await judge(knex, pending)) onUser(v);
    pending = [];
  };
  let lastUser = 0;
  let lastId = 0;
  let walk: Walk | null = null;
  for (;;) {
    const q = knex(LEDGER_TABLE)
      .select('*')
      .where((w) => w.where('user_id', '>', lastUser).orWhere((s) => s.where('user_id', lastUser).where('id', '>', lastId)))
      .orderBy([{ column: 'user_id' }, { column: 'id' }])
      .limit(LEDGER_BATCH);
    if (opts.user !== undefined) q.where('user_id', opts.user);
    const rows: Record<string, unknown>[] = await q;
    if (rows.length === 0) break;
    for (const r of rows) {
      const e = ledgerEntry(r);
      if (!walk || walk.user !== e.userId) {
        if (walk) pending.push(walk);
        if (pending.length >= USER_BATCH) await flush();
        walk = new Walk(e.userId);
      }
      walk.add(e);
      lastUser = e.userId;
      lastId = e.id;
    }
  }
  if (walk) pending.push(walk);
  await flush();
}

async function judge(knex: Knex, walks: Walk[]): Promise<UserVerdict[]> {
  if (walks.length === 0) return [];
  const ids = walks.map((w) => w.user);
  const live = new Map<number, Money>();
  const rows: { id: unknown; money: unknown }[] = await knex('user').select('id', 'money').whereIn('id', ids);
  for (const r of rows) live.set(Number(r.id), money(r.money as string));
  const gone = ids.filter((id) => !live.has(id));
  const archived = new Map<number, Money>();
  if (gone.length) {
    const arch: { user_id: unknown; row_json: string; restored_at: unknown }[] = await knex(ARCHIVE_TABLE)
      .select('user_id', 'row_json', 'restored_at')
      .whereIn('user_id', gone)
      .orderBy('id', 'asc');
    // The latest archive row of each user wins.
    for (const a of arch) archived.set(Number(a.user_id), money((JSON.parse(a.row_json) as { money?: string }).money));
  }
  return walks.map((w) => {
    const last = w.last!;
    const state = live.has(w.user) ? 'live' : archived.has(w.user) ? 'deleted' : 'missing';
    const balance = live.get(w.user) ?? archived.get(w.user) ?? null;
    const differs = balance === null || !balance.eq(money(last.after));
    return {
      user: w.user,
      ok: !differs && w.breaks.length === 0 && w.badDeltas.length === 0,
      rows: w.rows,
      lastAfter: last.after,
      lastAt: last.createdAt,
      state,
      balance: balance === null ? null : formatMoney(balance),
      difference: balance === null ? null : differs ? formatMoney(balance.minus(last.after)) : null,
      breaks: w.breaks,
      badDeltas: w.badDeltas,
    };
  });
}
