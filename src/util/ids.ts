import { UsageError } from '../errors.js';

/** paylist.id and user.id are INT(11): the largest id either can hold. */
export const MAX_INT_ID = 2_147_483_647;

/**
 * `<order>` / `<user>`: digits only, no sign, exponent, fraction or spaces, 1..INT max.
 * Anything else is refused before a connection is opened, so it cannot change anything.
 */
export function parseId(raw: string | undefined, what: string): number {
  const v = raw ?? '';
  if (/^[0-9]+$/.test(v)) {
    const n = Number(v);
    if (v.length <= 10 && n >= 1 && n <= MAX_INT_ID) return n;
  }
  throw new UsageError(`invalid ${what} ${JSON.stringify(v)}: expected a whole number from 1 to ${MAX_INT_ID}`);
}
