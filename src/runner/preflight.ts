import { describeNonTransactional, nonTransactionalIn } from '../db/engines.js';
import type { Database } from '../db/connect.js';
import { assertSupportedSchema, inspectSchema, type SchemaInfo } from '../db/schema-family.js';
import { EXIT, OperationError, SpanelError } from '../errors.js';
import { RUN_TABLE } from './history.js';
import type { CommandSpec } from './types.js';

/**
 * What the runner checks before anything else, from one information_schema query: the schema
 * is a panel spanel understands (exit 2 otherwise), spanel is migrated, and every table the
 * command writes in its transaction can roll back (exit 2 otherwise).
 */
export async function preflight(db: Database, spec: CommandSpec): Promise<SchemaInfo> {
  const info = await inspectSchema(db);
  assertSupportedSchema(info, db.safeUrl);
  if (!info.tables.has(RUN_TABLE)) {
    throw new OperationError(`the database at ${db.safeUrl} has no spanel tables yet: run \`spanel migrate\` first`);
  }
  if (spec.mode !== 'batched') {
    const found = nonTransactionalIn(info.tables, spec.writes ?? []);
    if (found.size > 0) throw new SpanelError(describeNonTransactional(found), EXIT.USAGE);
  }
  return info;
}
