import type { CommandContext } from '../cli/context.js';
import { UsageError } from '../errors.js';
import { confirmSpec } from '../payments/confirm.js';
import { parseId } from '../util/ids.js';
import { parseOperator } from '../ledger/operator.js';

/** `spanel payment confirm <order>`: input is validated before any connection is opened. */
export const confirmHandler = async (ctx: CommandContext, args: string[], opts: Record<string, unknown>): Promise<number> => {
  const order = parseId(args[0], 'order id');
  parseOperator(opts.operator);
  const tradeno = parseTradeno(opts.tradeno);
  return ctx.execute(confirmSpec(order, { tradeno, allowExpired: Boolean(opts.allowExpired) }));
};

function parseTradeno(raw: unknown): string | null {
  if (raw === undefined) return null;
  const v = String(raw).trim();
  if (v === '' || v.length > 255) throw new UsageError(`invalid --tradeno ${JSON.stringify(String(raw))}: expected the gateway's transaction number, 1 to 255 characters`);
  return v;
}
