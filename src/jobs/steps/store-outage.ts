import type { StepContext, StepOutcome } from '../../runner/types.js';
import { SnapshotStoreError, type SnapshotStore } from '../../snapshots/store.js';

/**
 * Runs a cap step so that a snapshot store failure costs that step only (SPEC §3): its changes
 * so far are undone to a savepoint (nobody is disabled on missing data), it registers no
 * snapshot write, and it reports why it did not run, which makes the run `partial`. The rest of
 * the job's transaction (renewal first of all) is untouched and still commits.
 */
export async function unlessStoreFails(
  ctx: StepContext,
  step: { name: string; kind: string },
  store: SnapshotStore,
  body: () => Promise<StepOutcome>,
): Promise<StepOutcome> {
  const savepoint = `spanel_${step.name.replace(/\W/g, '_')}`;
  try {
    store.ensureAvailable();
  } catch (err) {
    return notRun(ctx, step, store, err);
  }
  await ctx.trx.raw(`SAVEPOINT ${savepoint}`);
  try {
    const outcome = await body();
    await ctx.trx.raw(`RELEASE SAVEPOINT ${savepoint}`);
    return outcome;
  } catch (err) {
    if (!(err instanceof SnapshotStoreError) || ctx.signal.aborted) throw err;
    await ctx.trx.raw(`ROLLBACK TO SAVEPOINT ${savepoint}`);
    return notRun(ctx, step, store, err);
  }
}

function notRun(ctx: StepContext, step: { name: string; kind: string }, store: SnapshotStore, err: unknown): StepOutcome {
  if (!(err instanceof SnapshotStoreError)) throw err;
  ctx.log.warn({ step: step.name, reason: err.message }, 'the snapshot store failed: step not run, the rest of the job goes on');
  return {
    count: 0,
    changes: [],
    notRun: err.message,
    notes: [`${err.message}: nobody was disabled and no snapshot was written`],
    data: { notRun: true, snapshotStore: store.backend, kind: step.kind },
  };
}
