import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { ConfigError } from '../errors.js';
import { maskSecrets, maskUrl } from '../util/mask.js';
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
export function loadSettings(opts: LoadOptions): { settings: Settings; envFile: string | null } {
  const { env, envFile } = readEnvFile(opts);
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
  return { settings: out as Settings, envFile };
}

/**
 * A rejected value as the error may echo it. A URL setting is masked whole: when dotenv cut its
 * password at '#', no '@' is left to tell where the password ends.
 */
function shown(d: { secretUrl?: boolean }, value: string): string {
  return d.secretUrl ? maskUrl(value) : maskSecrets(value);
}

function readEnvFile(opts: LoadOptions): { env: Env; envFile: string | null } {
  const explicit = opts.envFile ?? opts.env.SPANEL_ENV_FILE;
  const path = explicit ? resolve(opts.cwd, explicit) : resolve(opts.cwd, '.env');
  if (!existsSync(path)) {
    if (explicit) throw new ConfigError([`env file ${path} does not exist (from --env-file or SPANEL_ENV_FILE)`]);
    return { env: opts.env, envFile: null };
  }
  let fileVars: Record<string, string>;
  try {
    fileVars = parseDotenv(readFileSync(path));
  } catch (err) {
    throw new ConfigError([`env file ${path} cannot be read: ${(err as Error).message}`]);
  }
  return { env: { ...fileVars, ...definedOnly(opts.env) }, envFile: path };
}

function definedOnly(env: Env): Env {
  return Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined));
}
