import { UsageError } from '../errors.js';

/**
 * spanel's migration creates paylist.id and user.id as INT UNSIGNED (knex `increments`): the
 * largest id either can hold. Capping at the signed INT max would refuse real ids above 2^31.
 */
export const MAX_INT_ID = 4_294_967_295;

/**
 * `<order>` / `<user>`: ASCII digits only, no sign, exponent, fraction or spaces, 1..INT UNSIGNED max.
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
