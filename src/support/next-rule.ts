import type { Knex } from 'knex';
import type { Settings } from '../config/settings.js';
import type { Dialect } from '../db/dialect.js';
import { deletionRules, matchedRules, type RuleName } from '../jobs/check/deletion-rules.js';
import { money } from '../ledger/money.js';
import type { StepContext } from '../runner/types.js';
import { Clock } from '../time/clock.js';
import { panelLocalToUnix, panelTime } from './format.js';

const DAY = 86_400;

export interface RuleForecast {
  job: 'daily' | 'check';
  rule: string;
  /** What the rule does to the user. */
  action: string;
  /** Unix seconds from which the rule holds (now when it holds already). */
  at: number;
  atPanelLocal: string;
  /** What would stop it. */
  unless: string | null;
  /** The rule's own SQL, run as of `at`, agrees that it holds then. */
  confirmed: boolean;
}

/**
 * Which job rule would act on this user next, and when, if nothing about the user changes.
 * The dates come from the rule thresholds in the settings; each deletion-rule date is then
 * checked by running the check job's own rule (deletionRules/matchedRules) with the clock set
 * to that time, so the forecast cannot silently drift from what the job does.
 */
export async function forecastRules(
  knex: Knex,
  dialect: Dialect,
  settings: Settings,
  now: Date,
  user: Record<string, unknown>,
): Promise<RuleForecast[]> {
  const tz = settings.timezone;
  const nowUnix = Math.floor(now.getTime() / 1000);
  const u = {
    id: Number(user.id),
    admin: Number(user.is_admin ?? 0) !== 0,
    enable: Number(user.enable ?? 0),
    cls: Number(user.class ?? 0),
    money: money(user.money as string),
    t: Number(user.t ?? 0),
    u: Number(user.u ?? 0),
    d: Number(user.d ?? 0),
    checkIn: Number(user.last_check_in_time ?? 0),
    renew: Number(user.renew_time ?? 0),
    classExpire: panelLocalToUnix(String(user.class_expire ?? ''), tz),
    expireIn: panelLocalToUnix(String(user.expire_in ?? ''), tz),
    reg: panelLocalToUnix(String(user.reg_date ?? ''), tz),
  };
  const out: Omit<RuleForecast, 'atPanelLocal' | 'confirmed'>[] = [];
  const at = (t: number) => Math.max(t, nowUnix);
  // A plan that ends first makes the free-account rules possible from then on.
  const freeFrom = u.cls > 0 ? u.classExpire : nowUnix;

  if (u.cls > 0 && u.classExpire !== null) {
    out.push({ job: 'check', rule: 'class expiry', action: `class ${u.cls} ends (class → 0)`, at: at(u.classExpire + 1), unless: 'the plan is renewed' });
  }
  if (u.enable > 0 && u.cls > 0) {
    out.push({ job: 'daily', rule: 'traffic renewal', action: 'traffic period renews (u += d, d = 0, new limit)', at: at(u.renew + 1), unless: null });
  }
  if (u.enable === 1 && u.money.isNegative()) {
    out.push({ job: 'check', rule: 'negative balance', action: 'disabled for a negative balance', at: nowUnix, unless: 'the balance is topped up before the next check run' });
  }
  if (u.id > 10 && !u.admin && u.enable === 1 && u.cls > 0 && u.reg !== null) {
    const regPlusMonth = addMonth(String(user.reg_date), tz);
    const idle = Math.max(u.t + settings.unusedDisableDays * DAY + 1, regPlusMonth ?? 0);
    if (u.classExpire === null || idle < u.classExpire) {
      out.push({ job: 'daily', rule: 'unused accounts', action: `disabled: no traffic for ${settings.unusedDisableDays} days`, at: at(idle), unless: 'they use the service' });
    }
  }
  if (!u.admin) out.push(...deletionForecasts(settings, u, freeFrom, at));

  const confirmed = await confirmDeletions(knex, dialect, settings, u.id, out);
  return out
    .map((f, i) => ({ ...f, atPanelLocal: panelTime(f.at, tz) ?? '-', confirmed: confirmed[i]! }))
    .filter((f) => f.confirmed || !f.rule.startsWith('check rule'))
    .sort((a, b) => a.at - b.at);
}

type Facts = { money: ReturnType<typeof money>; t: number; u: number; d: number; checkIn: number; expireIn: number | null; reg: number | null; cls: number };

function deletionForecasts(s: Settings, u: Facts, freeFrom: number | null, at: (t: number) => number): Omit<RuleForecast, 'atPanelLocal' | 'confirmed'>[] {
  const out: Omit<RuleForecast, 'atPanelLocal' | 'confirmed'>[] = [];
  if (s.accountExpireDeleteDays >= 0 && u.expireIn !== null) {
    const grace = Math.max(s.accountExpireDeleteDays * DAY, u.money.times(30 * DAY).ceil().toNumber());
    out.push({ job: 'check', rule: 'check rule a', action: 'deleted: account expired', at: at(u.expireIn + grace + 1), unless: 'the account is extended or topped up' });
  }
  const free = u.money.lte(s.autoCleanMinMoney) && freeFrom !== null && u.reg !== null;
  if (free && s.autoCleanUncheckDays > 0) {
    const from = Math.max(u.checkIn, u.reg!) + s.autoCleanUncheckDays * DAY + 1;
    out.push({ job: 'check', rule: 'check rule b', action: 'deleted: no check-in', at: at(Math.max(from, freeFrom!)), unless: 'they check in' });
  }
  if (free && s.autoCleanUnusedDays > 0) {
    const from = Math.max(u.t, u.reg!) + s.autoCleanUnusedDays * DAY + 1;
    out.push({ job: 'check', rule: 'check rule c', action: 'deleted: no use', at: at(Math.max(from, freeFrom!)), unless: 'they use the service' });
  }
  if (u.t === 0 && u.u === 0 && u.d === 0 && u.money.lte(1) && freeFrom !== null && u.reg !== null) {
    out.push({ job: 'check', rule: 'check rule d', action: 'deleted: never used', at: at(Math.max(u.reg + 14 * DAY + 1, freeFrom)), unless: 'they use the service' });
  }
  return out;
}

/**
 * Runs the check job's rule SQL for this user with the clock at each forecast time. Rules b–d
 * also need class 0: for a user whose plan is still active that holds only after the plan ends,
 * which the SQL cannot see without writing, so those dates stand as computed.
 */
async function confirmDeletions(knex: Knex, dialect: Dialect, settings: Settings, id: number, out: Omit<RuleForecast, 'atPanelLocal' | 'confirmed'>[]): Promise<boolean[]> {
  const result: boolean[] = [];
  const row: { class: unknown } | undefined = await knex('user').where('id', id).first('class');
  for (const f of out) {
    const name = /^check rule ([a-d])$/.exec(f.rule)?.[1] as RuleName | undefined;
    if (!name) {
      result.push(true);
      continue;
    }
    if (name !== 'a' && Number(row?.class ?? 0) > 0) {
      result.push(true);
      continue;
    }
    const ctx = { trx: knex, db: knex, dialect, settings, clock: new Clock(new Date(f.at * 1000), settings.timezone) } as unknown as StepContext;
    const rule = deletionRules(ctx).find((r) => r.name === name);
    result.push(rule ? (await matchedRules(ctx, [rule], [id])).get(id)!.includes(name) : false);
  }
  return result;
}

/** reg_date + one calendar month (the daily job's "registered before one month ago"). */
function addMonth(wall: string, tz: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})(.*)$/.exec(wall);
  if (!m) return null;
  let y = Number(m[1]);
  let mo = Number(m[2]) + 1;
  if (mo > 12) {
    mo = 1;
    y++;
  }
  const last = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  const d = Math.min(Number(m[3]), last);
  const t = panelLocalToUnix(`${y}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}${m[4]}`, tz);
  return t === null ? null : t + 1;
}
