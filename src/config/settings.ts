import * as p from './parse.js';
import { pingUrlSetting } from '../ops/ping-targets.js';

/**
 * Every setting spanel reads, with its default and what it is for. `.env.example` and the
 * docs/configuration.md explain this list, so the three cannot disagree.
 */
interface Def<T> {
  env: string;
  default: string;
  parse: p.Parser<T>;
  help: string;
  /** A setting only some commands need: validated only when present or when required. */
  required?: boolean;
  /** A URL that may carry a password: a configuration error shows it masked, never raw. */
  secretUrl?: boolean;
}

const def = <T>(d: Def<T>): Def<T> => d;

export const SETTINGS = {
  databaseUrl: def({ env: 'DATABASE_URL', default: '', parse: p.databaseUrl, required: true, secretUrl: true,
    help: 'Panel database URL, e.g. mysql://spanel@127.0.0.1:3306/sspanel (a password goes after the user: spanel:SECRET@…; sqlite:PATH for the embedded database)' }),
  redisUrl: def({ env: 'REDIS_URL', default: '', parse: p.redisUrl, secretUrl: true,
    help: 'Redis for traffic snapshots: redis://[:PASSWORD@]HOST:PORT[/DB], rediss://… (TLS), redis+cluster://HOST:PORT[,HOST:PORT…] (Cluster seeds) or redis+sentinel://HOST:PORT[,HOST:PORT…]/MASTER_NAME[/DB] (docs/redis.md); empty keeps them in the spanel_traffic_snapshot table' }),
  redisKeyPrefix: def({ env: 'REDIS_KEY_PREFIX', default: '', parse: p.text,
    help: 'Prefix of snapshot keys; "ssp:" matches the PHP panel' }),
  timezone: def({ env: 'SPANEL_TIMEZONE', default: 'Asia/Shanghai', parse: p.timezone,
    help: 'Zone of the panel\'s DATETIME columns (reg_date, class_expire, expire_in)' }),
  logLevel: def({ env: 'LOG_LEVEL', default: 'warn', parse: p.logLevel,
    help: 'pino level of the JSON logs on stderr (info logs every step; the systemd units use info)' }),
  lockLease: def({ env: 'SPANEL_LOCK_LEASE', default: '60s', parse: p.duration,
    help: 'Lease of a job\'s overlap lock, timed by the database server\'s clock; renewed every third of it while the run works, so a killed run blocks the job at most this long' }),
  retryBudget: def({ env: 'SPANEL_RETRY_BUDGET', default: '30s', parse: p.duration,
    help: 'Time a transaction that deadlocked or failed Galera certification is retried for (exponential backoff with jitter) before the run fails' }),
  maxClockSkew: def({ env: 'SPANEL_MAX_CLOCK_SKEW', default: '5s', parse: p.duration,
    help: 'A host clock further than this from the database server\'s is warned about in every run and fails `spanel doctor` (jobs use the server\'s clock)' }),
  nodeHeartbeatTimeout: def({ env: 'NODE_HEARTBEAT_TIMEOUT', default: '7200', parse: p.integer(1),
    help: 'Seconds without heartbeat after which a node is marked faulty (type=0)' }),
  dailyLimitGroups: def({ env: 'DAILY_LIMIT_GROUPS', default: '2-5', parse: p.intList,
    help: 'Node groups subject to the daily traffic cap' }),
  dailyTrafficLimitGb: def({ env: 'DAILY_TRAFFIC_LIMIT_GB', default: '32', parse: p.integer(1, 1_000_000),
    help: 'Daily traffic cap in GiB' }),
  hourlyLimitGroups: def({ env: 'HOURLY_LIMIT_GROUPS', default: '2-3', parse: p.intList,
    help: 'Node groups subject to the hourly traffic cap' }),
  hourlyTrafficLimitGb: def({ env: 'HOURLY_TRAFFIC_LIMIT_GB', default: '6', parse: p.integer(1, 1_000_000),
    help: 'Hourly traffic cap in GiB' }),
  unusedDisableDays: def({ env: 'UNUSED_DISABLE_DAYS', default: '32', parse: p.integer(1, 36500),
    help: 'Days without traffic after which a paid account is disabled' }),
  unpaidOrderTimeout: def({ env: 'UNPAID_ORDER_TIMEOUT', default: '3600', parse: p.integer(1),
    help: 'Seconds after which an unpaid order is marked expired (-1)' }),
  accountExpireDeleteDays: def({ env: 'ACCOUNT_EXPIRE_DELETE_DAYS', default: '7', parse: p.integer(-36500, 36500),
    help: 'Days after expire_in before an account is deleted; negative disables rule a' }),
  autoCleanUncheckDays: def({ env: 'AUTO_CLEAN_UNCHECK_DAYS', default: '32', parse: p.integer(0, 36500),
    help: 'Delete free accounts without check-in for this many days; 0 disables rule b' }),
  autoCleanUnusedDays: def({ env: 'AUTO_CLEAN_UNUSED_DAYS', default: '7', parse: p.integer(0, 36500),
    help: 'Delete free accounts without traffic for this many days; 0 disables rule c' }),
  autoCleanMinMoney: def({ env: 'AUTO_CLEAN_MIN_MONEY', default: '1', parse: p.decimal('0', '9999999999.99'),
    help: 'Balance at or below which rules b and c apply' }),
  maxDeletePerRun: def({ env: 'MAX_DELETE_PER_RUN', default: '200', parse: p.integer(0),
    help: 'More deletions than this make the check job fail unless --force' }),
  logRetentionDays: def({ env: 'LOG_RETENTION_DAYS', default: '3', parse: p.integer(1, 36500),
    help: 'dbclean deletes log rows older than this many days' }),
  dbcleanBatchSize: def({ env: 'DBCLEAN_BATCH_SIZE', default: '10000', parse: p.integer(100, 1_000_000),
    help: 'Ids in the first dbclean batch (each batch is its own short transaction); later batches adapt to DBCLEAN_BATCH_MS, between a tenth and 20 times this' }),
  dbcleanBatchMs: def({ env: 'DBCLEAN_BATCH_MS', default: '500', parse: p.integer(0, 60_000),
    help: 'Time one dbclean batch should take, in ms; 0 keeps every batch at DBCLEAN_BATCH_SIZE ids' }),
  enablePayback: def({ env: 'ENABLE_PAYBACK', default: 'true', parse: p.boolean,
    help: 'Pay referral commission when an order is confirmed' }),
  paybackCount: def({ env: 'PAYBACK_COUNT', default: '3', parse: p.integer(0, 100),
    help: 'Referral levels paid per order' }),
  paybackMoney: def({ env: 'PAYBACK_MONEY', default: '0.2', parse: p.decimal('0', '1'),
    help: 'Commission rate per level, a fraction of the order total' }),
  sampleSize: def({ env: 'SPANEL_SAMPLE_SIZE', default: '20', parse: p.integer(0, 10_000),
    help: 'Changed rows shown per step in reports (the total is always given)' }),
  metricsFile: def({ env: 'SPANEL_METRICS_FILE', default: '', parse: p.optionalText,
    help: 'Prometheus textfile written after each real run (node_exporter textfile collector)' }),
  pingUrl: def({ env: 'SPANEL_PING_URL', default: '', parse: pingUrlSetting,
    help: 'Healthchecks-style ping URL with {job} (…/spanel-{job}), or one per job: daily=URL,hourly=URL,…' }),
  pingTimeout: def({ env: 'SPANEL_PING_TIMEOUT', default: '5s', parse: p.duration,
    help: 'Timeout of one health ping' }),
  dbConnectTimeout: def({ env: 'DB_CONNECT_TIMEOUT', default: '5s', parse: p.duration,
    help: 'Longest wait to connect to the database (a stopped or unreachable server fails the run after this)' }),
  dbStatementTimeout: def({ env: 'DB_STATEMENT_TIMEOUT', default: '10m', parse: p.duration,
    help: 'Longest wait for any one database statement, COMMIT included (a frozen server fails the run after this)' }),
  dbLockWaitTimeout: def({ env: 'DB_LOCK_WAIT_TIMEOUT', default: '2m', parse: p.duration,
    help: 'Longest wait for a row, table or global read lock another session holds (FLUSH TABLES WITH READ LOCK, long transactions)' }),
  overdueDaily: def({ env: 'SPANEL_OVERDUE_DAILY', default: '26h', parse: p.duration,
    help: '`spanel status` reports the daily job overdue after this long' }),
  overdueHourly: def({ env: 'SPANEL_OVERDUE_HOURLY', default: '2h', parse: p.duration,
    help: '`spanel status` reports the hourly job overdue after this long' }),
  overdueCheck: def({ env: 'SPANEL_OVERDUE_CHECK', default: '30m', parse: p.duration,
    help: '`spanel status` reports the check job overdue after this long' }),
  overdueDbclean: def({ env: 'SPANEL_OVERDUE_DBCLEAN', default: '8d', parse: p.duration,
    help: '`spanel status` reports the dbclean job overdue after this long' }),
} as const;

type Defs = typeof SETTINGS;
export type Settings = { [K in keyof Defs]: Defs[K] extends Def<infer T> ? T : never };
export type SettingName = keyof Defs;
