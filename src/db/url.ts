import { resolve } from 'node:path';

export type DatabaseTarget =
  | { kind: 'mysql'; host: string; port: number; user: string; password: string; database: string; url: string }
  | { kind: 'sqlite'; filename: string; url: string };

/** Splits DATABASE_URL into connection options (already validated by the settings parser). */
export function parseDatabaseUrl(url: string, cwd = process.cwd()): DatabaseTarget {
  if (url.startsWith('sqlite:')) {
    const rest = url.slice('sqlite:'.length).replace(/^\/\//, '');
    const filename = rest === ':memory:' ? rest : resolve(cwd, rest);
    return { kind: 'sqlite', filename, url };
  }
  const u = new URL(url);
  return {
    kind: 'mysql',
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.slice(1)),
    url,
  };
}
