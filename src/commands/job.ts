import type { CommandContext } from '../cli/context.js';
import { jobSpec, type JobName } from '../jobs/registry.js';

/** `spanel job <name>`: the job's steps through the runner (lock, transaction, history, report). */
export const jobHandler =
  (name: JobName) =>
  async (ctx: CommandContext): Promise<number> => {
    const spec = await jobSpec(name, ctx.opts.force ? { force: true } : {});
    return ctx.execute(spec);
  };
