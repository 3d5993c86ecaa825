import { UsageError } from '../errors.js';
import { formatMoney, money } from '../ledger/money.js';
import { Clock } from '../time/clock.js';

/**
 * Small formatting and input helpers shared by the support commands (history, ledger, user,
 * payment list): panel-local times, money, and `--since`.
 */

/** A Unix-second time as panel-local wall time, `YYYY-MM-DD HH:mm:ss`; null for "never". */
export function panelTime(unix: number | null | undefined, timezone: string): string | null {
  if (unix === null || unix === undefined || !Number.isFinite(unix) || unix <= 0) return null;
  return new Clock(new Date(unix * 1000), timezone).panelLocal();
}

/** Money as the DECIMAL(12,2) string, whatever the driver returned. */
export const moneyText = (v: unknown): string => formatMoney(money(v as string));

/**
 * Unix seconds of a panel-local wall time `YYYY-MM-DD[ HH:mm[:ss]]`. The zone's offset at that
 * instant is found by formatting a first guess and correcting by the difference (twice, for
 * times next to a DST change).
 */
export function panelLocalToUnix(wall: string, timezone: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(wall.trim());
  if (!m) return null;
  const [y, mo, d, h = '0', mi = '0', s = '0'] = m.slice(1).map((x) => x ?? '0') as string[];
  const target = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(target)) return null;
  let guess = target;
  for (let i = 0; i < 2; i++) {
    const shown = new Clock(new Date(guess), timezone).panelLocal();
    const sm = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(shown)!;
    const asUtc = Date.UTC(+sm[1]!, +sm[2]! - 1, +sm[3]!, +sm[4]!, +sm[5]!, +sm[6]!);
    guess += target - asUtc;
  }
  return Math.floor(guess / 1000);
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 7 * 86_400 };

/**
 * `--since`: an age (`90m`, `24h`, `7d`), a panel-local date or time (`2026-11-25`,
 * `2026-11-25 02:00`), or an ISO-8601 time with a zone. Returns Unix seconds.
 */
export function parseSince(raw: unknown, now: Date, timezone: string): number | null {
  if (raw === undefined) return null;
  const v = String(raw).trim();
  const age = /^(\d{1,6})([smhdw])$/.exec(v);
  if (age) return Math.floor(now.getTime() / 1000) - Number(age[1]) * UNITS[age[2]!]!;
  const local = panelLocalToUnix(v, timezone);
  if (local !== null && /^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$/.test(v)) return local;
  if (/^\d{4}-\d{2}-\d{2}T.+(Z|[+-]\d{2}:?\d{2})$/.test(v)) {
    const d = new Date(v);
    if (!Number.isNaN(d.getTime())) return Math.floor(d.getTime() / 1000);
  }
  throw new UsageError(
    `invalid --since ${JSON.stringify(v)}: expected an age such as 24h or 7d, a panel-local time such as 2026-11-25 or "2026-11-25 02:00", or an ISO-8601 time with a zone`,
  );
}

/** `--limit`: 1..10000. */
export function parseLimit(raw: unknown, fallback: number): number {
  if (raw === undefined) return fallback;
  const v = String(raw);
  if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 10_000) throw new UsageError(`invalid --limit ${JSON.stringify(v)}: expected a whole number from 1 to 10000`);
  return Number(v);
}

/** A plain text table: columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function durationText(ms: number | null): string {
  if (ms === null) return '-';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
