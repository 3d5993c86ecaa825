import { UsageError } from '../errors.js';

/** The ledger's and run history's operator column is VARCHAR(64). */
export const MAX_OPERATOR_LENGTH = 64;

/**
 * `--operator` goes into the money ledger and the run history, which auditors read: printable
 * text only (no control, format or unassigned characters, which could hide or fake what a
 * terminal shows) and at most 64 characters, so that nothing is stored other than what was typed.
 * Returns the trimmed name, or undefined when none was given.
 */
export function parseOperator(raw: unknown): string | undefined {
  if (raw === undefined) return undefined;
  const text = String(raw);
  const v = text.replace(/^ +| +$/g, '');
  const shown = JSON.stringify(String(raw)).slice(0, 80);
  if (v === '' || [...v].length > MAX_OPERATOR_LENGTH) {
    throw new UsageError(`invalid --operator ${shown}: expected a name of 1 to ${MAX_OPERATOR_LENGTH} characters`);
  }
  if (/[\p{C}\u2028\u2029]/u.test(text) || /[^\S ]/u.test(text)) {
    throw new UsageError(`invalid --operator ${shown}: only printable characters and plain spaces are allowed`);
  }
  return v;
}
