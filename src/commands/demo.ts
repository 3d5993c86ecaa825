import type { CommandContext } from '../cli/context.js';

/**
 * `spanel demo [--keep PATH] [--json]`: every job, a payment confirmation and a referral
 * recovery on an embedded SQLite panel. DATABASE_URL and REDIS_URL are ignored (the command is
 * declared with no required settings), so it runs on a fresh clone with nothing configured.
 */
export const demoHandler = async (ctx: CommandContext, _args: string[], opts: Record<string, unknown>): Promise<number> => {
  const [{ runDemo }, { humanPrinter, jsonPrinter }, { Chalk }] = await Promise.all([
    import('../demo/script.js'),
    import('../demo/report.js'),
    import('chalk'),
  ]);
  const write = (text: string) => void ctx.io.stdout.write(text);
  const out = ctx.opts.json ? jsonPrinter(write) : humanPrinter(write, new Chalk({ level: colourLevel(ctx) }));
  return runDemo(ctx, opts.keep === undefined ? undefined : String(opts.keep), out);
};

/** The CLI's colour rule: only on a terminal, and never with NO_COLOR set. */
function colourLevel(ctx: CommandContext): 0 | 1 {
  const noColor = ctx.io.env.NO_COLOR !== undefined && ctx.io.env.NO_COLOR !== '';
  return !noColor && ctx.io.stdout.isTTY ? 1 : 0;
}
