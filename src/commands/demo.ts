import type { CommandContext } from '../cli/context.js';

/**
 * `spanel demo [--keep PATH] [--json]`: every job, a payment confirmation and a referral
 * recovery on an embedded SQLite panel. DATABASE_URL and REDIS_URL are ignored (the command is
 * declared with no required settings), so it runs on a fresh clone with nothing configured.
 */
export const demoHandler = async (ctx: CommandContext, _args: string[], opts: Record<string, unknown>): Promise<number> => {
  const [{ runDemo }, { humanPrinter, jsonPrinter }] = await Promise.all([import('../demo/script.js'), import('../demo/report.js')]);
  const write = (text: string) => void ctx.io.stdout.write(text);
  const out = ctx.opts.json ? jsonPrinter(write) : humanPrinter(write, ctx.chalk);
  return runDemo(ctx, opts.keep === undefined ? undefined : String(opts.keep), out);
};
