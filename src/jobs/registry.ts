import type { CommandSpec, Step } from '../runner/types.js';

export type JobName = 'daily' | 'hourly' | 'check' | 'dbclean';

/** What a job is: its ordered steps, and how the runner should run them. */
export interface JobDefinition {
  steps: Step[];
  mode?: CommandSpec['mode'];
  /** Tables the job changes in its transaction (see CommandSpec.writes). */
  writes?: readonly string[];
  services?: CommandSpec['services'];
}

/** Loaded on demand so that one job's modules are not imported to run another. */
const LOADERS: Record<JobName, () => Promise<JobDefinition>> = {
  daily: async () => (await import('./daily/index.js')).dailyJob,
  hourly: async () => (await import('./hourly/index.js')).hourlyJob,
  check: async () => (await import('./check/index.js')).checkJob,
  dbclean: async () => (await import('./dbclean/index.js')).dbcleanJob,
};

export async function jobSpec(name: JobName, args: Record<string, unknown> = {}): Promise<CommandSpec> {
  const def = await LOADERS[name]();
  return { command: `job ${name}`, lockName: `job:${name}`, args, ...def };
}
