import type { BatchedSpec, CommandSpec, StepPlan, TransactionSpec } from '../runner/types.js';

export type JobName = 'daily' | 'hourly' | 'check' | 'dbclean';

/** What a job is: its ordered steps, and how the runner should run them. */
export type JobDefinition = StepPlan & {
  services?: CommandSpec['services'];
  /** Tables the job changes in its transaction (see CommandSpec.writes). */
  writes?: readonly string[];
};

/** Loaded on demand so that one job's modules are not imported to run another. */
const LOADERS: Record<JobName, () => Promise<JobDefinition>> = {
  daily: async () => (await import('./daily/index.js')).dailyJob,
  hourly: async () => (await import('./hourly/index.js')).hourlyJob,
  check: async () => (await import('./check/index.js')).checkJob,
  dbclean: async () => (await import('./dbclean/index.js')).dbcleanJob,
};

/** dbclean commits in batches; every other job is one transaction. */
export async function jobSpec(name: 'dbclean', args?: Record<string, unknown>): Promise<BatchedSpec>;
export async function jobSpec(name: Exclude<JobName, 'dbclean'>, args?: Record<string, unknown>): Promise<TransactionSpec>;
export async function jobSpec(name: JobName, args?: Record<string, unknown>): Promise<CommandSpec>;
export async function jobSpec(name: JobName, args: Record<string, unknown> = {}): Promise<CommandSpec> {
  const def = await LOADERS[name]();
  return { command: `job ${name}`, lockName: `job:${name}`, args, ...def };
}
