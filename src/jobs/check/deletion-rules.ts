import type { Knex } from 'knex';
import type { StepContext } from '../../runner/types.js';

type Where = (qb: Knex.QueryBuilder) => void;

export type RuleName = 'a' | 'b' | 'c' | 'd';

export interface DeletionRule {
  name: RuleName;
  where: Where;
}

const DAY = 86_400;
/** Rule a: each unit of balance buys this much grace after expiry. */
const GRACE_PER_MONEY_UNIT = 30 * DAY;
/** Rule d: a never-used account goes this many days after registration. */
const NEVER_USED_DAYS = 14;
const NEVER_USED_MAX_MONEY = '1';

/**
 * SPEC §3 check step 3 rules a–d, the enabled ones only. "max(x, reg_date) + N days < now" is
 * written as "x < now − N days AND reg_date < now − N days" so each side stays a plain indexed
 * comparison: Unix columns against `clock.unix`, DATETIME columns against panel-local strings.
 */
export function deletionRules(ctx: StepContext): DeletionRule[] {
  const { settings: s, clock } = ctx;
  const rules: DeletionRule[] = [];
  if (s.accountExpireDeleteDays >= 0) {
    const days = s.accountExpireDeleteDays;
    rules.push({
      name: 'a',
      where: (qb) =>
        qb
          .where('expire_in', '<', clock.panelLocal(-days * DAY))
          // now − expire_in > money × 30 days, as expire_in < now − money × 30 days.
          .whereRaw(`?? < ${ctx.dialect.datetimeMinusSeconds('?', '?? * ?')}`, ['expire_in', clock.panelLocal(), 'money', GRACE_PER_MONEY_UNIT]),
    });
  }
  if (s.autoCleanUncheckDays > 0) rules.push({ name: 'b', where: idleFreeAccount(ctx, 'last_check_in_time', s.autoCleanUncheckDays) });
  if (s.autoCleanUnusedDays > 0) rules.push({ name: 'c', where: idleFreeAccount(ctx, 't', s.autoCleanUnusedDays) });
  rules.push({
    name: 'd',
    where: (qb) =>
      qb
        .where({ t: 0, u: 0, d: 0, class: 0 })
        .where('reg_date', '<', clock.panelLocal(-NEVER_USED_DAYS * DAY))
        .where('money', '<=', NEVER_USED_MAX_MONEY),
  });
  return rules;
}

/**
 * Rules b and c: a free account (class 0, money ≤ AUTO_CLEAN_MIN_MONEY) whose Unix-second
 * `activity` column and reg_date are both more than `days` days old.
 */
function idleFreeAccount(ctx: StepContext, activity: 'last_check_in_time' | 't', days: number): Where {
  const { clock, settings } = ctx;
  // A NULL activity time means "never" (the PHP panel reads it as 0); a NULL reg_date matches
  // nothing, so an account whose age is unknown is never deleted for being old.
  return (qb) =>
    qb
      .where((never) => never.where(activity, '<', clock.unix - days * DAY).orWhereNull(activity))
      .where('reg_date', '<', clock.panelLocal(-days * DAY))
      .where('class', 0)
      .where('money', '<=', settings.autoCleanMinMoney);
}

/** A user the check job deletes: never an admin, and at least one enabled rule holds. */
export function candidateWhere(rules: DeletionRule[]): Where {
  return (qb) =>
    qb.where('is_admin', 0).where((any) => {
      for (const rule of rules) any.orWhere(rule.where);
    });
}

/** Which rules each of `ids` matched: one query per enabled rule over the whole batch. */
export async function matchedRules(ctx: StepContext, rules: DeletionRule[], ids: number[]): Promise<Map<number, RuleName[]>> {
  const matched = new Map<number, RuleName[]>(ids.map((id) => [id, []]));
  for (const rule of rules) {
    const rows: { id: unknown }[] = await ctx.trx('user').select('id').whereIn('id', ids).where(rule.where);
    for (const r of rows) matched.get(Number(r.id))?.push(rule.name);
  }
  return matched;
}
