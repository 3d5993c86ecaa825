// Shared by the benchmark scripts: options, connections, panel time, small utilities.
import mysql from 'mysql2/promise';

export const GiB = 1024 ** 3;
export const DAY = 86_400;
export const TIMEZONE = 'Asia/Shanghai';

const DEFAULTS = {
  users: 1_000_000,
  logs: 10_000_000,
  orders: 100_000,
  repeat: 1,
  jobs: ['daily', 'hourly', 'check', 'dbclean'],
};

const USAGE = `usage: npm run bench -- [options]
  --users N        users to seed (default 1000000)
  --logs M         log rows over 30 days across the dbclean tables (default 10000000)
  --orders K       paylist rows (default 100000)
  --jobs a,b       jobs to measure (default daily,hourly,check,dbclean)
  --repeat R       spanel/floor pairs per job, order alternating (default 1)
  --batch B        dbclean batch size, for spanel (DBCLEAN_BATCH_SIZE) and the batched floor alike
                   (default: spanel's own default)
  --reuse          keep the seeded database from an earlier run with the same sizes
  --no-build       run ./bin/spanel as it is instead of a private build of the sources
  --keep           leave the bench databases and Redis keys behind
  --profile        run spanel's jobs under --cpu-prof (profiles in $TMPDIR/spanel-bench-profiles/)
  --no-cli-floor   skip the second floor of daily/hourly (mariadb client + redis-cli --pipe)
env: BENCH_DATABASE_URL (default mysql://root@127.0.0.1:3306/bench; the name must start with "bench"),
     BENCH_REDIS_URL (default redis://127.0.0.1:6379)`;

export function parseArgs(argv) {
  const o = { ...DEFAULTS, reuse: false, build: true, keep: false, profile: false };
  const num = (flag, v) => {
    const n = Number(String(v).replace(/_/g, ''));
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive whole number, got ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--users') o.users = num(a, next());
    else if (a === '--logs') o.logs = num(a, next());
    else if (a === '--orders') o.orders = num(a, next());
    else if (a === '--repeat') o.repeat = num(a, next());
    else if (a === '--batch') o.batch = num(a, next());
    else if (a === '--jobs') o.jobs = next().split(',').map((s) => s.trim()).filter(Boolean);
    else if (a === '--reuse') o.reuse = true;
    else if (a === '--no-build') o.build = false;
    else if (a === '--keep') o.keep = true;
    else if (a === '--profile') o.profile = true;
    else if (a === '--no-cli-floor') o.noCliFloor = true;
    else if (a === '--help' || a === '-h') o.help = USAGE;
    else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  for (const j of o.jobs) if (!DEFAULTS.jobs.includes(j)) throw new Error(`unknown job ${j} (expected ${DEFAULTS.jobs.join(', ')})`);
  if (o.users < 2000) throw new Error('--users must be at least 2000 (the mix needs room for every threshold)');
  return o;
}

/** The bench database and its pristine copy; refuses anything whose name does not start with "bench". */
export function benchTarget(env = process.env) {
  const raw = env.BENCH_DATABASE_URL || 'mysql://root@127.0.0.1:3306/bench';
  const u = new URL(raw);
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') throw new Error(`BENCH_DATABASE_URL must be a mysql:// URL (got ${u.protocol})`);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!/^bench\w*$/.test(database)) {
    throw new Error(`refusing to use database "${database}": the benchmark drops and recreates its database, so its name must start with "bench"`);
  }
  const pristine = `${database}_pristine`;
  const server = { host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username || 'root'), password: decodeURIComponent(u.password) };
  const spanelUrl = new URL(raw);
  spanelUrl.protocol = 'mysql:';
  const safe = new URL(spanelUrl);
  if (safe.password) safe.password = '***';
  return { url: spanelUrl.toString(), safeUrl: safe.toString(), database, pristine, server };
}

export function redisUrl(env = process.env) {
  return env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379';
}

/**
 * Key prefix of the bench's snapshots: nothing else on a shared Redis starts with it, and two
 * benches on different databases (BENCH_DATABASE_URL) do not share keys either.
 */
export const REDIS_PREFIX = `spanelbench:${benchTarget().database}:`;

export async function connect(target, database = target.database) {
  return mysql.createConnection({
    ...target.server,
    database: database ?? undefined,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: false,
    multipleStatements: false,
    charset: 'utf8mb4',
  });
}

/** Panel-local wall time `YYYY-MM-DD HH:mm:ss` of a Unix second, as spanel's Clock renders it. */
export function panelLocal(unix, timezone = TIMEZONE) {
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
  const p = Object.fromEntries(fmt.formatToParts(new Date(unix * 1000)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/** One calendar month back in panel time (the 31st falls back to the month's last day). */
export function panelMonthAgo(unix, timezone = TIMEZONE) {
  const [date, time] = panelLocal(unix, timezone).split(' ');
  let [y, m, d] = date.split('-').map(Number);
  m -= 1;
  if (m < 1) {
    m = 12;
    y -= 1;
  }
  d = Math.min(d, new Date(Date.UTC(y, m, 0)).getUTCDate());
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')} ${time}`;
}

/** `YYYYMMDD HH:mm:ss`, the prefix of warnings in user.warming. */
export function warningStamp(unix, timezone = TIMEZONE) {
  const [date, time] = panelLocal(unix, timezone).split(' ');
  return `${date.replace(/-/g, '')} ${time}`;
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? null : n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

export const seconds = (ms) => (ms === null || ms === undefined ? null : Math.round(ms) / 1000);

export function log(msg) {
  const t = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[bench ${t}] ${msg}\n`);
}

export async function timed(label, fn) {
  const t0 = performance.now();
  const out = await fn();
  log(`${label}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return out;
}
