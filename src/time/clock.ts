/**
 * "now" as every step sees it. Unix-second columns compare with `unix`; the panel's DATETIME
 * columns hold panel-local wall time, so they compare with strings rendered in the panel's zone
 * here, in JS, and passed as parameters: the host's, Node's and the MySQL session's zones never
 * enter the comparison (SPEC §1).
 */
export class Clock {
  readonly unix: number;
  private readonly fmt: Intl.DateTimeFormat;

  constructor(
    readonly date: Date,
    readonly timezone: string,
  ) {
    this.unix = Math.floor(date.getTime() / 1000);
    this.fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
  }

  /** Panel-local wall time of `now + offsetSeconds`, as `YYYY-MM-DD HH:mm:ss` for DATETIME columns. */
  panelLocal(offsetSeconds = 0): string {
    const w = this.wall(new Date(this.date.getTime() + offsetSeconds * 1000));
    return `${w.year}-${w.month}-${w.day} ${w.hour}:${w.minute}:${w.second}`;
  }

  /** One (or n) calendar month(s) back in panel time; the 31st falls back to the month's last day. */
  panelMonthsAgo(months = 1): string {
    const w = this.wall(this.date);
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
    const w = this.wall(this.date);
    return `${w.year}${w.month}${w.day} ${w.hour}:${w.minute}:${w.second}`;
  }

  private wall(d: Date): Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', string> {
    const parts = Object.fromEntries(this.fmt.formatToParts(d).map((p) => [p.type, p.value]));
    return {
      year: String(parts.year).padStart(4, '0'),
      month: parts.month!,
      day: parts.day!,
      hour: parts.hour!,
      minute: parts.minute!,
      second: parts.second!,
    };
  }
}

const pad = (n: number): string => String(n).padStart(2, '0');

/** `--now` accepts ISO-8601 with a zone (Z or ±hh:mm); a zoneless time would be ambiguous. */
export function parseNow(raw: string): Date | string {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(raw.trim())) {
    return 'expected an ISO-8601 time with a zone, for example 2026-11-25T02:00:00+08:00 or 2026-11-24T18:00:00Z';
  }
  const d = new Date(raw.trim());
  return Number.isNaN(d.getTime()) ? 'expected a valid date and time' : d;
}
