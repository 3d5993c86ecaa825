import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import type { Database } from '../db/connect.js';
import { assertWritable, hostSkewSeconds, type ServerState } from '../db/topology.js';
import type { RunOptions } from './run.js';

/**
 * Before a command's first write: refuses a read-only server or replica (exit 2), warns when this
 * host's clock is off, and takes "now" from the server unless --now was given, so that every host
 * running spanel against the same database acts on the same instant.
 */
export async function onWritableServer(db: Database, settings: Settings, log: Logger, opts: RunOptions): Promise<RunOptions> {
  const state = await assertWritable(db);
  if (!state) return opts;
  warnIfSkewed(log, state, settings.maxClockSkew);
  return opts.nowFromServer ? { ...opts, now: new Date(state.serverNowMs) } : opts;
}

export function warnIfSkewed(log: Logger, state: ServerState, limitSeconds: number): void {
  const skew = hostSkewSeconds(state);
  if (Math.abs(skew) <= limitSeconds) return;
  log.warn(
    { skewSeconds: Number(skew.toFixed(3)), limitSeconds },
    `this host's clock is ${Math.abs(skew).toFixed(1)} s ${skew > 0 ? 'ahead of' : 'behind'} the database server's: jobs use the server's clock, but fix NTP on this host`,
  );
}
