import { formatMoney } from '../ledger/money.js';
import type { RowChange, RunResult } from '../runner/types.js';

/**
 * The `--json` contract, the same on MySQL and SQLite (the drivers differ: mysql2 returns BIGINT
 * and DECIMAL as strings, better-sqlite3 every number as a JS number, DECIMAL as a float):
 * - counts, ids, run ids and durations (integer milliseconds) are JSON numbers;
 * - in change samples (`before`/`after`), the 64-bit traffic counters (user.u, d,
 *   transfer_enable, transfer_limit, last_day_t) are strings of their exact value, money
 *   (DECIMAL(12,2)) strings with two decimals ("1.50"); every other integer column is a number;
 * - DATETIME values are strings "YYYY-MM-DD HH:mm:ss", text is text, NULL is null.
 */
export function stableResult(r: RunResult): RunResult {
  return {
    ...r,
    durationMs: Math.round(r.durationMs),
    steps: r.steps.map((s) => ({ ...s, durationMs: Math.round(s.durationMs), changes: s.changes.map(stableChange) })),
  };
}

/** Money columns of the panel and of spanel's ledger, by `table.column`. */
const MONEY = new Set([
  'user.money',
  'paylist.total',
  'payback.total',
  'payback.ref_get',
  'bought.price',
  'code.number',
  'spanel_money_ledger.amount_before',
  'spanel_money_ledger.amount_after',
  'spanel_money_ledger.delta',
]);

/** Byte counters: beyond 2^53 in principle, so never a JSON number. */
const BIG = new Set(['user.u', 'user.d', 'user.transfer_enable', 'user.transfer_limit', 'user.last_day_t']);

function stableChange(c: RowChange): RowChange {
  const id = typeof c.id === 'string' && /^\d+$/.test(c.id) && c.id.length < 16 ? Number(c.id) : c.id;
  return {
    ...c,
    id,
    ...(c.before ? { before: stableRow(c.table, c.before) } : {}),
    ...(c.after ? { after: stableRow(c.table, c.after) } : {}),
  };
}

function stableRow(table: string, row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, stableValue(`${table}.${k}`, v)]));
}

export function stableValue(column: string, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  const numeric = typeof v === 'number' || typeof v === 'bigint' || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v));
  if (!numeric) return v;
  if (MONEY.has(column)) return formatMoney(String(v));
  if (BIG.has(column)) return typeof v === 'number' ? v.toFixed(0) : String(v);
  // Any other integer column: a number on both backends (MySQL gives a BIGINT as a string).
  const n = Number(v);
  return Number.isSafeInteger(n) || typeof v === 'number' ? n : String(v);
}
