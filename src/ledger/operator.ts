import { UsageError } from '../errors.js';

/** The ledger's and run history's operator column is VARCHAR(64): refuse longer names up front. */
export function parseOperator(raw: unknown): void {
  if (raw === undefined) return;
  const v = String(raw).trim();
  if (v === '' || v.length > 64) throw new UsageError(`invalid --operator ${JSON.stringify(String(raw))}: expected a name of 1 to 64 characters`);
}
