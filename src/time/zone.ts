/**
 * Panel-local wall time without Intl. The first Intl object a process creates loads ICU's locale
 * data, and a named zone more: 40 ms of every run's 0.3 s on an empty panel (docs/performance.md).
 * V8's own local-time support reads the same ICU zone rules (DST and history included) for the
 * zone in TZ without any locale data, so the fields are read with TZ set to the panel's zone for
 * the duration of one synchronous call, and TZ is restored before anything else can run.
 */
export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export function wallTime(ms: number, zone: string): WallTime {
  const saved = process.env.TZ;
  process.env.TZ = zone;
  try {
    const d = new Date(ms);
    return { year: d.getFullYear(), month: d.getMonth() + 1, day: d.getDate(), hour: d.getHours(), minute: d.getMinutes(), second: d.getSeconds() };
  } finally {
    if (saved === undefined) delete process.env.TZ;
    else process.env.TZ = saved;
  }
}

let known: Set<string> | null = null;

/**
 * An IANA zone name ICU knows. V8 would take an unknown TZ for UTC without a word, so every name
 * is checked here: against ICU's list first (2 ms), and names the list leaves out (UTC, links such
 * as US/Pacific or PRC) by Intl itself, which accepts exactly the names it can convert with.
 */
export function isTimeZone(name: string): boolean {
  known ??= new Set(Intl.supportedValuesOf('timeZone'));
  if (known.has(name)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
