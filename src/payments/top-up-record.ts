import { formatMoney } from '../ledger/money.js';
import type { Step } from '../runner/types.js';
import type { ConfirmState } from './state.js';

export const CODE_TABLE = 'code';
/** code.type of a top-up row, as the PHP panel's postPayment writes it. */
export const CODE_TYPE_TOP_UP = -1;

/**
 * SPEC §4 step 3, second half: the panel lists a user's top-ups from `code` rows, and its own
 * gateway callback (postPayment) writes one for every payment it credits. A confirmation by hand
 * writes the same row, its `code` naming spanel and the operator where PHP names the gateway,
 * so that the payment shows in the user's history. Part of the confirmation's transaction.
 */
export function recordTopUp(state: ConfirmState): Step {
  return {
    name: 'top-up-record',
    title: 'Top-up row in the panel history',
    async run(ctx) {
      if (!state.won || !state.payer) return { count: 0, changes: [], notes: ['skipped: this run did not credit the payer'] };
      if (!ctx.tables.has(CODE_TABLE)) {
        return { count: 0, changes: [], skipped: [CODE_TABLE], notes: ['this panel has no code table: no top-up row to write'] };
      }
      const row = {
        code: topUpCode(ctx.operator),
        type: CODE_TYPE_TOP_UP,
        number: formatMoney(state.won.total),
        isused: 1,
        userid: state.payer.id,
        usedatetime: ctx.clock.panelLocal(),
      };
      // CAST: an old panel's `number` is INT, where a decimal string would be refused in strict mode.
      const [id] = await ctx.trx(CODE_TABLE).insert({ ...row, number: ctx.trx.raw('CAST(? AS DECIMAL(12,2))', [row.number]) });
      return {
        count: 1,
        changes: [{ table: CODE_TABLE, id: Number(id), action: 'insert', after: row }],
        notes: [`top-up of ${row.number} recorded for user #${row.userid} in the panel's history (code "${row.code}")`],
      };
    },
  };
}

/** What `code.code` says of a confirmation by hand: who confirmed it, and with what. */
export function topUpCode(operator: string): string {
  return `spanel payment confirm (${operator.slice(0, 64)})`;
}
