import { createRequire } from 'node:module';
import { Command, CommanderError, Option } from 'commander';
import type { CommandContext, CommonOptions, Io } from './cli/context.js';
import type { SettingName } from './config/settings.js';
import { addExamples } from './cli/help.js';
import { EXIT, isUserError } from './errors.js';
import { registerSupportCommands } from './cli/support.js';
import { parseId } from './util/ids.js';
import { maskSecrets } from './util/mask.js';

/**
 * The thin command-line layer: declares commands and options, and loads a command's module
 * (and with it knex, ioredis, pino…) only when that command runs, so `--help` stays fast.
 */
export type Handler = (ctx: CommandContext, args: string[], opts: Record<string, unknown>) => Promise<number>;

const JOBS = {
  daily: 'Daily maintenance: traffic renewal, node heartbeat, daily traffic cap, unused accounts, statistics, class expiry',
  hourly: 'Hourly maintenance: hourly traffic cap, expire stale unpaid orders',
  check: 'Every 10 minutes: IP records, class expiry, delete expired accounts, negative balances',
  dbclean: 'Weekly: delete old log rows in short bounded batches',
} as const;

export async function main(argv: string[], io: Io): Promise<number> {
  let exitCode: number = EXIT.OK;
  const program = buildProgram(io, (code) => (exitCode = code));
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return EXIT.OK;
      if (argv.includes('--json')) {
        const error = maskSecrets(err.message.replace(/^error: /, ''));
        io.stdout.write(`${JSON.stringify({ command: null, outcome: 'failed', runId: null, error, exitCode: EXIT.USAGE })}\n`);
      }
      return EXIT.USAGE;
    }
    return reportError(err, io, argv.includes('--json') ? null : undefined);
  }
  return exitCode;
}

function buildProgram(io: Io, setExit: (code: number) => void): Command {
  const program = new Command('spanel')
    .description('Maintenance toolkit for SSPanel-style panels: scheduled jobs, payments, referrals')
    .version(VERSION, '-V, --version')
    .addOption(new Option('--env-file <path>', 'env file to load (default: ./.env; also SPANEL_ENV_FILE)'))
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => void io.stdout.write(s),
      writeErr: (s) => void io.stderr.write(s),
    })
    .exitOverride()
    .addHelpText(
      'after',
      `
All commands:
  job daily | hourly | check | dbclean   scheduled maintenance (docs/reference.md), one transaction each
  payment confirm <order>                confirm a paid order by hand, credit payer and referrers
  referral recover <user>                take back a registration reward
  migrate [--dry-run] | migrate status   create/upgrade tables, never dropping panel data
  doctor                                 check config, database, privileges, Redis, clocks
  config [--example]                     effective settings (masked), or a documented .env
  status                                 last run and overdue state of each job (monitoring)
  history [show <run>]                   recent runs; one run's counts and changed rows
  ledger <user> | ledger verify          a balance explained; audit every balance
  user show <user> | user restore <id>   one user on one screen; bring back a deleted user
  payment list                           find orders by user, status, time
  demo                                   everything above on an embedded SQLite panel
  completion bash | zsh | fish           shell completion script

Every command that changes data takes --dry-run, --now <ISO time> and --json.
Exit codes: 0 done, 1 failed (rolled back), 2 invalid input or configuration, 75 skipped (lock held).
Run "spanel <command> --help" for its options and an example.`,
    );

  const action =
    (load: () => Promise<Handler>, require: SettingName[] = ['databaseUrl'], unchecked: SettingName[] = []) =>
    async (...raw: unknown[]) => {
      const cmd = raw[raw.length - 1] as Command;
      const args = raw.slice(0, -2).map((a) => a as string);
      const opts = cmd.optsWithGlobals() as CommonOptions & Record<string, unknown>;
      try {
        const { createContext } = await import('./cli/context.js');
        const handler = await load();
        const ctx = await createContext(io, opts, require, unchecked);
        setExit(await handler(ctx, args, opts));
      } catch (err) {
        setExit(reportError(err, io, opts.json ? commandPath(cmd) : undefined));
      }
    };

  const job = program.command('job').description('Run a scheduled maintenance job (cron / systemd timers)');
  for (const [name, description] of Object.entries(JOBS)) {
    const c = job
      .command(name)
      .description(description)
      .exitOverride();
    mutating(c);
    c.option('--metrics-file <path>', 'Prometheus textfile for this run, overriding SPANEL_METRICS_FILE ({job} allowed)');
    if (name === 'check') c.option('--force', `delete even when more accounts qualify than MAX_DELETE_PER_RUN`);
    c.addHelpText('after', `\nExamples:\n  $ spanel job ${name} --dry-run            # what would change, row by row\n  $ spanel job ${name} --dry-run --now 2026-11-25T02:00:00+08:00\n  $ spanel job ${name}                      # for real (cron/systemd)`);
    c.action(action(async () => (await import('./commands/job.js')).jobHandler(name as keyof typeof JOBS)));
  }

  const payment = program.command('payment').description('Payments: confirm an order whose gateway notification was lost');
  mutating(
    payment
      .command('confirm')
      .description('Mark an order paid, credit the payer and pay referral commission, exactly once')
      .argument('<order>', 'paylist id of the order', idArgument('order id'))
      .option('--tradeno <tradeno>', "the gateway's transaction number to record")
      .option('--allow-expired', 'also confirm an order that expired (status -1)')
      .option('--operator <name>', 'who confirms, for the money ledger (default: the invoking OS user)')
      .exitOverride(),
  )
    .addHelpText('after', '\nExamples:\n  $ spanel payment confirm 1234 --dry-run\n  $ spanel payment confirm 1234 --tradeno 2026112522001 --operator alice')
    .action(action(async () => (await import('./commands/payment.js')).confirmHandler));

  const referral = program.command('referral').description('Referral rewards');
  mutating(
    referral
      .command('recover')
      .description("Take back a user's registration reward from whoever received it")
      .argument('<user>', 'id of the referred user (works after the user row is gone)', idArgument('user id'))
      .option('--operator <name>', 'who recovers, for the money ledger (default: the invoking OS user)')
      .exitOverride(),
  )
    .addHelpText('after', '\nExamples:\n  $ spanel referral recover 5678 --dry-run\n  $ spanel referral recover 5678')
    .action(action(async () => (await import('./commands/referral.js')).recoverHandler));

  const migrate = program
    .command('migrate')
    .description('Create or upgrade the panel and spanel tables (never drops or rewrites panel data)')
    .option('--dry-run', 'list what would be done, change nothing')
    .option('--json', 'print one JSON object')
    .exitOverride()
    .addHelpText('after', '\nExamples:\n  $ spanel migrate --dry-run\n  $ spanel migrate\n  $ spanel migrate status')
    .action(action(async () => (await import('./commands/migrate.js')).migrateHandler));
  migrate
    .command('status')
    .description('Show applied and pending migrations')
    .option('--json', 'print one JSON object')
    .exitOverride()
    .addHelpText('after', '\nExample:\n  $ spanel migrate status')
    .action(action(async () => (await import('./commands/migrate.js')).migrateStatusHandler));

  program
    .command('doctor')
    .description('Check configuration, database, privileges, migrations, Redis, time zone and clock skew')
    .option('--json', 'print one JSON object')
    .exitOverride()
    .addHelpText('after', '\nExample:\n  $ spanel --env-file /etc/spanel/spanel.env doctor')
    .action(action(async () => (await import('./commands/doctor.js')).doctorHandler, []));

  program
    .command('config')
    .description('Print the effective settings (passwords masked), or --example for a documented .env')
    .option('--example', 'print .env.example: every setting with its default and meaning')
    .option('--json', 'print one JSON object')
    .exitOverride()
    .addHelpText('after', '\nExamples:\n  $ spanel --env-file /etc/spanel/spanel.env config\n  $ spanel config --example > .env')
    .action(action(async () => (await import('./commands/config.js')).configHandler, []));

  program
    .command('status')
    .description('Last run, outcome and overdue state of every job (exit 1 when one needs attention)')
    .option('--json', 'print one JSON object')
    .option('--now <time>', 'judge overdue as of this ISO-8601 time')
    .exitOverride()
    .addHelpText('after', '\nExamples:\n  $ spanel status\n  $ spanel status --json   # for Nagios/monit-style checks: exit 0 healthy, 1 not')
    .action(action(async () => (await import('./commands/status.js')).statusHandler));

  program
    .command('demo')
    .description('See every job work on an embedded SQLite panel (touches no configured database)')
    .option('--keep <path>', 'keep the demo database at PATH instead of a temporary file')
    .option('--json', 'print one JSON object per step')
    .exitOverride()
    .addHelpText('after', '\nExample:\n  $ npx spanel demo')
    // The demo ignores the configured database and Redis, so even invalid URLs must not stop it.
    .action(action(async () => (await import('./commands/demo.js')).demoHandler, [], ['databaseUrl', 'redisUrl']));

  registerSupportCommands(program, payment, action);

  program
    .command('completion')
    .description('Print a shell completion script (bash, zsh or fish)')
    .argument('<shell>', 'bash, zsh or fish')
    .exitOverride()
    .action(async (shell: string) => {
      try {
        io.stdout.write((await import('./commands/completion.js')).completionScript(shell, program));
      } catch (err) {
        setExit(reportError(err, io));
      }
    });
  addExamples(program);
  return program;
}

/**
 * Checks an id while the arguments are parsed, before settings are loaded: "abc" is then
 * refused as a bad id (exit 2, one line) even on a host whose configuration is incomplete.
 */
function idArgument(what: string): (raw: string) => string {
  return (raw) => {
    parseId(raw, what);
    return raw;
  };
}

/** --dry-run, --now, --json, --sample: the options of every command that changes data. */
function mutating(c: Command): Command {
  return c
    .option('--dry-run', 'run the same logic, report what would change, roll back and write nothing')
    .option('--now <time>', 'act as if it were this ISO-8601 time, e.g. 2026-11-25T02:00:00+08:00')
    .option('--json', 'print one machine-readable JSON object instead of the summary')
    .option('--sample <n>', 'changed rows listed per step (default SPANEL_SAMPLE_SIZE, 20)');
}

/**
 * A failure before a run starts (configuration, arguments, unreachable database): one line on
 * stderr, and under --json also one object on stdout, so a caller parsing stdout always gets one.
 */
function reportError(err: unknown, io: Io, jsonCommand?: string | null): number {
  let code: number;
  let message: string;
  if (isUserError(err)) {
    message = maskSecrets(err.message);
    io.stderr.write(`spanel: ${message}\n`);
    code = err.exitCode;
  } else {
    const e = err as Error;
    message = maskSecrets(`internal error: ${e?.message ?? String(err)}`);
    io.stderr.write(`spanel: internal error (a bug, please report it): ${maskSecrets(e?.stack ?? String(err))}\n`);
    code = EXIT.FAILED;
  }
  if (jsonCommand !== undefined) io.stdout.write(`${JSON.stringify({ command: jsonCommand, outcome: 'failed', runId: null, error: message, exitCode: code })}\n`);
  return code;
}

function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c && c.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** package.json is one level up from src/ (tests) and from dist/spanel.cjs (the bundle). */
function readVersion(): string {
  const require = createRequire(import.meta.url);
  for (const path of ['../../package.json', '../package.json']) {
    try {
      const pkg = require(path) as { name?: string; version?: string };
      if (pkg.name === 'spanel' && pkg.version) return pkg.version;
    } catch {
      /* try the next layout */
    }
  }
  return 'unknown';
}

const VERSION = readVersion();
