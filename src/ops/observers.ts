import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import type { RunObserver } from '../runner/observer.js';
import type { CommandSpec } from '../runner/types.js';
import { metricsObserver, metricsPath } from './metrics.js';
import { pingObserver } from './ping.js';
import { pingTargets } from './ping-targets.js';

/**
 * Observers of real runs configured by the settings: the metrics file and health pings.
 * Only the scheduled jobs get them. Payment confirmations and referral recoveries are one-off
 * commands run by hand: nothing is expected to happen on a schedule, so a "last success" series
 * or a ping check for them would only ever raise false alarms; their record is spanel_run and
 * the money ledger.
 */
export async function createObservers(settings: Settings, log: Logger, spec: CommandSpec): Promise<RunObserver[]> {
  const job = /^job (\S+)$/.exec(spec.command)?.[1];
  if (!job) return [];
  const observers: RunObserver[] = [];
  if (settings.metricsFile) observers.push(metricsObserver({ path: metricsPath(settings.metricsFile, job), job }));
  const url = settings.pingUrl ? pingTargets(settings.pingUrl)[job as keyof ReturnType<typeof pingTargets>] : undefined;
  if (url) observers.push(pingObserver({ url, job, timeoutSeconds: settings.pingTimeout, log }));
  return observers;
}
