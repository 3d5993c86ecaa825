import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { Database } from '../db/connect.js';
import { EXIT, OperationError, SpanelError } from '../errors.js';
import { recordFinish, RUN_TABLE } from './history.js';
import type { StepReport } from './types.js';

/**
 * COMMIT, confirmed. knex's `trx.commit()` resolves even when the server answers COMMIT with an
 * error (a Galera certification failure, a deadlock, a lost connection): the error only rejects
 * `trx.executionPromise`. Awaiting both is what makes a failed COMMIT an error here.
 */
export async function commitConfirmed(trx: Knex.Transaction): Promise<void> {
  await trx.commit();
  await trx.executionPromise;
}

/**
 * Writes the run's own history row as finished `success` inside the command's transaction, just
 * before COMMIT: the row and the data commit together or not at all, so the history cannot
 * say success for changes that are not in the database, and a COMMIT whose answer was lost can
 * be resolved afterwards by reading this row.
 */
export async function markCommittedInTransaction(trx: Knex.Transaction, runId: number, steps: StepReport[], startedMs: number): Promise<void> {
  const now = Date.now();
  await recordFinish(trx, runId, { outcome: 'success', finishedAtMs: now, durationMs: now - startedMs, steps, error: null });
}

/**
 * A COMMIT sent but not answered: the connection dropped, or the client gave up waiting. A COMMIT
 * the server answered with an error (it has an SQLSTATE) is known not to have committed.
 */
export function isLostCommitAnswer(err: unknown): boolean {
  const e = err as { fatal?: boolean; sqlState?: string; code?: string } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.sqlState) return false;
  return e.fatal === true || ['PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(e.code ?? '');
}

export type CommitResolution = 'committed' | 'not-committed' | 'unknown';

/** Attempts to reach the database again after a lost COMMIT answer, a second apart. */
const RESOLVE_ATTEMPTS = 3;

/**
 * After a lost COMMIT answer: ends the old session if the server still has it (so its
 * transaction has either committed or is rolled back), then reads the run's history row with a
 * locking read, which waits for a transaction still finishing and then sees its final state.
 * `success` means the COMMIT happened; `running` means it did not. Anything else, or no answer
 * within the attempts, is "unknown", and the caller must say so rather than guess.
 */
export async function resolveLostCommit(db: Database, runId: number, connectionId: number | null, log: Logger): Promise<CommitResolution> {
  for (let attempt = 1; attempt <= RESOLVE_ATTEMPTS; attempt++) {
    try {
      if (db.target.kind === 'mysql' && connectionId !== null) {
        await db.knex.raw(`KILL ${Number(connectionId)}`).catch(() => undefined);
      }
      const outcome = await db.knex.transaction(async (trx) => {
        const row = await db.dialect.forUpdate(trx(RUN_TABLE).select('outcome').where('id', runId)).first();
        return row ? String((row as { outcome: unknown }).outcome) : null;
      });
      if (outcome === 'success') return 'committed';
      if (outcome === 'running') return 'not-committed';
      return 'unknown';
    } catch (err) {
      log.warn({ attempt, err: (err as Error).message }, 'could not read the run history to resolve a lost COMMIT answer');
      if (attempt < RESOLVE_ATTEMPTS) await new Promise((r) => setTimeout(r, 1000));
    }
  }
  return 'unknown';
}

/** The connection dropped during COMMIT and a fresh look showed the transaction did not commit. */
export class NotCommittedError extends OperationError {
  constructor(runId: number) {
    super(`the connection to the database was lost during COMMIT; checked run #${runId}: not committed, nothing was changed; run the command again`);
  }
}

/** Whether the transaction committed could not be found out: never reported as success. */
export class OutcomeUnknownError extends SpanelError {
  constructor(
    readonly runId: number,
    why: string,
  ) {
    super(
      `outcome unknown: ${why}; the changes may or may not have been committed. Check with \`spanel status\` (or the spanel_run row id ${runId}: outcome "success" means committed, "running" means not) before running the command again`,
      EXIT.FAILED,
    );
  }
}
