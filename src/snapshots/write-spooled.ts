import type { SnapshotSpool } from './spool.js';
import type { SnapshotKind, SnapshotStore } from './store.js';

/** Passes over a spool when its writes keep straddling failovers; each pass rewrites all of it. */
const MAX_PASSES = 3;

/**
 * Writes every spooled snapshot, `batchSize` at a time. Where the store can name its write
 * target (the Sentinel's master), a pass during which the master changed is written again in
 * full to the new one: SET EX is idempotent, and the demoted master's copy is lost with it.
 * `progress` hears how many of the spool the current pass has written.
 */
export async function writeSpooled(
  store: SnapshotStore,
  kind: SnapshotKind,
  spool: SnapshotSpool,
  ttlSeconds: number,
  batchSize: number,
  progress: (written: number) => void,
): Promise<void> {
  for (let pass = 1; ; pass++) {
    const target = (await store.writeTarget?.()) ?? null;
    let written = 0;
    progress(0);
    for await (const batch of spool.batches(batchSize)) {
      await store.write(kind, batch, ttlSeconds);
      progress((written += batch.length));
    }
    if (target === null || pass >= MAX_PASSES) return;
    const now = await store.writeTarget!();
    if (now === null || now === target) return;
  }
}
