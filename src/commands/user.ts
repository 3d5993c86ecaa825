import type { Knex } from 'knex';
import { restoreSpec } from '../archive/restore.js';
import type { CommandContext } from '../cli/context.js';
import { EXIT, UsageError } from '../errors.js';
import { ARCHIVE_TABLE } from '../jobs/check/archive-users.js';
import { parseOperator } from '../ledger/operator.js';
import { REWARD, RECOVERED } from '../referrals/recover-rewards.js';
import { RUN_CHANGE_TABLE } from '../runner/change-sample.js';
import { RUN_TABLE } from '../runner/history.js';
import { output, withDatabase } from '../support/database.js';
import { moneyText, panelTime, table } from '../support/format.js';
import { forecastRules, type RuleForecast } from '../support/next-rule.js';
import { checkUserArgument, resolveUser } from '../support/users.js';
import { parseId } from '../util/ids.js';

const GiB = 1024 ** 3;
const RECENT = 5;
const REFERRED_SHOWN = 10;

export interface UserProfile {
  id: number;
  timezone: string;
  now: string;
  state: 'live' | 'deleted';
  email: string;
  balance: string;
  class: number;
  classExpire: string | null;
  expireIn: string | null;
  regDate: string | null;
  enabled: boolean;
  admin: boolean;
  warning: string | null;
  traffic: { usedBytes: number; limitBytes: number; used: string; limit: string; lastUsed: string | null };
  renewTime: string | null;
  lastCheckIn: string | null;
  referrer: { id: number; email: string | null } | null;
  referred: { count: number; users: { id: number; email: string }[] };
  rewards: {
    /** Rewards and commissions this user received as a referrer. */
    received: { registration: number; commission: number; total: string; recovered: number; recoveredTotal: string };
    /** The registration reward paid to this user's referrer, and whether it was recovered. */
    forThisUser: { payback: number; referrer: number; amount: string; recovered: boolean }[];
  };
  orders: { id: number; total: string; status: number; created: string | null; tradeno: string | null }[];
  recentRuns: { run: number; command: string; at: string | null; action: string; before: unknown; after: unknown }[];
  archive: { id: number; deletedAt: string | null; reason: string; runId: number | null; restoredAt: string | null } | null;
  next: RuleForecast | null;
  forecasts: RuleForecast[];
}

/** `spanel user show <id|email>`: what support needs about one user, on one screen. */
export async function userShowHandler(ctx: CommandContext, args: string[]): Promise<number> {
  checkUserArgument(args[0]);
  const tz = ctx.settings.timezone;
  const now = ctx.runOptions.now;
  const profile = await withDatabase(ctx, async (db) => {
    const { id, exists } = await resolveUser(db.knex, args[0]);
    const archive = await latestArchive(db.knex, id);
    let row: Record<string, unknown> | undefined = exists ? await db.knex('user').where('id', id).first() : undefined;
    if (!row && archive) row = JSON.parse(archive.row_json) as Record<string, unknown>;
    if (!row) throw new UsageError(`user #${id} does not exist and is not in the archive`);
    const forecasts = exists ? await forecastRules(db.knex, db.dialect, ctx.settings, now, row) : [];
    return build(db.knex, row, exists, archive, forecasts, tz, now);
  });
  output(ctx, profile, () => render(profile));
  return EXIT.OK;
}

async function latestArchive(knex: Knex, id: number): Promise<Record<string, any> | undefined> {
  return knex(ARCHIVE_TABLE).where('user_id', id).orderBy('id', 'desc').first();
}

async function build(
  knex: Knex,
  row: Record<string, unknown>,
  live: boolean,
  archive: Record<string, any> | undefined,
  forecasts: RuleForecast[],
  tz: string,
  now: Date,
): Promise<UserProfile> {
  const id = Number(row.id);
  const refBy = Number(row.ref_by ?? 0);
  const referrerRow: { email: string } | undefined = refBy ? await knex('user').where('id', refBy).first('email') : undefined;
  const referredCount = Number((await knex('user').where('ref_by', id).count({ n: '*' }).first())?.n ?? 0);
  const referred: { id: unknown; email: string }[] = await knex('user').select('id', 'email').where('ref_by', id).orderBy('id').limit(REFERRED_SHOWN);
  const used = Number(row.u ?? 0) + Number(row.d ?? 0);
  const limit = Number(row.transfer_enable ?? 0);
  return {
    id,
    timezone: tz,
    now: now.toISOString(),
    state: live ? 'live' : 'deleted',
    email: String(row.email ?? ''),
    balance: moneyText(row.money),
    class: Number(row.class ?? 0),
    classExpire: (row.class_expire as string | null) ?? null,
    expireIn: (row.expire_in as string | null) ?? null,
    regDate: (row.reg_date as string | null) ?? null,
    enabled: Number(row.enable ?? 0) > 0,
    admin: Number(row.is_admin ?? 0) !== 0,
    warning: (row.warming as string | null) ?? null,
    traffic: { usedBytes: used, limitBytes: limit, used: gib(used), limit: gib(limit), lastUsed: panelTime(Number(row.t ?? 0), tz) },
    renewTime: panelTime(Number(row.renew_time ?? 0), tz),
    lastCheckIn: panelTime(Number(row.last_check_in_time ?? 0), tz),
    referrer: refBy ? { id: refBy, email: referrerRow?.email ?? null } : null,
    referred: { count: referredCount, users: referred.map((r) => ({ id: Number(r.id), email: r.email })) },
    rewards: await rewards(knex, id),
    orders: await orders(knex, id, tz),
    recentRuns: await recentRuns(knex, id, tz),
    archive: archive
      ? {
          id: Number(archive.id),
          deletedAt: panelTime(Number(archive.deleted_at), tz),
          reason: String(archive.reason),
          runId: archive.run_id === null ? null : Number(archive.run_id),
          restoredAt: archive.restored_at === null || archive.restored_at === undefined ? null : panelTime(Number(archive.restored_at), tz),
        }
      : null,
    next: forecasts.find((f) => f.rule !== 'traffic renewal') ?? null,
    forecasts,
  };
}

const gib = (bytes: number): string => `${(bytes / GiB).toFixed(2)} GiB`;

async function rewards(knex: Knex, id: number): Promise<UserProfile['rewards']> {
  const got: { total: unknown; ref_get: unknown; callback: unknown }[] = await knex('payback').select('total', 'ref_get', 'callback').where('ref_by', id);
  let total = 0;
  let recoveredTotal = 0;
  let registration = 0;
  let commission = 0;
  let recovered = 0;
  for (const p of got) {
    const t = Number(p.total);
    const amount = Number(p.ref_get);
    if (t === RECOVERED) {
      recovered++;
      recoveredTotal += -amount;
    } else {
      if (t === REWARD) registration++;
      else commission++;
      total += amount;
    }
  }
  const mine: { id: unknown; ref_by: unknown; ref_get: unknown; callback: unknown }[] = await knex('payback')
    .select('id', 'ref_by', 'ref_get', 'callback')
    .where({ userid: id, total: REWARD })
    .orderBy('id');
  return {
    received: { registration, commission, total: moneyText(total.toFixed(2)), recovered, recoveredTotal: moneyText(recoveredTotal.toFixed(2)) },
    forThisUser: mine.map((p) => ({ payback: Number(p.id), referrer: Number(p.ref_by), amount: moneyText(p.ref_get), recovered: Number(p.callback) === 1 })),
  };
}

async function orders(knex: Knex, id: number, tz: string): Promise<UserProfile['orders']> {
  const rows: Record<string, unknown>[] = await knex('paylist').where('userid', id).orderBy('id', 'desc').limit(RECENT);
  return rows.map((o) => ({ id: Number(o.id), total: moneyText(o.total), status: Number(o.status), created: panelTime(Number(o.datetime), tz), tradeno: (o.tradeno as string | null) ?? null }));
}

/** The last runs that changed this user's row, from the samples kept with each run. */
async function recentRuns(knex: Knex, id: number, tz: string): Promise<UserProfile['recentRuns']> {
  if (!(await knex.schema.hasTable(RUN_CHANGE_TABLE))) return [];
  const rows: Record<string, unknown>[] = await knex({ c: RUN_CHANGE_TABLE })
    .join({ r: RUN_TABLE }, 'r.id', 'c.run_id')
    .select('c.run_id', 'c.action', 'c.before_json', 'c.after_json', 'r.command', 'r.now_at')
    .where({ 'c.table_name': 'user', 'c.row_id': String(id) })
    .orderBy('c.id', 'desc')
    .limit(RECENT);
  return rows.map((r) => ({
    run: Number(r.run_id),
    command: String(r.command),
    at: panelTime(Math.floor(Number(r.now_at) / 1000), tz),
    action: String(r.action),
    before: r.before_json ? JSON.parse(String(r.before_json)) : null,
    after: r.after_json ? JSON.parse(String(r.after_json)) : null,
  }));
}

const ORDER_STATUS: Record<number, string> = { 0: 'unpaid', 1: 'paid', [-1]: 'expired' };

function render(p: UserProfile): string[] {
  const tz = p.timezone;
  const out: string[] = [];
  const head = `user #${p.id} ${p.email}${p.admin ? ' (admin)' : ''}`;
  if (p.state === 'deleted') {
    out.push(`${head}: DELETED on ${p.archive?.deletedAt ?? '?'} (${p.archive?.reason ?? '?'}, run #${p.archive?.runId ?? '-'}); values as archived`);
    out.push(p.archive?.restoredAt ? `  restored on ${p.archive.restoredAt}, but the id is not in use now` : `  restore it with: spanel user restore ${p.id} --dry-run`);
  } else out.push(head);
  out.push(`  balance     ${p.balance}`);
  out.push(`  plan        class ${p.class}${p.class > 0 ? `, until ${p.classExpire} (${tz})` : ''}; account expires ${p.expireIn}`);
  out.push(`  state       ${p.enabled ? 'enabled' : 'DISABLED'}${p.warning ? `: ${p.warning}` : ''}`);
  out.push(`  traffic     ${p.traffic.used} of ${p.traffic.limit} used; last used ${p.traffic.lastUsed ?? 'never'}`);
  out.push(`  renews      ${p.renewTime ?? 'never'}; last check-in ${p.lastCheckIn ?? 'never'}; registered ${p.regDate}`);
  out.push(`  referrer    ${p.referrer ? `#${p.referrer.id} ${p.referrer.email ?? '(deleted)'}` : 'none'}`);
  const more = p.referred.count - p.referred.users.length;
  out.push(`  referred    ${p.referred.count === 0 ? 'nobody' : p.referred.users.map((u) => `#${u.id} ${u.email}`).join(', ') + (more > 0 ? ` … and ${more} more` : '')}`);
  const r = p.rewards.received;
  out.push(`  rewards     received ${r.total} (${r.registration} registration, ${r.commission} commission); ${r.recovered} recovered from them (${r.recoveredTotal})`);
  for (const f of p.rewards.forThisUser) out.push(`              for this user's registration: #${f.referrer} got ${f.amount} (payback #${f.payback}${f.recovered ? ', recovered' : ''})`);
  if (p.orders.length === 0) out.push('  orders      none');
  else {
    out.push('  orders');
    out.push(...table(['ORDER', 'TOTAL', 'STATUS', `CREATED (${tz})`, 'TRADENO'], p.orders.map((o) => [`#${o.id}`, o.total, ORDER_STATUS[o.status] ?? String(o.status), o.created ?? '-', o.tradeno ?? '-'])).map((l) => `    ${l}`));
  }
  if (p.recentRuns.length) {
    out.push('  changed by');
    for (const c of p.recentRuns) out.push(`    run #${c.run} ${c.command} at ${c.at ?? '-'}: ${describeChange(c)}`);
  }
  if (p.state === 'live') {
    if (p.next) out.push(`  next        ${forecastText(p.next)}`);
    else out.push('  next        no job rule will act on this user while nothing changes');
    for (const f of p.forecasts.filter((f) => f !== p.next)) out.push(`              then: ${forecastText(f)}`);
  }
  return out;
}

function describeChange(c: UserProfile['recentRuns'][number]): string {
  if (c.action !== 'update') return c.action === 'delete' ? 'deleted' : 'inserted';
  const b = (c.before ?? {}) as Record<string, unknown>;
  const a = (c.after ?? {}) as Record<string, unknown>;
  return Object.keys(a).map((k) => `${k} ${JSON.stringify(b[k])} → ${JSON.stringify(a[k])}`).join(', ') || 'unchanged';
}

function forecastText(f: RuleForecast): string {
  const by = f.rule.startsWith('check rule') ? `by ${f.rule}` : `by job ${f.job} (${f.rule})`;
  return `${f.action} ${by} on ${f.atPanelLocal}${f.unless ? ` unless ${f.unless}` : ''}`;
}

/** `spanel user restore <id>`: through the runner, so it gets a history row, a dry run and the ledger. */
export async function userRestoreHandler(ctx: CommandContext, args: string[], opts: Record<string, unknown>): Promise<number> {
  const id = parseId(args[0], 'user id');
  parseOperator(opts.operator);
  return ctx.execute(restoreSpec(id, { withReward: Boolean(opts.withReward) }));
}
