import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { main } from '../../src/cli.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'spanel');

/** A working directory with no .env, so only the env given to a run counts. */
const EMPTY_CWD = mkdtempSync(join(tmpdir(), 'spanel-cwd-'));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json<T = any>(): T;
}

/** Base env for a run: LOG_LEVEL silent unless a test asks, no host settings leaking in. */
function baseEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  return { LOG_LEVEL: 'silent', PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env };
}

/** Runs the CLI in this process (fast): same code path as bin/spanel minus signal handling. */
export async function runCli(args: string[], env: Record<string, string | undefined> = {}, cwd = EMPTY_CWD): Promise<CliResult> {
  const out = collect();
  const err = collect();
  const code = await main(args, { stdout: out.stream, stderr: err.stream, env: baseEnv(env), cwd, handleSignals: false });
  return result(code, out.text(), err.text());
}

/** Runs the real bin/spanel as a child process (for concurrency, signals, exit codes). */
export function spawnCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  opts: { cwd?: string; onSpawn?: (pid: number) => void } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // '--': Node 20 would otherwise take a --env-file among the args for itself (see bin/spanel).
    const child = spawn(process.execPath, ['--', BIN, ...args], {
      cwd: opts.cwd ?? EMPTY_CWD,
      env: baseEnv(env) as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    if (child.pid) opts.onSpawn?.(child.pid);
    child.on('close', (code, signal) => resolve(result(code ?? (signal ? 128 : 1), stdout, stderr)));
  });
}

function collect() {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

function result(code: number, stdout: string, stderr: string): CliResult {
  return {
    code,
    stdout,
    stderr,
    json: () => JSON.parse(stdout),
  };
}
