import type { CommandContext } from '../cli/context.js';
import { EXIT } from '../errors.js';
import { ARCHIVE_TABLE } from '../jobs/check/archive-users.js';
import { LEDGER_TABLE } from '../ledger/ledger.js';
import { money } from '../ledger/money.js';
import { output, withDatabase } from '../support/database.js';
import { panelTime, plural, table } from '../support/format.js';
import { ledgerEntry, verifyLedger, type LedgerEntry, type UserVerdict } from '../support/ledger-audit.js';
import { checkUserArgument, resolveUser } from '../support/users.js';
import { parseId } from '../util/ids.js';

export interface LedgerExplanation {
  user: number;
  timezone: string;
  /** live, or deleted (the balance is the archived account's). */
  state: 'live' | 'deleted' | 'missing';
  balance: string | null;
  rows: (LedgerEntry & { createdAtPanelLocal: string | null })[];
  /** The current balance equals the last recorded `after` (true when there are no rows and it is 0). */
  consistent: boolean;
  /** When not consistent: the balance changed outside spanel after this time. */
  changedOutsideSince: string | null;
  difference: string | null;
  chainBreaks: UserVerdict['breaks'];
}

/** `spanel ledger <user>`: every balance change spanel made to one user, and whether it still adds up. */
export async function ledgerHandler(ctx: CommandContext, args: string[]): Promise<number> {
  checkUserArgument(args[0]);
  const tz = ctx.settings.timezone;
  const x = await withDatabase(ctx, async (db) => {
    const { id } = await resolveUser(db.knex, args[0]);
    const rows = ((await db.knex(LEDGER_TABLE).where('user_id', id).orderBy('id')) as Record<string, unknown>[]).map(ledgerEntry);
    let verdict: UserVerdict | null = null;
    await verifyLedger(db.knex, { user: id }, (v) => (verdict = v));
    const live: { money: unknown } | undefined = await db.knex('user').where('id', id).first('money');
    const archived: { row_json: string } | undefined = live ? undefined : await db.knex(ARCHIVE_TABLE).where('user_id', id).orderBy('id', 'desc').first('row_json');
    const balance = live ? money(live.money as string) : archived ? money((JSON.parse(archived.row_json) as { money?: string }).money) : null;
    return explain(id, tz, rows, verdict, balance === null ? null : balance.toFixed(2), live ? 'live' : archived ? 'deleted' : 'missing');
  });
  output(ctx, x, () => renderExplanation(x));
  return EXIT.OK;
}

function explain(
  user: number,
  timezone: string,
  rows: LedgerEntry[],
  verdict: UserVerdict | null,
  balance: string | null,
  state: LedgerExplanation['state'],
): LedgerExplanation {
  const last = rows[rows.length - 1];
  const recorded = last?.after ?? '0.00';
  const consistent = balance !== null && money(balance).eq(money(recorded));
  return {
    user,
    timezone,
    state,
    balance,
    rows: rows.map((r) => ({ ...r, createdAtPanelLocal: panelTime(r.createdAt, timezone) })),
    consistent,
    changedOutsideSince: consistent || !last ? null : panelTime(last.createdAt, timezone),
    difference: consistent || balance === null ? null : money(balance).minus(recorded).toFixed(2),
    chainBreaks: (verdict as UserVerdict | null)?.breaks ?? [],
  };
}

function signed(v: string): string {
  return v.startsWith('-') ? v : `+${v}`;
}

function renderExplanation(x: LedgerExplanation): string[] {
  const where = x.state === 'deleted' ? ' (account deleted: balance as archived)' : x.state === 'missing' ? ' (no such user, live or archived)' : '';
  const out = [`user #${x.user}: balance ${x.balance ?? '-'}${where}`];
  if (x.rows.length === 0) out.push('no balance change by spanel is recorded for this user');
  else {
    out.push(
      ...table(
        [`TIME (${x.timezone})`, 'DELTA', 'BEFORE → AFTER', 'REASON', 'REFERENCE', 'RUN', 'OPERATOR'],
        x.rows.map((r) => [r.createdAtPanelLocal ?? '-', signed(r.delta), `${r.before} → ${r.after}`, r.reason, r.reference ?? '-', r.runId === null ? '-' : `#${r.runId}`, r.operator]),
      ),
    );
  }
  for (const b of x.chainBreaks) out.push(`chain broken at ledger row #${b.ledgerId}: before ${b.before}, but the previous row left ${b.expectedBefore} (${signed(b.gap)} changed outside spanel)`);
  if (x.consistent) out.push(x.rows.length ? `OK: the balance equals the last recorded after (${x.rows[x.rows.length - 1]!.after})` : 'OK: balance 0.00 and no ledger rows');
  else if (x.balance !== null && x.changedOutsideSince) out.push(`the balance ${x.balance} differs from the last recorded after ${x.rows[x.rows.length - 1]!.after} by ${signed(x.difference!)}: changed outside spanel since ${x.changedOutsideSince}`);
  else if (x.balance !== null) out.push(`the balance ${x.balance} was never changed by spanel: it was set outside spanel (for example by the panel itself)`);
  return out;
}

/** `spanel ledger verify [--user N]`: exit 0 when every user's chain and balance hold, 1 listing those that differ. */
export async function ledgerVerifyHandler(ctx: CommandContext, _args: string[], opts: Record<string, unknown>): Promise<number> {
  const only = opts.user === undefined ? undefined : parseId(String(opts.user), 'user id');
  const tz = ctx.settings.timezone;
  let users = 0;
  let rows = 0;
  const problems: (UserVerdict & { lastAtPanelLocal: string | null })[] = [];
  await withDatabase(ctx, (db) =>
    verifyLedger(db.knex, only === undefined ? {} : { user: only }, (v) => {
      users++;
      rows += v.rows;
      if (!v.ok) problems.push({ ...v, lastAtPanelLocal: panelTime(v.lastAt, tz) });
    }),
  );
  const ok = problems.length === 0;
  output(ctx, { ok, users, rows, timezone: tz, problems }, () => {
    const head = `checked ${plural(users, 'user')} and ${plural(rows, 'ledger row')}`;
    if (ok) return [`${head}: OK, every chain is continuous and every latest after equals the balance`];
    const out = [`${head}: ${plural(problems.length, 'user')} differ${problems.length === 1 ? 's' : ''}`];
    for (const p of problems) {
      if (p.state === 'missing') out.push(`  user #${p.user}: no user row and no archive row (last recorded after ${p.lastAfter} on ${p.lastAtPanelLocal})`);
      else if (p.difference !== null) {
        const what = p.state === 'deleted' ? 'archived balance' : 'balance';
        out.push(`  user #${p.user}: ${what} ${p.balance}, last recorded after ${p.lastAfter}: differs by ${signed(p.difference)} (changed outside spanel since ${p.lastAtPanelLocal})`);
      }
      for (const b of p.breaks) out.push(`  user #${p.user}: ledger row #${b.ledgerId} starts at ${b.before}, the previous row left ${b.expectedBefore}: gap ${signed(b.gap)}`);
      for (const id of p.badDeltas) out.push(`  user #${p.user}: ledger row #${id}: delta is not after − before`);
    }
    return out;
  });
  return ok ? EXIT.OK : EXIT.FAILED;
}
