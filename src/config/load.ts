import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { ConfigError } from '../errors.js';
import { maskSecrets, maskUrl } from '../util/mask.js';
import { envFileWarnings } from './env-file-mode.js';
import { SETTINGS, type SettingName, type Settings } from './settings.js';

export type Env = Record<string, string | undefined>;

export interface LoadOptions {
  env: Env;
  cwd: string;
  /** `--env-file PATH`; SPANEL_ENV_FILE when absent; `.env` of the working directory otherwise. */
  envFile?: string;
  /** Settings the command cannot work without (DATABASE_URL for every database command). */
  require?: SettingName[];
  /** Settings the command reads but never uses (the demo's DATABASE_URL): kept raw, unvalidated. */
  unchecked?: SettingName[];
}

/**
 * Reads the env file (values already in the environment win, as with dotenv), then parses
 * every setting once. All problems are collected so the operator fixes them in one go.
 */
export function loadSettings(opts: LoadOptions): { settings: Settings; envFile: string | null; warnings: string[] } {
  const { env, envFile, warnings } = readEnvFile(opts);
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, d] of Object.entries(SETTINGS) as [SettingName, (typeof SETTINGS)[SettingName]][]) {
    const raw = env[d.env];
    const given = raw !== undefined && raw !== '';
    if (opts.unchecked?.includes(key)) {
      out[key] = given ? raw : '';
      continue;
    }
    if (!given && opts.require?.includes(key)) {
      problems.push(`${d.env} is not set: ${d.help}`);
      continue;
    }
    try {
      out[key] = (d.parse as (s: string) => unknown)(given ? raw : d.default);
    } catch (what) {
      if (typeof what !== 'string') throw what;
      // Unset and not needed by this command (e.g. DATABASE_URL for `config`): leave it empty.
      if (!given && d.default === '') {
        out[key] = '';
        continue;
      }
      problems.push(`${d.env}=${JSON.stringify(shown(d, given ? raw : d.default))} is invalid: expected ${what}`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return { settings: out as Settings, envFile, warnings };
}

/**
 * A rejected value as the error may echo it. A URL setting is masked whole: when dotenv cut its
 * password at '#', no '@' is left to tell where the password ends.
 */
function shown(d: { secretUrl?: boolean }, value: string): string {
  return d.secretUrl ? maskUrl(value) : maskSecrets(value);
}

function readEnvFile(opts: LoadOptions): { env: Env; envFile: string | null; warnings: string[] } {
  const explicit = opts.envFile ?? opts.env.SPANEL_ENV_FILE;
  const source = opts.envFile !== undefined ? '--env-file' : 'SPANEL_ENV_FILE';
  const path = explicit ? resolve(opts.cwd, explicit) : resolve(opts.cwd, '.env');
  if (!existsSync(path)) {
    if (explicit) {
      throw new ConfigError([`env file ${path} (from ${source}) does not exist: fix the path, or create it with "spanel config --example > ${path}"`]);
    }
    return { env: opts.env, envFile: null, warnings: [] };
  }
  const named = explicit ? `env file ${path} (from ${source})` : `env file ${path}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`${named} cannot be read: ${readProblem(err as NodeJS.ErrnoException)}`]);
  }
  const bad = malformedLine(text);
  if (bad) throw new ConfigError([`${named} is malformed: line ${bad.line} is not NAME=value: ${JSON.stringify(maskSecrets(bad.text.slice(0, 60)))}`]);
  const fileVars = parseDotenv(text);
  return { env: { ...fileVars, ...definedOnly(opts.env) }, envFile: path, warnings: envFileWarnings(path, fileVars) };
}

function readProblem(err: NodeJS.ErrnoException): string {
  if (err.code === 'EISDIR') return 'it is a directory, not a file';
  if (err.code === 'EACCES' || err.code === 'EPERM') return 'permission denied (run spanel as a user that may read it, e.g. its owner)';
  return err.message;
}

/**
 * The pattern dotenv itself uses for one assignment (quoted values may span lines). Whatever is
 * left once every assignment, comment and blank is taken away is a line dotenv would silently
 * skip: a typo there would quietly leave a setting at its default, so it is refused instead.
 */
const ASSIGNMENT = /^\s*(?:export\s+)?[\w.-]+(?:\s*=\s*?|:\s+?)(?:\s*'(?:\\'|[^'])*'|\s*"(?:\\"|[^"])*"|\s*`(?:\\`|[^`])*`|[^#\r\n]+)?\s*(?:#.*)?$/gm;

export function malformedLine(text: string): { line: number; text: string } | null {
  if (text.includes('\0')) return { line: 1, text: '(binary data)' };
  const rest = text.replace(/\r\n?/g, '\n').replace(ASSIGNMENT, (m) => m.replace(/[^\n]/g, ''));
  const lines = rest.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (t !== '' && !t.startsWith('#')) return { line: i + 1, text: t };
  }
  return null;
}

function definedOnly(env: Env): Env {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined));
}
