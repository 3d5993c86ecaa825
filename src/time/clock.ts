import { wallTime } from './zone.js';

/**
 * "now" as every step sees it. Unix-second columns compare with `unix`; the panel's DATETIME
 * columns hold panel-local wall time, so they compare with strings rendered in the panel's zone
 * here, in JS, and passed as parameters: the host's, Node's and the MySQL session's zones never
 * enter the comparison (SPEC §1).
 */
export class Clock {
  readonly unix: number;

  constructor(
    readonly date: Date,
    readonly timezone: string,
  ) {
    this.unix = Math.floor(date.getTime() / 1000);
  }

  /** Panel-local wall time of `now + offsetSeconds`, as `YYYY-MM-DD HH:mm:ss` for DATETIME columns. */
  panelLocal(offsetSeconds = 0): string {
    const w = this.wall(this.date.getTime() + offsetSeconds * 1000);
    return `${w.year}-${w.month}-${w.day} ${w.hour}:${w.minute}:${w.second}`;
  }

  /** One (or n) calendar month(s) back in panel time; the 31st falls back to the month's last day. */
  panelMonthsAgo(months = 1): string {
    const w = this.wall(this.date.getTime());
    let y = Number(w.year);
    let m = Number(w.month) - months;
    while (m < 1) {
      m += 12;
      y -= 1;
    }
    const lastDay = new Date(Date.UTC(y, m, 0)).getUTCDate();
    const d = Math.min(Number(w.day), lastDay);
    return `${String(y).padStart(4, '0')}-${pad(m)}-${pad(d)} ${w.hour}:${w.minute}:${w.second}`;
  }

  /** Prefix of the warnings written to user.warming: panel-local `YYYYMMDD HH:mm:ss`. */
  warningStamp(): string {
    const w = this.wall(this.date.getTime());
    return `${w.year}${w.month}${w.day} ${w.hour}:${w.minute}:${w.second}`;
  }

  private wall(ms: number): Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', string> {
    const w = wallTime(ms, this.timezone);
    return {
      year: String(w.year).padStart(4, '0'),
      month: pad(w.month),
      day: pad(w.day),
      hour: pad(w.hour),
      minute: pad(w.minute),
      second: pad(w.second),
    };
  }
}

const pad = (n: number): string => String(n).padStart(2, '0');

/**
 * Years `--now` may name. The panel's Unix-second columns are signed 32-bit INTs (they end in
 * January 2038, and a renewal adds up to weeks to now), and before 2000 no panel existed: a time
 * outside this range is a typo, and acting on it would disable or expire accounts en masse.
 */
export const NOW_YEARS = { min: 2000, max: 2037 } as const;

/**
 * `--now` accepts ISO-8601 with a zone (Z or ±hh:mm); a zoneless time would be ambiguous. Every
 * field is checked as written: JavaScript's Date would turn 2026-02-30 into March 2.
 */
export function parseNow(raw: string): Date | string {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|([+-])(\d{2}):?(\d{2}))$/.exec(raw.trim());
  if (!m) return 'expected an ISO-8601 time with a zone, for example 2026-11-25T02:00:00+08:00 or 2026-11-24T18:00:00Z';
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [number, number, number, number, number, number];
  if (year < NOW_YEARS.min || year > NOW_YEARS.max) return `the year must be from ${NOW_YEARS.min} to ${NOW_YEARS.max}`;
  if (month < 1 || month > 12) return 'no such month';
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return `no such day: ${String(month).padStart(2, '0')}/${year} has ${daysInMonth} days`;
  if (hour > 23 || minute > 59 || second > 59) return 'no such time of day (hours 00-23, minutes and seconds 00-59)';
  if (m[8] !== 'Z' && (Number(m[10]) > 14 || Number(m[11]) > 59)) return 'no such zone offset (at most ±14:00)';
  const d = new Date(raw.trim());
  return Number.isNaN(d.getTime()) ? 'expected a valid date and time' : d;
}

/** How far ahead of the host clock a real run's `--now` may be (clocks drift; cron starts early). */
export const MAX_FUTURE_NOW_MS = 5 * 60_000;

/** A real run may replay the past but never act in the future; a dry run may look anywhere. */
export function futureNowProblem(now: Date, dryRun: boolean, wallClockMs = Date.now()): string | null {
  if (dryRun || now.getTime() - wallClockMs <= MAX_FUTURE_NOW_MS) return null;
  return `--now ${now.toISOString()} is ahead of this host's clock (${new Date(wallClockMs).toISOString()}) by more than ${MAX_FUTURE_NOW_MS / 60_000} minutes: a real run may not act in the future (use --dry-run to look ahead)`;
}
