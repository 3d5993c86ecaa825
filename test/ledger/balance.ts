import { Decimal } from 'decimal.js';
import type { Knex } from 'knex';
import { expect } from 'vitest';

/** Every user's balance and the ledger's high-water mark, taken before a command runs. */
export interface LedgerSnapshot {
  money: Map<number, string>;
  lastLedgerId: number;
}

export async function ledgerSnapshot(knex: Knex): Promise<LedgerSnapshot> {
  const users: { id: number | string; money: number | string }[] = await knex('user').select('id', 'money');
  const last = await knex('spanel_money_ledger').max({ id: 'id' }).first();
  return {
    money: new Map(users.map((u) => [Number(u.id), new Decimal(String(u.money)).toFixed(2)])),
    lastLedgerId: Number(last?.id ?? 0),
  };
}

/**
 * The ledger explains every balance change since the snapshot: for each user (still present),
 * the sum of its new ledger deltas equals after − before; each row's delta is after − before;
 * and each user's rows chain (one row's after is the next row's before). Returns the new rows.
 */
export async function expectLedgerBalanced(knex: Knex, snap: LedgerSnapshot): Promise<Record<string, unknown>[]> {
  const rows: Record<string, any>[] = await knex('spanel_money_ledger').where('id', '>', snap.lastLedgerId).orderBy('id');
  const users: { id: number | string; money: number | string }[] = await knex('user').select('id', 'money');
  const deltas = new Map<number, Decimal>();
  const lastAfter = new Map<number, string>();
  for (const r of rows) {
    const uid = Number(r.user_id);
    const before = new Decimal(String(r.amount_before));
    const after = new Decimal(String(r.amount_after));
    expect(new Decimal(String(r.delta)).toFixed(2), `ledger row #${r.id} delta`).toBe(after.minus(before).toFixed(2));
    const prev = lastAfter.get(uid) ?? snap.money.get(uid);
    if (prev !== undefined) expect(before.toFixed(2), `ledger row #${r.id} continues user #${uid}'s balance`).toBe(prev);
    lastAfter.set(uid, after.toFixed(2));
    deltas.set(uid, (deltas.get(uid) ?? new Decimal(0)).plus(String(r.delta)));
  }
  for (const u of users) {
    const id = Number(u.id);
    const was = new Decimal(snap.money.get(id) ?? '0');
    const now = new Decimal(String(u.money));
    expect((deltas.get(id) ?? new Decimal(0)).toFixed(2), `user #${id}: ledger deltas = balance change`).toBe(now.minus(was).toFixed(2));
  }
  return rows;
}
