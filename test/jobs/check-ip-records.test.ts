import { beforeEach, describe, expect, it } from 'vitest';
import { ipRecords } from '../../src/jobs/check/ip-records.js';
import { DIALECTS, useTestDatabase } from '../helpers/db.js';
import { UNIX, countRows, norm, stepRunner } from './check.helpers.js';

const TABLES = { alive_ip: 300, unblockip: 300, blockip: 86_400, telegram_session: 3_600 } as const;

describe.each(DIALECTS)('check step 1, IP records, on %s', (dialect) => {
  const t = useTestDatabase(dialect);
  const run = stepRunner(t);

  beforeEach(async () => {
    for (const table of Object.keys(TABLES)) if (await t.knex.schema.hasTable(table)) await t.knex(table).del();
  });

  /** Per table: one row a second past its age (goes) and one exactly at it (stays). */
  async function seed(): Promise<Record<string, { old: number; edge: number }>> {
    const ids: Record<string, { old: number; edge: number }> = {};
    for (const [table, age] of Object.entries(TABLES)) {
      const [old] = await t.knex(table).insert({ datetime: UNIX - age - 1 });
      const [edge] = await t.knex(table).insert({ datetime: UNIX - age });
      ids[table] = { old: Number(old), edge: Number(edge) };
    }
    return ids;
  }

  it('deletes rows just past each table\'s age and keeps those exactly at it', async () => {
    const ids = await seed();
    const result = await run([ipRecords]);
    expect(result.exitCode).toBe(0);
    const step = result.steps[0]!;
    expect(step.count).toBe(4);
    expect(step.counts).toEqual({ alive_ip: 1, unblockip: 1, blockip: 1, telegram_session: 1 });
    expect(step.skipped).toBeUndefined();
    for (const [table, age] of Object.entries(TABLES)) {
      expect(norm(step.changes)).toContainEqual({ table, id: ids[table]!.old, action: 'delete', before: { datetime: UNIX - age - 1 } });
      const left = await t.knex(table).select('id', 'datetime');
      expect(left.map((r) => [Number(r.id), Number(r.datetime)])).toEqual([[ids[table]!.edge, UNIX - age]]);
    }
  });

  it('changes nothing when no row is old enough', async () => {
    await t.knex('alive_ip').insert({ datetime: UNIX - 300 });
    await t.knex('blockip').insert({ datetime: UNIX });
    const result = await run([ipRecords]);
    expect(result.steps[0]).toMatchObject({ count: 0, counts: { alive_ip: 0, unblockip: 0, blockip: 0, telegram_session: 0 }, changes: [] });
    expect(await countRows(t.knex, 'alive_ip')).toBe(1);
  });

  it('dry run reports the same rows and deletes none', async () => {
    await seed();
    const dry = await run([ipRecords], { dryRun: true });
    expect(await countRows(t.knex, 'alive_ip')).toBe(2);
    const real = await run([ipRecords]);
    expect(dry.steps[0]!.changes).toEqual(real.steps[0]!.changes);
    expect(dry.steps[0]!.counts).toEqual(real.steps[0]!.counts);
  });

  it('skips and lists a table this install lacks', async () => {
    await seed();
    await t.knex.schema.dropTable('telegram_session');
    const result = await run([ipRecords]);
    expect(result.exitCode).toBe(0);
    expect(result.steps[0]!.skipped).toEqual(['telegram_session']);
    expect(result.steps[0]!.counts).toEqual({ alive_ip: 1, unblockip: 1, blockip: 1 });
  });
});
