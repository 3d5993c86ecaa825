import { userInfo } from 'node:os';
import type { ChalkInstance } from 'chalk';
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
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
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
  /** Problems with the configuration that do not stop a run (a world-readable env file). */
  configWarnings: string[];
  /** Colours for stdout, as chalk detects them (NO_COLOR, FORCE_COLOR, a terminal). */
  chalk: ChalkInstance;
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
  const { settings, warnings } = loadSettings({ env, cwd: io.cwd, envFile: opts.envFile, require, unchecked });
  const runOptions = parseRunOptions(opts, io.env);
  const terminal = await terminalOutput(io, Boolean(opts.json));
  const { createLogger } = await import('../log.js');
  const log = await createLogger(settings.logLevel, io.stderr, terminal.pretty);
  for (const w of warnings) log.warn(w);
  const chalk = terminal.chalk;
  const print = (result: RunResult): number => {
    io.stdout.write(opts.json ? renderJson(result) : renderHuman(result, chalk, { width: io.stdout.columns || undefined }));
    if (result.error && !opts.json) io.stderr.write(`spanel: ${result.error}\n`);
    return result.exitCode;
  };
  return {
    io,
    settings,
    log,
    opts,
    runOptions,
    chalk,
    configWarnings: warnings,
    say: (text) => {
      if (!opts.json) io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    print,
    async execute(spec, extra) {
      const { createObservers } = await import('../ops/observers.js');
      const observers = extra?.observers ?? (await createObservers(settings, log, spec));
      const result = await runCommand(spec, { settings, log, observers, handleSignals: io.handleSignals, progress: terminal.progress }, runOptions);
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
    nowFromServer: opts.now === undefined,
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

/**
 * What a terminal gets that a pipe, a log file or --json does not: colour (chalk's detection plus
 * NO_COLOR), readable log lines and a progress line on stderr.
 */
async function terminalOutput(io: Io, json: boolean) {
  const { Chalk } = await import('chalk');
  const { colourLevel, TerminalProgress } = await import('../output/terminal.js');
  const chalk = new Chalk({ level: await colourLevel(io.env, io.stdout) });
  if (!io.stderr.isTTY) return { chalk };
  const errChalk = new Chalk({ level: await colourLevel(io.env, io.stderr) });
  const progress = json ? undefined : new TerminalProgress(io.stderr);
  const paint = (level: number, text: string) => (level >= 50 ? errChalk.red(text) : level >= 40 ? errChalk.yellow(text) : errChalk.dim(text));
  return { chalk, progress, pretty: { colour: paint, beforeWrite: () => progress?.beforeWrite() } };
}
