import type { Knex } from 'knex';
import { UsageError } from '../errors.js';
import { ARCHIVE_TABLE } from '../jobs/check/archive-users.js';
import { parseId } from '../util/ids.js';

/**
 * `<id|email>` as support staff type it: digits are an id, anything with an @ is an email.
 * Returns the user's id, looking in the archive when the account was deleted.
 */
export async function resolveUser(knex: Knex, raw: string | undefined, what = 'user'): Promise<{ id: number; exists: boolean }> {
  const v = (raw ?? '').trim();
  if (/^\d+$/.test(v)) {
    const id = parseId(v, `${what} id`);
    return { id, exists: Boolean(await knex('user').where('id', id).first('id')) };
  }
  if (!v.includes('@') || v.length > 255) throw new UsageError(`invalid ${what} ${JSON.stringify(v)}: expected a user id or an email address`);
  const live: { id: unknown } | undefined = await knex('user').where('email', v).first('id');
  if (live) return { id: Number(live.id), exists: true };
  const archived: { user_id: unknown } | undefined = await knex(ARCHIVE_TABLE).where('email', v).orderBy('id', 'desc').first('user_id');
  if (archived) return { id: Number(archived.user_id), exists: false };
  throw new UsageError(`no user with email ${JSON.stringify(v)}, live or archived`);
}

/** `<id|email>` checked before a connection is opened (the form only). */
export function checkUserArgument(raw: string | undefined, what = 'user'): void {
  const v = (raw ?? '').trim();
  if (/^\d+$/.test(v)) parseId(v, `${what} id`);
  else if (!v.includes('@') || v.length > 255) throw new UsageError(`invalid ${what} ${JSON.stringify(v)}: expected a user id or an email address`);
}
