import type { Command } from 'commander';
import type { Handler } from '../cli.js';
import type { SettingName } from '../config/settings.js';

type Action = (load: () => Promise<Handler>, require?: SettingName[], unchecked?: SettingName[]) => (...raw: unknown[]) => Promise<void>;

/**
 * The support and audit commands (issue 15): history, ledger, user show/restore, payment list.
 * Declared here so that cli.ts stays a list of one-line registrations.
 */
export function registerSupportCommands(program: Command, payment: Command, action: Action): void {
  const history = program
    .command('history')
    .description('Recent runs: command, start (panel time), duration, outcome, operator, host, rows changed')
    .option('--command <command>', 'only runs of this command ("job daily", or just "daily")')
    .option('--since <time>', 'only runs started since: 24h, 7d, 2026-11-25 (panel time) or an ISO-8601 time')
    .option('--limit <n>', 'at most this many runs (default 20)')
    .option('--json', 'print one JSON object')
    .exitOverride()
    .addHelpText('after', '\nExamples:\n  $ spanel history --command daily --since 7d\n  $ spanel history show 1234')
    .action(action(async () => (await import('../commands/history.js')).historyHandler));
  history
    .command('show')
    .description('One run: arguments, per-step counts, errors, and the rows it changed (before → after)')
    .argument('<run>', 'run id (from `spanel history`)')
    .option('--json', 'print one JSON object')
    .exitOverride()
    .addHelpText('after', '\nExample:\n  $ spanel history show 1234')
    .action(action(async () => (await import('../commands/history.js')).historyShowHandler));

  const ledger = program
    .command('ledger')
    .description("A user's balance explained: every change spanel made, and whether the balance still matches")
    .argument('<user>', 'user id or email (also a deleted user)')
    .option('--json', 'print one JSON object')
    .exitOverride()
    .addHelpText('after', '\nExamples:\n  $ spanel ledger 1234\n  $ spanel ledger alice@example.com\n  $ spanel ledger verify')
    .action(action(async () => (await import('../commands/ledger.js')).ledgerHandler));
  ledger
    .command('verify')
    .description("Audit: every user's ledger chain is continuous and ends at the current balance (exit 1 lists those that differ)")
    .option('--user <id>', 'only this user')
    .option('--json', 'print one JSON object')
    .exitOverride()
    .addHelpText('after', '\nExamples:\n  $ spanel ledger verify\n  $ spanel ledger verify --user 1234 --json')
    .action(action(async () => (await import('../commands/ledger.js')).ledgerVerifyHandler));

  payment
    .command('list')
    .description('Find orders: by user, status and time, newest first')
    .option('--user <user>', 'user id or email')
    .option('--status <status>', 'unpaid, paid or expired')
    .option('--since <time>', 'created since: 24h, 7d, 2026-11-25 (panel time) or an ISO-8601 time')
    .option('--limit <n>', 'at most this many orders (default 50)')
    .option('--json', 'print one JSON object')
    .exitOverride()
    .addHelpText('after', '\nExamples:\n  $ spanel payment list --user alice@example.com --status unpaid\n  $ spanel payment list --since 24h')
    .action(action(async () => (await import('../commands/payment-list.js')).paymentListHandler));

  const user = program.command('user').description('Look up a user; restore a deleted one from the archive');
  user
    .command('show')
    .description('Balance, plan, state, traffic, referrals, rewards, orders, and which job rule acts on the user next')
    .argument('<user>', 'user id or email')
    .option('--json', 'print one JSON object')
    .option('--now <time>', 'judge as of this ISO-8601 time')
    .exitOverride()
    .addHelpText('after', '\nExamples:\n  $ spanel user show 1234\n  $ spanel user show alice@example.com --json')
    .action(action(async () => (await import('../commands/user.js')).userShowHandler));
  user
    .command('restore')
    .description('Bring a deleted user back from the archive with its dependent rows, in one transaction')
    .argument('<user>', 'id of the deleted user')
    .option('--with-reward', 'also take back the recovery of its referral reward made when it was deleted')
    .option('--operator <name>', 'who restores, for the money ledger (default: the invoking OS user)')
    .option('--dry-run', 'run the same logic, report what would change, roll back and write nothing')
    .option('--now <time>', 'act as if it were this ISO-8601 time')
    .option('--json', 'print one machine-readable JSON object instead of the summary')
    .option('--sample <n>', 'changed rows listed per step (default SPANEL_SAMPLE_SIZE, 20)')
    .exitOverride()
    .addHelpText('after', '\nExamples:\n  $ spanel user restore 1234 --dry-run\n  $ spanel user restore 1234 --with-reward --operator alice')
    .action(action(async () => (await import('../commands/user.js')).userRestoreHandler));
}
