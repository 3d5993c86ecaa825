import { SpanelError, EXIT } from '../errors.js';
import { ARCHIVED_ROW_TABLE } from '../jobs/check/archive-dependents.js';
import { ARCHIVE_TABLE } from '../jobs/check/archive-users.js';
import { DEPENDENT_TABLES } from '../jobs/check/delete-archived.js';
import { LEDGER_TABLE, recordMoneyChange } from '../ledger/ledger.js';
import { formatMoney, money } from '../ledger/money.js';
import { normaliseValue } from '../runner/changes.js';
import type { CommandSpec, RowChange, Step, StepContext } from '../runner/types.js';
import { forecastRules } from '../support/next-rule.js';
import { takeBackRecoveries } from './reward.js';

/** Refusals of a restore are invalid input: exit 2, nothing changed. */
export class RestoreRefused extends SpanelError {
  constructor(message: string) {
    super(message, EXIT.USAGE);
  }
}

interface RestoreState {
  archive: { id: number; runId: number | null; deletedAt: number; reason: string; row: Record<string, unknown> } | null;
}

/** Rows per INSERT when putting dependent rows back. */
const INSERT_CHUNK = 200;

/**
 * `spanel user restore <id>`: the user's latest archive row and the dependent rows archived with
 * it go back in one transaction, through the runner (history, dry run, ledger). The ledger notes
 * the restored balance (0.00 → the archived balance, reason "restore"). A registration reward
 * recovered when the user was deleted stays recovered unless `withReward`.
 */
export function restoreSpec(userId: number, opts: { withReward: boolean }): CommandSpec {
  const state: RestoreState = { archive: null };
  const steps: Step[] = [restoreUser(userId, state), restoreRows(userId, state)];
  steps.push(opts.withReward ? restoreReward(userId, state) : keepRecovery(userId, state));
  return {
    command: 'user restore',
    lockName: null,
    steps,
    args: { user: userId, ...(opts.withReward ? { withReward: true } : {}) },
    reset: () => void (state.archive = null),
  };
}

function restoreUser(userId: number, state: RestoreState): Step {
  return {
    name: 'restore-user',
    title: 'Restore the user row',
    async run(ctx) {
      const rows: Record<string, unknown>[] = await ctx.dialect.forUpdate(
        ctx.trx(ARCHIVE_TABLE).select('*').where('user_id', userId).orderBy('id', 'desc').limit(1),
      );
      const a = rows[0];
      if (!a) throw new RestoreRefused(`user #${userId} is not in the archive: nothing to restore`);
      if (a.restored_at !== null && a.restored_at !== undefined) {
        const by = a.restored_run_id ? ` by run #${Number(a.restored_run_id)}` : '';
        throw new RestoreRefused(`user #${userId} was already restored from archive row #${Number(a.id)}${by}: nothing to do (see \`spanel user show ${userId}\`)`);
      }
      const row = JSON.parse(String(a.row_json)) as Record<string, unknown>;
      if (await ctx.trx('user').where('id', userId).first('id')) {
        throw new RestoreRefused(`user id #${userId} is in use again: the archived account cannot be restored over it`);
      }
      const email = String(row.email ?? '');
      const clash: { id: unknown } | undefined = email ? await ctx.trx('user').where('email', email).first('id') : undefined;
      if (clash) throw new RestoreRefused(`the email ${email} of archived user #${userId} is in use again by user #${Number(clash.id)}: not restored`);

      state.archive = { id: Number(a.id), runId: a.run_id === null ? null : Number(a.run_id), deletedAt: Number(a.deleted_at), reason: String(a.reason), row };
      const values = await onlyExistingColumns(ctx, 'user', row);
      await ctx.trx('user').insert(values);
      const balance = money(row.money as string);
      await recordMoneyChange(ctx, { userId, before: 0, after: balance, reason: 'restore', reference: `archive:${state.archive.id}` });
      await ctx.trx(ARCHIVE_TABLE).where('id', state.archive.id).update({ restored_at: ctx.clock.unix, restored_run_id: ctx.runId });
      const again = await deletedAgain(ctx, userId);
      return {
        count: 1,
        counts: { user: 1, [ARCHIVE_TABLE]: 1 },
        changes: [
          { table: 'user', id: userId, action: 'insert', after: pick(values, ['email', 'money', 'class', 'class_expire', 'expire_in', 'enable', 'ref_by']) },
          { table: ARCHIVE_TABLE, id: state.archive.id, action: 'update', before: { restored_at: null }, after: { restored_at: ctx.clock.unix } },
        ],
        notes: [
          `user #${userId} (${email || 'no email'}) restored from archive row #${state.archive.id} (deleted by ${state.archive.reason}); balance ${formatMoney(balance)} noted in the ledger`,
          ...again,
        ],
        data: { user: userId, archive: state.archive.id, email, balance: formatMoney(balance), deletedByRun: state.archive.runId },
      };
    },
  };
}

function restoreRows(userId: number, state: RestoreState): Step {
  return {
    name: 'restore-rows',
    title: 'Restore the dependent rows',
    async run(ctx) {
      const archiveId = state.archive!.id;
      const archived: { id: unknown; table_name: string; row_json: string }[] = await ctx
        .trx(ARCHIVED_ROW_TABLE)
        .select('id', 'table_name', 'row_json')
        .where('archive_id', archiveId)
        .orderBy('id');
      const byTable = new Map<string, Record<string, unknown>[]>();
      for (const r of archived) byTable.set(r.table_name, [...(byTable.get(r.table_name) ?? []), JSON.parse(r.row_json) as Record<string, unknown>]);
      const known = DEPENDENT_TABLES.map((d) => d.table);
      const present = ctx.tables;
      const counts: Record<string, number> = {};
      const changes: RowChange[] = [];
      const skipped: string[] = [];
      for (const [table, rows] of byTable) {
        if (!present.has(table) || !known.includes(table)) {
          skipped.push(table);
          continue;
        }
        await refuseTakenIds(ctx, table, rows, userId);
        const values = await Promise.all(rows.map((r) => onlyExistingColumns(ctx, table, r)));
        for (let i = 0; i < values.length; i += INSERT_CHUNK) await ctx.trx(table).insert(values.slice(i, i + INSERT_CHUNK));
        counts[table] = values.length;
        for (const v of values.slice(0, ctx.sampleSize)) changes.push({ table, id: (v.id as number) ?? '-', action: 'insert', after: normalised(v) });
      }
      const count = Object.values(counts).reduce((a, b) => a + b, 0);
      const notes = archived.length === 0 ? [`no dependent rows were archived with user #${userId}`] : [];
      if (skipped.length) notes.push(`rows of tables this database no longer has were left in the archive: ${skipped.join(', ')}`);
      return { count, counts, changes, notes, ...(skipped.length ? { skipped } : {}) };
    },
  };
}

/**
 * An account restored exactly as it was still matches the rule that deleted it: say so, with
 * what would stop the next check run from deleting it again.
 */
async function deletedAgain(ctx: StepContext, userId: number): Promise<string[]> {
  const row: Record<string, unknown> | undefined = await ctx.trx('user').where('id', userId).first();
  if (!row) return [];
  const soon = (await forecastRules(ctx.trx, ctx.dialect, ctx.settings, ctx.clock.date, row)).filter(
    (f) => f.rule.startsWith('check rule') && f.at <= ctx.clock.unix,
  );
  return soon.map((f) => `warning: ${f.rule} deletes user #${userId} again at the next check run unless ${f.unless ?? 'its values change'}`);
}

/** A dependent row whose id the panel has given to a new row cannot go back: refused, nothing changes. */
async function refuseTakenIds(ctx: StepContext, table: string, rows: Record<string, unknown>[], userId: number): Promise<void> {
  const ids = rows.map((r) => r.id).filter((id) => id !== undefined && id !== null) as (string | number)[];
  if (ids.length === 0) return;
  for (let i = 0; i < ids.length; i += 500) {
    const taken: { id: unknown } | undefined = await ctx.trx(table).whereIn('id', ids.slice(i, i + 500)).first('id');
    if (taken) throw new RestoreRefused(`${table} row #${String(taken.id)} archived with user #${userId} is in use again: not restored`);
  }
}

function restoreReward(userId: number, state: RestoreState): Step {
  return {
    name: 'restore-reward',
    title: 'Take back the reward recovery',
    async run(ctx) {
      return takeBackRecoveries(ctx, userId, state.archive!.runId);
    },
  };
}

function keepRecovery(userId: number, state: RestoreState): Step {
  return {
    name: 'reward',
    title: 'Registration reward',
    async run(ctx) {
      const n = state.archive!.runId === null ? 0 : (await recoveriesAtDeletion(ctx, userId, state.archive!.runId)).length;
      const note = n > 0
        ? `the registration reward recovered when user #${userId} was deleted stays recovered (--with-reward takes the recovery back)`
        : `no registration reward of user #${userId} was recovered when it was deleted`;
      return { count: 0, changes: [], notes: [note], data: { recoveredAtDeletion: n, takenBack: 0 } };
    },
  };
}

/**
 * The rewards of this user that the deleting run took back: its ledger rows whose reference is a
 * registration-reward row (total −1) of this user. Read from the ledger, so a recovery made
 * later by hand (`referral recover`) is not mistaken for one made by the deletion.
 */
export async function recoveriesAtDeletion(ctx: StepContext, userId: number, runId: number): Promise<{ rewardId: number; referrer: number; amount: string }[]> {
  const ledger: { user_id: unknown; reference: string | null; delta: unknown }[] = await ctx
    .trx(LEDGER_TABLE)
    .select('user_id', 'reference', 'delta')
    .where('run_id', runId)
    .where('reference', 'like', 'payback:%')
    .orderBy('id');
  const byReward = new Map(ledger.map((l) => [Number(String(l.reference).slice('payback:'.length)), l]));
  if (byReward.size === 0) return [];
  const rewards: { id: unknown }[] = await ctx.trx('payback').select('id').whereIn('id', [...byReward.keys()]).where({ userid: userId, total: -1 }).orderBy('id');
  return rewards.map((r) => {
    const l = byReward.get(Number(r.id))!;
    return { rewardId: Number(r.id), referrer: Number(l.user_id), amount: formatMoney(money(l.delta as string).negated()) };
  });
}

/** The archived values of the columns `table` has now (a column dropped since is left out). */
async function onlyExistingColumns(ctx: StepContext, table: string, row: Record<string, unknown>): Promise<Record<string, unknown>> {
  const cols = await columnsOf(ctx, table);
  return Object.fromEntries(Object.entries(row).filter(([k]) => cols.has(k)));
}

const columnCache = new WeakMap<object, Map<string, Set<string>>>();
async function columnsOf(ctx: StepContext, table: string): Promise<Set<string>> {
  let perTrx = columnCache.get(ctx.trx);
  if (!perTrx) columnCache.set(ctx.trx, (perTrx = new Map()));
  let cols = perTrx.get(table);
  if (!cols) perTrx.set(table, (cols = new Set(Object.keys(await ctx.trx(table).columnInfo()))));
  return cols;
}

function pick(row: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in row).map((k) => [k, normaliseValue(row[k])]));
}

function normalised(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, normaliseValue(v)]));
}
