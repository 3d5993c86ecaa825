import type { CommandContext } from '../cli/context.js';
import { EXIT, UsageError } from '../errors.js';
import { LEDGER_TABLE } from '../ledger/ledger.js';
import { ORDER_EXPIRED, ORDER_PAID, ORDER_UNPAID, orderReference } from '../payments/state.js';
import { output, withDatabase } from '../support/database.js';
import { moneyText, panelTime, parseLimit, parseSince, table } from '../support/format.js';
import { checkUserArgument, resolveUser } from '../support/users.js';

const STATUS: Record<string, number> = { unpaid: ORDER_UNPAID, paid: ORDER_PAID, expired: ORDER_EXPIRED };
const STATUS_NAME = new Map(Object.entries(STATUS).map(([k, v]) => [v, k]));

export interface OrderItem {
  id: number;
  user: number;
  email: string | null;
  total: string;
  status: string;
  tradeno: string | null;
  datetime: number;
  createdPanelLocal: string | null;
  /** When spanel confirmed it: the run and operator (from the money ledger). */
  confirmedBy: { runId: number | null; operator: string; atPanelLocal: string | null } | null;
  /** What support can do with it. */
  hint: string;
}

/** `spanel payment list`: find the order a customer is talking about before confirming it. */
export async function paymentListHandler(ctx: CommandContext, _args: string[], opts: Record<string, unknown>): Promise<number> {
  if (opts.user !== undefined) checkUserArgument(String(opts.user));
  const status = parseStatus(opts.status);
  const tz = ctx.settings.timezone;
  const since = parseSince(opts.since, ctx.runOptions.now, tz);
  const limit = parseLimit(opts.limit, 50);
  const orders = await withDatabase(ctx, async (db) => {
    const q = db.knex({ p: 'paylist' }).leftJoin({ u: 'user' }, 'u.id', 'p.userid').select('p.*', { email: 'u.email' }).orderBy('p.id', 'desc').limit(limit);
    if (opts.user !== undefined) q.where('p.userid', (await resolveUser(db.knex, String(opts.user))).id);
    if (status !== null) q.where('p.status', status);
    if (since !== null) q.where('p.datetime', '>=', since);
    const rows: Record<string, unknown>[] = await q;
    const refs = rows.map((r) => orderReference(Number(r.id)));
    const ledger: Record<string, unknown>[] = refs.length
      ? await db.knex(LEDGER_TABLE).whereIn('reference', refs).where('reason', 'payment').orderBy('id')
      : [];
    const byRef = new Map(ledger.map((l) => [String(l.reference), l]));
    return rows.map((r) => orderItem(r, byRef.get(orderReference(Number(r.id))), tz));
  });
  output(ctx, { timezone: tz, orders }, () => {
    if (orders.length === 0) return ['no orders match'];
    return table(
      ['ORDER', 'USER', 'TOTAL', 'STATUS', `CREATED (${tz})`, 'TRADENO', 'NOTE'],
      orders.map((o) => [`#${o.id}`, `#${o.user}${o.email ? ` ${o.email}` : ' (deleted)'}`, o.total, o.status, o.createdPanelLocal ?? '-', o.tradeno ?? '-', o.hint]),
    );
  });
  return EXIT.OK;
}

function orderItem(r: Record<string, unknown>, credit: Record<string, unknown> | undefined, tz: string): OrderItem {
  const id = Number(r.id);
  const code = Number(r.status);
  const status = STATUS_NAME.get(code) ?? `status ${code}`;
  const confirmedBy = credit
    ? { runId: credit.run_id === null ? null : Number(credit.run_id), operator: String(credit.operator), atPanelLocal: panelTime(Number(credit.created_at), tz) }
    : null;
  const hint =
    code === ORDER_UNPAID ? `confirm: spanel payment confirm ${id}`
    : code === ORDER_EXPIRED ? `expired; if paid: spanel payment confirm ${id} --allow-expired`
    : confirmedBy ? `confirmed by ${confirmedBy.operator} (run #${confirmedBy.runId ?? '-'}) ${confirmedBy.atPanelLocal ?? ''}`.trimEnd()
    : code === ORDER_PAID ? 'paid by the panel'
    : '';
  return {
    id,
    user: Number(r.userid),
    email: (r.email as string | null) ?? null,
    total: moneyText(r.total),
    status,
    tradeno: (r.tradeno as string | null) ?? null,
    datetime: Number(r.datetime),
    createdPanelLocal: panelTime(Number(r.datetime), tz),
    confirmedBy,
    hint,
  };
}

function parseStatus(raw: unknown): number | null {
  if (raw === undefined) return null;
  const v = String(raw).trim().toLowerCase();
  if (!(v in STATUS)) throw new UsageError(`invalid --status ${JSON.stringify(String(raw))}: expected unpaid, paid or expired`);
  return STATUS[v]!;
}
