import { statSync } from 'node:fs';
import { encodeCredentials } from './parse.js';

/** Settings whose value may carry a secret in its URL (a password, or a ping key in the path). */
const SECRET_SETTINGS = ['DATABASE_URL', 'REDIS_URL', 'SPANEL_PING_URL'];

/**
 * An env file that holds a password but that any local user may read gives the panel's
 * database away to every account on the host. spanel still runs (the operator may be mid-setup),
 * but says so in every run's log and in `spanel doctor`.
 */
export function envFileWarnings(path: string, vars: Record<string, string>): string[] {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch {
    return [];
  }
  if ((mode & 0o004) === 0) return [];
  const secrets = SECRET_SETTINGS.filter((name) => holdsSecret(name, vars[name] ?? ''));
  if (secrets.length === 0) return [];
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  return [
    `env file ${path} holds a secret (${secrets.join(', ')}) and is readable by every user (mode ${octal}): run "chmod 600 ${path}" (or 640 with group spanel)`,
  ];
}

function holdsSecret(name: string, value: string): boolean {
  if (value.trim() === '') return false;
  if (name === 'SPANEL_PING_URL') return true;
  try {
    return new URL(encodeCredentials(value.trim())).password !== '';
  } catch {
    return false;
  }
}
