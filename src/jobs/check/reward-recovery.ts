import { recoverRegistrationRewards } from '../../referrals/recover-rewards.js';
import type { RowChange, SkippedRow, StepContext } from '../../runner/types.js';

/** What the recoveries of one step added up to, with a bounded sample of what they changed. */
export interface RecoveryTally {
  count: number;
  vanished: number;
  changes: RowChange[];
  notes: string[];
  /** Rewards that could not be taken back (balance overflow), and whose they were. */
  skippedRows: SkippedRow[];
  unrecoveredUsers: Set<number>;
}

export const emptyTally = (): RecoveryTally => ({ count: 0, vanished: 0, changes: [], notes: [], skippedRows: [], unrecoveredUsers: new Set() });

/**
 * Recovers the registration rewards of `userIds` (SPEC §4, set-based in the referrals module)
 * and folds the result into `tally`, keeping at most `sampleSize` changes per table and notes.
 */
export async function recoverInto(ctx: StepContext, tally: RecoveryTally, userIds: number[], reason: string): Promise<void> {
  if (userIds.length === 0) return;
  const r = await recoverRegistrationRewards(ctx, userIds, { reason });
  tally.count += r.count;
  tally.vanished += r.vanished;
  tally.skippedRows.push(...r.skippedRows);
  for (const id of r.unrecoveredUsers) tally.unrecoveredUsers.add(id);
  for (const ch of r.changes) {
    if (tally.changes.filter((c) => c.table === ch.table).length < ctx.sampleSize) tally.changes.push(ch);
  }
  // One note per acted-on reward; the "… more" line is written once, by recoveryNotes.
  const perReward = r.notes.filter((n) => !n.startsWith('…'));
  tally.notes.push(...perReward.slice(0, Math.max(0, ctx.sampleSize - tally.notes.length)));
}

export function recoveryNotes(tally: RecoveryTally): string[] {
  const more = tally.count - tally.notes.length;
  return more > 0 ? [...tally.notes, `… and ${more} more recovered reward${more === 1 ? '' : 's'}`] : tally.notes;
}
