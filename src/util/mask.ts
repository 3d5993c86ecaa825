/**
 * `scheme://user:password@host` anywhere in a text. A password may itself hold '@', ':', '/', '#'
 * or spaces (`mysql://sp:S3cret@PW x@db/x`), so it runs greedily to the LAST '@' that is followed
 * by something host-like. It never crosses a line, not even an escaped one (`\n` in a JSON stack),
 * nor an unescaped '"', so a JSON line (a log line, `spanel config --json`) stays valid JSON.
 * Over-masking is the safe side of the doubt.
 */
const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s"]*:)(?:[^"\\\r\n]|\\[^nr])*@(?=[a-z0-9[])/gi;

/** Replaces the password of every URL-like `scheme://user:password@host` in a text with `***`. */
export function maskSecrets(text: string): string {
  return text.replace(URL_CREDENTIALS, '$1***@');
}

/**
 * One URL setting as it may be shown to an operator (user kept, password `***`), never thrown on.
 * Its credentials are everything between '://' and the last '@'. Without any '@', a value such
 * as `mysql://sp:Ab1` is a password cut short (dotenv ends an unquoted value at '#'), so what
 * follows the ':' is masked too, unless it is a port: `redis://127.0.0.1:6379`, `…:3306/db`,
 * `redis+cluster://h1:7000,h2:7000`.
 */
export function maskUrl(url: string): string {
  const scheme = url.indexOf('://');
  if (scheme < 0) return url; // sqlite:PATH holds no password
  const from = scheme + 3;
  const at = url.lastIndexOf('@');
  const colon = url.indexOf(':', from);
  if (at >= from) return colon < 0 || colon > at ? url : `${url.slice(0, colon + 1)}***${url.slice(at)}`;
  if (colon < 0 || /^\d{1,5}(?:[/?,]|$)/.test(url.slice(colon + 1))) return url;
  return `${url.slice(0, colon + 1)}***`;
}
