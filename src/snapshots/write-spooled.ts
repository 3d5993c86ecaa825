import type { SnapshotSpool } from './spool.js';
import type { SnapshotKind, SnapshotStore } from './store.js';

/** Passes over a spool while failovers keep unsettling them; each pass rewrites all of it. */
const MAX_PASSES = 5;
/** A failover in progress needs a moment before the next pass can find the new master. */
const SETTLE_PAUSE_MS = 1000;

/**
 * Writes every spooled snapshot, `batchSize` at a time. Where the store can check a pass (a
 * Sentinel group), a pass that did not settle on the master is written again in full: SET EX is
 * idempotent, and what a demoted master accepted is lost with it. `progress` hears how many of
 * the spool the current pass has written.
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
    const check = (await store.beginWrites?.()) ?? null;
    let written = 0;
    progress(0);
    // Two batches in flight: the next is read from the spool and sent while Redis answers the
    // last, so the writes wait on neither the disk nor one round trip per batch.
    let inFlight: Promise<void> | null = null;
    try {
      for await (const batch of spool.batches(batchSize)) {
        const sending = store.write(kind, batch, ttlSeconds).then(() => progress((written += batch.length)));
        sending.catch(() => undefined); // awaited below; an error is thrown there, not lost
        if (inFlight) await inFlight;
        inFlight = sending;
      }
      if (inFlight) await inFlight;
    } finally {
      await inFlight?.catch(() => undefined); // nothing of this pass is left running on an error
    }
    if (check === null || (await check.settled())) return;
    if (pass >= MAX_PASSES) {
      progress(0);
      throw new Error(`the Redis master changed during each of ${pass} passes of writes, so none is known to have landed`);
    }
    await new Promise((r) => setTimeout(r, SETTLE_PAUSE_MS));
  }
}
