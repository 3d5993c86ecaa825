import type { CommandSpec, RunResult } from './types.js';

/**
 * Something told about every real run (never a dry run): metrics files, health pings.
 * An observer's failure is logged and never changes the run's outcome.
 */
export interface RunObserver {
  name: string;
  onStart?(spec: CommandSpec): Promise<void>;
  onFinish?(result: RunResult): Promise<void>;
}
