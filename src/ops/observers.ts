import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import type { RunObserver } from '../runner/observer.js';
import type { CommandSpec } from '../runner/types.js';

/** Observers of real runs configured by the settings (metrics file, health pings). */
export async function createObservers(settings: Settings, log: Logger, spec: CommandSpec): Promise<RunObserver[]> {
  void settings;
  void log;
  void spec;
  return [];
}
