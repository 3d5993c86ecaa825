import { Decimal } from 'decimal.js';
import { parseRedisUrl, REDIS_URL_FORMS } from '../redis/url.js';
import { isTimeZone } from '../time/zone.js';

/** A parser returns the parsed value or throws a string saying what the setting accepts. */
export type Parser<T> = (raw: string) => T;

export const integer =
  (min: number, max: number = Number.MAX_SAFE_INTEGER): Parser<number> =>
  (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw `an integer from ${min} to ${max}`;
    const n = Number(raw.trim());
    if (!Number.isSafeInteger(n) || n < min || n > max) throw `an integer from ${min} to ${max}`;
    return n;
  };

export const decimal =
  (min: string, max: string): Parser<string> =>
  (raw) => {
    const what = `a decimal number from ${min} to ${max} (for example ${min})`;
    if (!/^-?\d+(\.\d+)?$/.test(raw.trim())) throw what;
    const d = new Decimal(raw.trim());
    if (d.lt(min) || d.gt(max)) throw what;
    return d.toString();
  };

export const boolean: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw 'true or false';
};

/** "2,3,4,5" or a range "2-5", or a mix: "2-3,5". */
export const intList: Parser<number[]> = (raw) => {
  const what = 'a list of node groups such as "2,3,4,5" or "2-5"';
  const out = new Set<number>();
  for (const part of raw.split(',').map((p) => p.trim())) {
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) throw what;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi - lo > 1000) throw what;
    for (let g = lo; g <= hi; g++) out.add(g);
  }
  if (out.size === 0) throw what;
  return [...out].sort((a, b) => a - b);
};

export const timezone: Parser<string> = (raw) => {
  const tz = raw.trim();
  if (!isTimeZone(tz)) throw 'an IANA time zone such as Asia/Shanghai or UTC';
  return tz;
};

export const logLevel: Parser<string> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(v)) {
    throw 'one of fatal, error, warn, info, debug, trace, silent';
  }
  return v;
};

export const databaseUrl: Parser<string> = (raw) => {
  const v = encodeCredentials(raw.trim());
  if (/^sqlite:/.test(v)) return v;
  try {
    const u = new URL(v);
    if (!['mysql:', 'mariadb:'].includes(u.protocol) || !u.hostname || u.pathname.length < 2) throw 0;
  } catch {
    throw 'a URL such as mysql://spanel@127.0.0.1:3306/sspanel (with a password: spanel:SECRET@…), or sqlite:PATH for the embedded database';
  }
  return v;
};

export const redisUrl: Parser<string | null> = (raw) => {
  const v = encodeCredentials(raw.trim());
  if (v === '') return null;
  try {
    parseRedisUrl(v);
  } catch (err) {
    throw `${REDIS_URL_FORMS}, or empty to keep snapshots in the database (${(err as Error).message})`;
  }
  return v;
};

export const text: Parser<string> = (raw) => raw;

export const optionalText: Parser<string | null> = (raw) => (raw.trim() === '' ? null : raw.trim());

/**
 * "90", "90s", "30m", "26h", "8d" → seconds, at least 1: a zero ping timeout would abort every
 * ping at once, and a zero overdue limit would report a job overdue right after it succeeded.
 */
export const duration: Parser<number> = (raw) => {
  const what = 'a duration of at least 1s, such as 90s, 30m, 26h or 8d';
  const m = /^(\d+)\s*([smhd]?)$/.exec(raw.trim());
  if (!m) throw what;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(m[1]) * unit;
  if (!Number.isSafeInteger(seconds) || seconds < 1) throw what;
  return seconds;
};

/**
 * A password may hold '#', '?', '/', '@' or spaces as typed (quoted in the env file): a URL parser
 * would take '#' for the start of a fragment and '/' for the path. Everything between '://' and
 * the LAST '@' is the credentials, so those characters are percent-encoded there (an existing
 * %XX is kept) and the URL then means what the operator wrote.
 */
export function encodeCredentials(url: string): string {
  const scheme = url.indexOf('://');
  const at = url.lastIndexOf('@');
  if (scheme < 0 || at < scheme + 3) return url;
  const userinfo = url.slice(scheme + 3, at).replace(/%(?![0-9a-fA-F]{2})|[^A-Za-z0-9\-._~!$&'()*+,;=:%]/gu, (c) => encodeURIComponent(c));
  return `${url.slice(0, scheme + 3)}${userinfo}${url.slice(at)}`;
}
