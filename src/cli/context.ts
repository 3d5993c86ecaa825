import { userInfo } from 'node:os';
import type { Logger } from 'pino';
import { loadSettings, type Env } from '../config/load.js';
import type { SettingName, Settings } from '../config/settings.js';
import { UsageError } from '../errors.js';
import { renderHuman, renderJson } from '../output/render.js';
import type { RunObserver } from '../runner/observer.js';
import { runCommand, type RunOptions } from '../runner/run.js';
import type { CommandSpec, RunResult } from '../runner/types.js';
import { parseOperator } from '../ledger/operator.js';
import { parseNow } from '../time/clock.js';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Env;
  cwd: string;
  /** The real CLI handles SIGINT/SIGTERM; in-process callers (tests) do not. */
  handleSignals: boolean;
}

/** Options every command accepts (commander merges global ones in). */
export interface CommonOptions {
  envFile?: string;
  json?: boolean;
  dryRun?: boolean;
  now?: string;
  force?: boolean;
  sample?: string;
  operator?: string;
  metricsFile?: string;
}

export interface CommandContext {
  io: Io;
  settings: Settings;
  log: Logger;
  opts: CommonOptions;
  runOptions: RunOptions;
  /** Prints what a command wants to say to a human (suppressed under --json). */
  say(text: string): void;
  /** Runs a command spec through the runner, prints its report, returns the exit code. */
  execute(spec: CommandSpec, extra?: { observers?: RunObserver[] }): Promise<number>;
  /** Prints a finished result (for commands that call runCommand themselves). */
  print(result: RunResult): number;
}

export async function createContext(
  io: Io,
  opts: CommonOptions,
  require: SettingName[] = ['databaseUrl'],
  unchecked: SettingName[] = [],
): Promise<CommandContext> {
  // --metrics-file goes through the same parser as SPANEL_METRICS_FILE, and wins over it.
  const env = opts.metricsFile !== undefined ? { ...io.env, SPANEL_METRICS_FILE: opts.metricsFile } : io.env;
  const { settings } = loadSettings({ env, cwd: io.cwd, envFile: opts.envFile, require, unchecked });
  const runOptions = parseRunOptions(opts, io.env);
  const { createLogger } = await import('../log.js');
  const log = await createLogger(settings.logLevel, io.stderr);
  const chalk = await colour(io);
  const print = (result: RunResult): number => {
    io.stdout.write(opts.json ? renderJson(result) : renderHuman(result, chalk));
    if (result.error && !opts.json) io.stderr.write(`spanel: ${result.error}\n`);
    return result.exitCode;
  };
  return {
    io,
    settings,
    log,
    opts,
    runOptions,
    say: (text) => {
      if (!opts.json) io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    print,
    async execute(spec, extra) {
      const { createObservers } = await import('../ops/observers.js');
      const observers = extra?.observers ?? (await createObservers(settings, log, spec));
      const result = await runCommand(spec, { settings, log, observers, handleSignals: io.handleSignals }, runOptions);
      return print(result);
    },
  };
}

export function parseRunOptions(opts: CommonOptions, env: Env): RunOptions {
  let now = new Date();
  if (opts.now !== undefined) {
    const parsed = parseNow(opts.now);
    if (typeof parsed === 'string') throw new UsageError(`invalid --now ${JSON.stringify(opts.now)}: ${parsed}`);
    now = parsed;
  }
  let sampleSize: number | undefined;
  if (opts.sample !== undefined) {
    if (!/^\d{1,5}$/.test(opts.sample)) throw new UsageError(`invalid --sample ${JSON.stringify(opts.sample)}: expected a whole number from 0 to 99999`);
    sampleSize = Number(opts.sample);
  }
  return {
    dryRun: Boolean(opts.dryRun),
    force: Boolean(opts.force),
    now,
    operator: parseOperator(opts.operator) ?? invokingUser(env),
    ...(sampleSize !== undefined ? { sampleSize } : {}),
  };
}

/** Behind sudo, the person who ran it, not root. */
function invokingUser(env: Env): string {
  if (env.SUDO_USER) return env.SUDO_USER;
  try {
    return userInfo().username;
  } catch {
    return env.USER ?? 'unknown';
  }
}

async function colour(io: Io) {
  const { Chalk } = await import('chalk');
  const noColor = io.env.NO_COLOR !== undefined && io.env.NO_COLOR !== '';
  const level = !noColor && io.stdout.isTTY ? 1 : 0;
  return new Chalk({ level: level as 0 | 1 });
}
