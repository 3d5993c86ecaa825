import type { CommandContext } from '../cli/context.js';
import { openDatabase, type Database } from '../db/connect.js';
import { OperationError } from '../errors.js';
import { RUN_TABLE } from '../runner/history.js';

/**
 * Opens DATABASE_URL for a read-only support command, refuses a database spanel has not
 * migrated, and closes it afterwards.
 */
export async function withDatabase<T>(ctx: CommandContext, body: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase(ctx.settings.databaseUrl);
  try {
    if (!(await db.dialect.existingTables(db.knex, [RUN_TABLE])).has(RUN_TABLE)) {
      throw new OperationError(`the database at ${db.safeUrl} has no spanel tables yet: run \`spanel migrate\` first`);
    }
    return await body(db);
  } finally {
    await db.close();
  }
}

/** Prints the --json object, or the human lines. */
export function output(ctx: CommandContext, json: unknown, human: () => string[]): void {
  if (ctx.opts.json) ctx.io.stdout.write(`${JSON.stringify(json)}\n`);
  else ctx.io.stdout.write(`${human().join('\n')}\n`);
}
