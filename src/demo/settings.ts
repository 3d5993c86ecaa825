import { SETTINGS, type SettingName, type Settings } from '../config/settings.js';
import { DEMO_TIMEZONE } from './time.js';

/** Enough to list every row a job changes in the small demo panel. */
const DEMO_SAMPLE_SIZE = 1000;

/**
 * The demo's settings: the database is the demo's SQLite file and snapshots go to its table
 * (never DATABASE_URL or REDIS_URL). The rule settings are SPEC's defaults, not the environment's,
 * because the seed is built around those thresholds and the output must be the same everywhere;
 * metrics and health pings keep their defaults (off), so a demo never reports to monitoring.
 * Only the log level is taken from the caller.
 */
export function demoSettings(caller: Pick<Settings, 'logLevel'>, databaseUrl: string): Settings {
  const defaults = Object.fromEntries(
    (Object.keys(SETTINGS) as SettingName[])
      .filter((key) => key !== 'databaseUrl')
      .map((key) => [key, (SETTINGS[key].parse as (raw: string) => unknown)(SETTINGS[key].default)]),
  ) as Settings;
  return {
    ...defaults,
    databaseUrl,
    redisUrl: null,
    redisKeyPrefix: '',
    timezone: DEMO_TIMEZONE,
    logLevel: caller.logLevel,
    sampleSize: DEMO_SAMPLE_SIZE,
  };
}
