import type { CommandContext } from '../cli/context.js';
import { openDatabase } from '../db/connect.js';
import { assertWritable } from '../db/topology.js';
import { appliedMigrations, migrateLatest, migrationNames, planPending } from '../db/migrations.js';
import { checkedSchema } from '../db/schema-family.js';

/** `spanel migrate [--dry-run]`: brings the schema up to date, or lists what that would do. */
export async function migrateHandler(ctx: CommandContext): Promise<number> {
  const db = await openDatabase(ctx.settings.databaseUrl);
  try {
    await checkedSchema(db);
    const dryRun = Boolean(ctx.opts.dryRun);
    if (!dryRun) await assertWritable(db, { replicaStatus: true });
    const done = dryRun ? await planPending(db.knex) : await migrateLatest(db.knex);
    ctx.log.info({ dryRun, migrations: done.map((d) => d.migration) }, 'migrate finished');
    if (ctx.opts.json) {
      ctx.io.stdout.write(JSON.stringify({ database: db.safeUrl, dryRun, migrations: done }) + '\n');
      return 0;
    }
    ctx.say(`database ${db.safeUrl}`);
    if (done.length === 0) {
      ctx.say('schema is up to date: nothing to do');
      return 0;
    }
    for (const m of done) {
      ctx.say(`${dryRun ? 'would apply' : 'applied'} ${m.migration}`);
      for (const c of m.changes) ctx.say(`  - ${c}`);
      if (m.changes.length === 0) ctx.say('  - (nothing missing: recorded as applied)');
    }
    if (dryRun) ctx.say('dry run: nothing was changed');
    return 0;
  } finally {
    await db.close();
  }
}

/** `spanel migrate status`: applied and pending migrations. */
export async function migrateStatusHandler(ctx: CommandContext): Promise<number> {
  const db = await openDatabase(ctx.settings.databaseUrl);
  try {
    await checkedSchema(db);
    const applied = new Set(await appliedMigrations(db.knex));
    const rows = migrationNames().map((name) => ({ name, applied: applied.has(name) }));
    if (ctx.opts.json) {
      ctx.io.stdout.write(JSON.stringify({ database: db.safeUrl, migrations: rows }) + '\n');
    } else {
      ctx.say(`database ${db.safeUrl}`);
      for (const r of rows) ctx.say(`  ${r.applied ? 'applied' : 'PENDING'}  ${r.name}`);
      const pending = rows.filter((r) => !r.applied).length;
      ctx.say(pending ? `${pending} pending: run \`spanel migrate\`` : 'up to date');
    }
    return 0;
  } finally {
    await db.close();
  }
}
