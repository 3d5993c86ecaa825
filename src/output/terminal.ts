import type { ProgressSink, ProgressUpdate } from '../runner/types.js';
import { groupDigits } from './format.js';

type Env = Record<string, string | undefined>;
type Stream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/**
 * The colour level of one output stream. For the real process this is chalk's own detection
 * (FORCE_COLOR, TERM, CI, `--no-color`…), plus NO_COLOR, which chalk does not read (no-color.org);
 * FORCE_COLOR wins over NO_COLOR, as in Node itself. For another stream or environment (tests,
 * the demo writing to a file) the same two variables decide, then whether it is a terminal.
 */
export async function colourLevel(env: Env, stream: Stream): Promise<0 | 1 | 2 | 3> {
  const forced = forceColor(env.FORCE_COLOR);
  if (forced !== undefined) return forced;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  if (env === process.env && (stream === process.stdout || stream === process.stderr)) {
    const { supportsColor, supportsColorStderr } = await import('chalk');
    const s = stream === process.stdout ? supportsColor : supportsColorStderr;
    return s ? s.level : 0;
  }
  return stream.isTTY && env.TERM !== 'dumb' ? 1 : 0;
}

/** FORCE_COLOR as chalk reads it: "", "true" → 1, "false" → 0, "0".."3". */
function forceColor(v: string | undefined): 0 | 1 | 2 | 3 | undefined {
  if (v === undefined) return undefined;
  if (v === '' || v === 'true') return 1;
  if (v === 'false') return 0;
  const n = Number.parseInt(v, 10);
  return Number.isNaN(n) ? undefined : (Math.max(0, Math.min(n, 3)) as 0 | 1 | 2 | 3);
}

/** Redraws at most this often: "a few times a second" reads as motion without flooding a slow terminal. */
export const REDRAW_MS = 250;

/**
 * One status line on a terminal's stderr, redrawn in place ("\r" + erase line): rows done, rate,
 * and when the step knows how far it is, percent and time left. It is only ever created for a
 * terminal (never in a pipe, a log file or under --json), and log lines written through
 * `beforeWrite` erase it first so the two never share a line.
 */
export class TerminalProgress implements ProgressSink {
  private shown = false;
  private lastDraw = -Infinity;

  constructor(
    private readonly out: Stream,
    private readonly now: () => number = () => performance.now(),
  ) {}

  step(title: string): (p: ProgressUpdate) => void {
    const started = this.now();
    return (p) => {
      const t = this.now();
      if (t - this.lastDraw < REDRAW_MS) return;
      this.lastDraw = t;
      this.draw(progressLine(title, p, (t - started) / 1000));
    };
  }

  clear(): void {
    if (this.shown) this.out.write('\r\x1b[2K');
    this.shown = false;
  }

  /** Called before a log line goes to the same terminal. */
  beforeWrite(): void {
    this.clear();
  }

  private draw(line: string): void {
    const width = Math.max(20, (this.out.columns || 80) - 1);
    this.out.write(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
    this.shown = true;
  }
}

/** "Log retention: ss_node_info 1,234,567 rows deleted · 41,000/s · 37% · 1m 20s left". */
export function progressLine(title: string, p: ProgressUpdate, elapsedSeconds: number): string {
  const what = p.what ?? 'rows';
  const parts = [`${title}: ${groupDigits(p.done)}${p.total != null ? `/${groupDigits(p.total)}` : ''} ${what}`];
  if (elapsedSeconds > 0) parts.push(`${groupDigits(p.done / elapsedSeconds)}/s`);
  const fraction = p.fraction ?? (p.total ? p.done / p.total : undefined);
  if (fraction !== undefined && Number.isFinite(fraction)) {
    const f = Math.min(1, Math.max(0, fraction));
    parts.push(`${Math.floor(f * 100)}%`);
    if (f > 0 && elapsedSeconds > 0) parts.push(`${duration((elapsedSeconds * (1 - f)) / f)} left`);
  }
  return parts.join(' · ');
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/**
 * pino's JSON lines made readable at a terminal: "02:00:01.234 INFO  step done step=renewal count=3".
 * Written here rather than taking pino-pretty: a dozen lines, where pino-pretty brings a dozen
 * packages and a worker thread into every run. Anything that is not a pino line passes unchanged.
 */
export function prettyLogLine(line: string, colour: (level: number, text: string) => string = (_, t) => t): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof o !== 'object' || o === null || typeof o.level !== 'number') return line;
  const { level, time, msg, pid, hostname, name, err, ...rest } = o;
  void pid;
  void hostname;
  void name;
  const when = typeof time === 'number' ? clockTime(new Date(time)) : '';
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  const head = `${when} ${colour(level as number, (LEVELS[level as number] ?? String(level)).padEnd(5))} ${String(msg ?? '')}`;
  const stack = err && typeof err === 'object' ? `\n    ${String((err as { stack?: string; message?: string }).stack ?? (err as { message?: string }).message)}` : '';
  return `${[head, ...fields].join(' ')}${stack}\n`;
}

/** The host's local wall time: the operator reads logs against the clock on the wall. */
function clockTime(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}
