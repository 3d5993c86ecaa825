import type { CommandContext } from '../cli/context.js';
import { recoverSpec } from '../referrals/recover-spec.js';
import { parseId } from '../util/ids.js';
import { parseOperator } from '../ledger/operator.js';

/** `spanel referral recover <user>`: input is validated before any connection is opened. */
export const recoverHandler = async (ctx: CommandContext, args: string[], opts: Record<string, unknown>): Promise<number> => {
  const user = parseId(args[0], 'user id');
  parseOperator(opts.operator);
  return ctx.execute(recoverSpec(user));
};
