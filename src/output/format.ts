import { Decimal } from 'decimal.js';
import { Clock } from '../time/clock.js';

/**
 * Values as a person reads them in a report: byte counts in GiB/MiB, Unix seconds as panel-local
 * date-times, money with its two decimals. Only the human summary uses this; --json keeps the raw
 * values. Which columns hold what comes from the panel's schema (SPEC §1–2).
 */
const BYTE_COLUMNS = new Set(['u', 'd', 'transfer_enable', 'transfer_limit', 'last_day_t', 'node_bandwidth', 'node_bandwidth_limit']);
const UNIX_COLUMNS = new Set(['t', 'renew_time', 'last_check_in_time', 'node_heartbeat', 'datetime', 'log_time', 'deleted_at', 'usedatetime']);
const MONEY_COLUMNS = new Set(['money', 'ref_get', 'amount_before', 'amount_after', 'amount', 'price']);
/** `total` is money in paylist, but in payback −1/−2 mark rewards; `number` is money in code. */
const MONEY_IN_TABLE: Record<string, string[]> = { paylist: ['total'], code: ['number'] };
/** email_verify.expire_in is Unix seconds (user.expire_in is a DATETIME string, left as it is). */
const UNIX_IN_TABLE: Record<string, string[]> = { email_verify: ['expire_in'] };

export function formatValue(table: string, column: string, value: unknown, timezone: string): string {
  if (value === null || value === undefined) return 'NULL';
  const n = integerOf(value);
  if (BYTE_COLUMNS.has(column) && n !== null) return formatBytes(n);
  if ((UNIX_COLUMNS.has(column) || UNIX_IN_TABLE[table]?.includes(column)) && n !== null) return formatUnixTime(n, timezone);
  if ((MONEY_COLUMNS.has(column) || MONEY_IN_TABLE[table]?.includes(column)) && isDecimal(value)) return formatMoneyValue(value);
  if (typeof value === 'string') return value.length > 60 ? JSON.stringify(`${value.slice(0, 57)}...`) : JSON.stringify(value);
  return String(value);
}

const UNITS: [string, bigint][] = [
  ['TiB', 1024n ** 4n],
  ['GiB', 1024n ** 3n],
  ['MiB', 1024n ** 2n],
  ['KiB', 1024n],
];

/** 5368709120 → "5 GiB", 1610612736 → "1.5 GiB", 3145728 → "3 MiB", 512 → "512 B". */
export function formatBytes(bytes: bigint): string {
  const abs = bytes < 0n ? -bytes : bytes;
  for (const [unit, size] of UNITS) {
    if (abs >= size) return `${trimZeros(new Decimal(bytes.toString()).div(size.toString()).toFixed(2))} ${unit}`;
  }
  return `${bytes} B`;
}

/** Unix seconds → "2026-11-25 02:00:00" in the panel's zone; 0 is the panel's "never". */
export function formatUnixTime(seconds: bigint, timezone: string): string {
  if (seconds === 0n) return '0 (never)';
  const ms = Number(seconds) * 1000;
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return seconds.toString();
  return new Clock(new Date(ms), timezone).panelLocal();
}

/** "5" / 5 / "5.5" → "5.00" / "5.50": money always with its cents, no quotes. */
export function formatMoneyValue(value: unknown): string {
  return new Decimal(String(value)).toFixed(2);
}

/** Like Number#toLocaleString without depending on the host's locale: 1234567 → "1,234,567". */
export function groupDigits(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * Joins fields with ", " into lines of at most `width` characters, breaking only between fields
 * (never inside a number); continuation lines start with `indent`.
 */
export function wrapFields(head: string, fields: string[], width: number, indent: string): string {
  const lines: string[] = [];
  let line = head;
  fields.forEach((field, i) => {
    const piece = i < fields.length - 1 ? `${field},` : field;
    const sep = line === indent ? '' : ' ';
    if (line !== head && line !== indent && line.length + sep.length + piece.length > width) {
      lines.push(line);
      line = indent + piece;
    } else {
      line += sep + piece;
    }
  });
  lines.push(line);
  return lines.join('\n');
}

function integerOf(v: unknown): bigint | null {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) return BigInt(v);
  return null;
}

function isDecimal(v: unknown): boolean {
  return (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v));
}

/** "1.50" → "1.5", "5.00" → "5" (toFixed always leaves a '.', so "500.00" stays "500"). */
function trimZeros(s: string): string {
  return s.replace(/\.?0+$/, '');
}
