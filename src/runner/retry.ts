import type { Logger } from 'pino';
import { OperationError } from '../errors.js';

/** First backoff ceiling and the largest one: waits grow 100 ms, 200 ms, … up to 5 s. */
const BASE_MS = 100;
const CAP_MS = 5000;

/**
 * InnoDB resolves a deadlock by rolling one transaction back entirely, and Galera does the same
 * to the loser of a certification conflict (both report error 1213); the MySQL and Galera
 * manuals' advice is to run it again. Under a panel that updates the same rows hundreds of times
 * a second a handful of quick attempts is not enough, so this retries for a time budget, waiting
 * a random time up to an exponentially growing ceiling ("full jitter") so that colliding runs
 * drift apart. Every attempt starts from nothing, so a retry is safe.
 */
export async function retryingConflicts(
  log: Logger,
  budgetSeconds: number,
  attempt: () => Promise<void>,
  random: () => number = Math.random,
): Promise<void> {
  const started = Date.now();
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isConflict(err)) throw err;
      const elapsed = Date.now() - started;
      const waitMs = Math.floor(random() * Math.min(CAP_MS, BASE_MS * 2 ** (n - 1)));
      if (elapsed + waitMs > budgetSeconds * 1000) {
        throw new OperationError(
          `the transaction conflicted with concurrent changes (deadlock or cluster certification) ${n} times in ${(elapsed / 1000).toFixed(1)} s and was rolled back each time: nothing was changed; run the command again (SPANEL_RETRY_BUDGET allows ${budgetSeconds} s)`,
        );
      }
      log.warn({ attempt: n, waitMs, elapsedMs: elapsed, error: (err as Error).message }, 'transaction rolled back by a deadlock or certification conflict: running it again');
      await new Promise((r) => setTimeout(r, waitMs));
    }
  }
}

/** ER_LOCK_DEADLOCK: an InnoDB deadlock victim, or a Galera certification/brute-force abort. */
export function isConflict(err: unknown): boolean {
  const e = err as { code?: string; errno?: number } | null;
  return e?.code === 'ER_LOCK_DEADLOCK' || e?.errno === 1213;
}
