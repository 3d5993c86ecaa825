import type { CommandContext } from '../cli/context.js';
import { openDatabase, type Database } from '../db/connect.js';
import { describeNonTransactional, nonTransactionalIn } from '../db/engines.js';
import { describeUnsupported, inspectSchema, isSupported } from '../db/schema-family.js';
import { jobSpec } from '../jobs/registry.js';
import { confirmSpec } from '../payments/confirm.js';
import { recoverSpec } from '../referrals/recover-spec.js';
import { pendingMigrations } from '../db/migrations.js';
import { hostSkewSeconds, replicationSources, serverState, writeRefusal } from '../db/topology.js';
import { Clock } from '../time/clock.js';
import { PANEL_CORE_TABLES, PANEL_OPTIONAL_TABLES } from '../../migrations/20261125000100_panel_schema.js';

type Level = 'ok' | 'warn' | 'fail' | 'info';
interface Check {
  check: string;
  level: Level;
  detail: string;
}

const NEEDED_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'CREATE', 'ALTER', 'INDEX'];
/** Below SPANEL_MAX_CLOCK_SKEW (which fails), a skew this large is worth a warning. */
const SKEW_WARN_S = 1;

/** `spanel doctor`: everything an operator should verify after installing or changing config. */
export async function doctorHandler(ctx: CommandContext): Promise<number> {
  const checks: Check[] = [];
  const add = (check: string, level: Level, detail: string) => checks.push({ check, level, detail });
  const { settings } = ctx;
  const clock = new Clock(new Date(), settings.timezone);

  add('configuration', 'ok', 'all settings valid');
  for (const w of ctx.configWarnings) add('env file', 'warn', w);
  add('panel time zone', 'info', `${settings.timezone}: panel-local time is ${clock.panelLocal()} (host zone ${Intl.DateTimeFormat().resolvedOptions().timeZone})`);

  if (!settings.databaseUrl) {
    add('database', 'fail', 'DATABASE_URL is not set: put it in .env or the env file (see .env.example)');
  } else {
    let db: Database | null = null;
    try {
      db = await openDatabase(settings.databaseUrl);
      add('database', 'ok', `reachable at ${db.safeUrl}`);
      await checkDatabase(db, settings.maxClockSkew, add);
    } catch (err) {
      add('database', 'fail', (err as Error).message);
    } finally {
      await db?.close();
    }
  }

  if (settings.redisUrl) {
    const { checkRedis } = await import('../redis/doctor.js');
    for (const c of await checkRedis(settings.redisUrl, settings.redisKeyPrefix)) add('redis', c.level, c.detail);
  } else {
    add('redis', 'info', 'REDIS_URL not set: traffic snapshots are kept in the spanel_traffic_snapshot table');
  }

  const failed = checks.some((c) => c.level === 'fail');
  if (ctx.opts.json) {
    ctx.io.stdout.write(JSON.stringify({ healthy: !failed, checks }) + '\n');
  } else {
    const mark: Record<Level, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', info: 'info' };
    for (const c of checks) ctx.say(`[${mark[c.level]}] ${c.check}: ${c.detail}`);
    ctx.say(failed ? 'spanel doctor: problems found, fix the FAIL lines above' : 'spanel doctor: healthy');
  }
  return failed ? 1 : 0;
}

async function checkDatabase(db: Database, maxSkewSeconds: number, add: (c: string, l: Level, d: string) => void): Promise<void> {
  const { knex } = db;
  const schema = await inspectSchema(db);
  if (!isSupported(schema)) {
    // Every other command refuses this database (exit 2), migrate included: nothing else to check.
    add('panel schema', 'fail', describeUnsupported(schema));
    return;
  }
  add('panel schema', 'ok', `${schema.recognised} (${schema.evidence.join('; ')})`);
  if (db.target.kind === 'mysql') {
    const [[v]] = (await knex.raw('SELECT VERSION() AS version, @@time_zone AS tz, @@system_time_zone AS systz')) as [
      { version: string; tz: string; systz: string }[],
    ];
    add('database server', 'info', `${v?.version}; session time zone ${v?.tz} (system ${v?.systz}): spanel does not depend on it`);
    const missing = await missingPrivileges(db);
    if (missing.length) add('privileges', 'fail', `the database user lacks ${missing.join(', ')} on this database: GRANT them (CREATE/ALTER/INDEX are needed by migrate only)`);
    else add('privileges', 'ok', `${NEEDED_PRIVILEGES.join(', ')} granted`);
    await checkTopology(db, maxSkewSeconds, add);
    const found = nonTransactionalIn(schema.tables, await writtenTables());
    if (found.size) add('table engines', 'fail', describeNonTransactional(found));
    else add('table engines', 'ok', 'panel tables are transactional (InnoDB)');
  } else {
    add('database server', 'info', `embedded SQLite at ${db.target.kind === 'sqlite' ? db.target.filename : ''} (single host)`);
  }
  const pending = await pendingMigrations(knex);
  if (pending.length) add('migrations', 'fail', `${pending.length} pending (${pending.join(', ')}): run \`spanel migrate\``);
  else add('migrations', 'ok', 'schema up to date');
  const present = await db.dialect.existingTables(knex, [...PANEL_CORE_TABLES, ...PANEL_OPTIONAL_TABLES]);
  const missingCore = PANEL_CORE_TABLES.filter((t) => !present.has(t));
  const missingOptional = PANEL_OPTIONAL_TABLES.filter((t) => !present.has(t));
  if (missingCore.length) add('panel tables', 'fail', `missing ${missingCore.join(', ')}: run \`spanel migrate\``);
  else add('panel tables', 'ok', `${PANEL_CORE_TABLES.join(', ')} present`);
  if (missingOptional.length) add('optional tables', 'info', `not in this install, skipped by the jobs: ${missingOptional.join(', ')}`);
}

/** Read-only, replication, Galera and the clock: where spanel may write and which "now" it uses. */
async function checkTopology(db: Database, maxSkewSeconds: number, add: (c: string, l: Level, d: string) => void): Promise<void> {
  const state = await serverState(db);
  if (!state) return;
  const refusal = writeRefusal(state, db.safeUrl);
  if (state.readOnly || state.innodbReadOnly) add('read-only', 'fail', refusal ?? 'read-only');
  else add('read-only', 'ok', 'the server accepts writes (read_only and innodb_read_only are OFF)');
  const replication = await replicationSources(db);
  if (replication.kind === 'replica' || state.replicaThreads) {
    const from = replication.kind === 'replica' ? ` of ${replication.sources.join(', ')}` : '';
    add('replication', 'fail', `this server is a replica${from}${state.replicaThreads ? ` (${state.replicaThreads} replication thread(s) running)` : ''}: spanel refuses to write here; point DATABASE_URL at the primary`);
  } else if (replication.kind === 'unknown') {
    add('replication', 'warn', `no replication threads running; whether a stopped replication is configured is unknown: ${replication.why}`);
  } else {
    add('replication', 'ok', 'not a replica');
  }
  if (state.galera) {
    const g = state.galera;
    const healthy = g.clusterStatus === 'Primary' && g.nodeState === 'Synced';
    add('galera', healthy ? 'ok' : 'fail', `wsrep_on = ON, cluster size ${g.clusterSize}, cluster status ${g.clusterStatus}, node state ${g.nodeState}${healthy ? '' : ': this node cannot take spanel\'s writes now; point DATABASE_URL at a synced node of the primary component'}`);
  } else {
    add('galera', 'info', 'wsrep is off: a single server (or a primary), not a Galera node');
  }
  const skew = hostSkewSeconds(state);
  const level: Level = Math.abs(skew) > maxSkewSeconds ? 'fail' : Math.abs(skew) > SKEW_WARN_S ? 'warn' : 'ok';
  add(
    'clock skew',
    level,
    `this host's clock is ${skew >= 0 ? 'ahead of' : 'behind'} the database server's by ${Math.abs(skew).toFixed(3)} s (limit SPANEL_MAX_CLOCK_SKEW = ${maxSkewSeconds} s; jobs use the server's clock)${level === 'ok' ? '' : ': run NTP (chrony/systemd-timesyncd) on both hosts'}`,
  );
}

async function missingPrivileges(db: Database): Promise<string[]> {
  const grantee = `CONCAT("'", SUBSTRING_INDEX(CURRENT_USER(), '@', 1), "'@'", SUBSTRING_INDEX(CURRENT_USER(), '@', -1), "'")`;
  // A database-level grant names a pattern, not a name: phpMyAdmin writes `db\_name`.*, others
  // use % or _ wildcards. LIKE applies the same rules MySQL applies to the grant.
  const [rows] = (await db.knex.raw(
    `SELECT privilege_type AS p FROM information_schema.user_privileges WHERE grantee = ${grantee}
     UNION SELECT privilege_type FROM information_schema.schema_privileges WHERE grantee = ${grantee} AND DATABASE() LIKE table_schema`,
  )) as [{ p: string }[]];
  const have = new Set(rows.map((r) => r.p.toUpperCase()));
  return NEEDED_PRIVILEGES.filter((p) => !have.has(p));
}

/** Every table some command changes inside its transaction (each spec declares its own). */
async function writtenTables(): Promise<string[]> {
  const specs = [...(await Promise.all((['daily', 'hourly', 'check'] as const).map((j) => jobSpec(j)))), confirmSpec(1, {}), recoverSpec(1)];
  return [...new Set(specs.flatMap((s) => s.writes ?? []))];
}
