/**
 * SPANEL_PING_URL, healthchecks-style, in one of two forms:
 *   a template:    https://hc-ping.com/<ping-key>/spanel-{job}      ({job} → daily, hourly, check, dbclean)
 *   one URL each:  daily=https://hc-ping.com/<uuid1>,hourly=https://hc-ping.com/<uuid2>
 *                  (separated by commas and/or spaces; a job left out is not pinged)
 * A single URL without {job} would report four jobs with different schedules to one check, so it
 * is refused as a configuration error.
 */
export const PING_JOBS = ['daily', 'hourly', 'check', 'dbclean'] as const;
type PingJob = (typeof PING_JOBS)[number];

const PAIR = /^(daily|hourly|check|dbclean)=(.+)$/;

/** The setting's parser: validates, keeps the raw text (null when unset). Throws what it accepts. */
export function pingUrlSetting(raw: string): string | null {
  const v = raw.trim();
  if (v === '') return null;
  pingTargets(v);
  return v;
}

/** The ping URL of each job the setting covers. Throws a string (the parser convention) when invalid. */
export function pingTargets(raw: string): Partial<Record<PingJob, string>> {
  const accepted =
    'an http(s) URL containing {job} (e.g. https://hc-ping.com/KEY/spanel-{job}), or job=URL pairs such as "daily=https://hc-ping.com/UUID1,hourly=https://hc-ping.com/UUID2"';
  const v = raw.trim();
  const out: Partial<Record<PingJob, string>> = {};
  if (PAIR.test(v.split(/[\s,]+/)[0] ?? '')) {
    // Any `name=` after a separator starts a pair, so a misspelled job name is an error, not part of a URL.
    for (const part of v.split(/[\s,]+(?=[A-Za-z_-]+=)/)) {
      const m = PAIR.exec(part.trim().replace(/,$/, ''));
      if (!m || out[m[1] as PingJob] || !isHttpUrl(m[2]!)) throw accepted;
      out[m[1] as PingJob] = m[2]!;
    }
    return out;
  }
  if (!v.includes('{job}') || !isHttpUrl(v.replaceAll('{job}', 'daily'))) throw accepted;
  for (const job of PING_JOBS) out[job] = v.replaceAll('{job}', job);
  return out;
}

/** `<url>/start`, `<url>/fail` (before any query string), or `<url>` itself for success. */
export function pingUrlFor(base: string, kind: 'start' | 'success' | 'fail'): string {
  if (kind === 'success') return base;
  const u = new URL(base);
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/${kind}`;
  return u.toString();
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' && !/\s/.test(s);
  } catch {
    return false;
  }
}
