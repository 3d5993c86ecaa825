/**
 * The entry of the bundled CLI (dist/spanel.cjs, built by scripts/bundle.mjs and loaded by
 * bin/spanel). `warm` is what the build runs once to write the V8 code cache beside the bundle:
 * it loads every module a job or payment run loads and builds the kinds of statements they send,
 * without connecting anywhere, so a real run finds that code already compiled.
 */
export { main } from './cli.js';

export async function warm(): Promise<void> {
  const [{ default: knex }] = await Promise.all([
    import('knex'),
    import('mysql2'),
    import('ioredis'),
    import('pino'),
    import('chalk'),
    import('./cli/context.js'),
    import('./commands/job.js'),
    import('./commands/payment.js'),
    import('./commands/referral.js'),
    import('./jobs/daily/index.js'),
    import('./jobs/hourly/index.js'),
    import('./jobs/check/index.js'),
    import('./jobs/dbclean/index.js'),
    import('./ops/observers.js'),
    import('./log.js'),
    import('./output/render.js'),
  ]);
  const db = knex({ client: 'mysql2', connection: {} });
  try {
    db('user').select('id', 'u').where('enable', 1).whereIn('node_group', [1, 2]).andWhere('id', '>', 0).orderBy('id').limit(5000).toSQL();
    db('user').update({ enable: 0 }).whereIn('id', [1, 2]).toSQL();
    db('spanel_run').insert({ command: 'job hourly', outcome: 'running' }).toSQL();
    db.raw('SELECT ? AS x', [1]).toSQL();
  } finally {
    await db.destroy();
  }
}
