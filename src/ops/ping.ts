import type { Logger } from 'pino';
import type { RunObserver } from '../runner/observer.js';
import type { RunResult } from '../runner/types.js';
import { pingUrlFor } from './ping-targets.js';

export interface PingOptions {
  /** The job's check URL (success); /start and /fail are derived from it. */
  url: string;
  job: string;
  timeoutSeconds: number;
  log: Logger;
}

/**
 * Healthchecks-style pings around a real run: `/start` before the steps, the URL itself on
 * success, `/fail` otherwise (failed, partial, interrupted). The runner calls observers only for
 * real runs, after the lock is taken, so a dry run or a skipped run (exit 75) pings nothing.
 * A ping never throws: a slow or unreachable endpoint costs at most the timeout and a warning.
 */
export function pingObserver(o: PingOptions): RunObserver {
  return {
    name: 'ping',
    onStart: () => ping(o, 'start', ''),
    onFinish: (result) => (result.outcome === 'success' ? ping(o, 'success', summary(result)) : ping(o, 'fail', failure(result))),
  };
}

async function ping(o: PingOptions, kind: 'start' | 'success' | 'fail', body: string): Promise<void> {
  const { url, authorization } = withoutCredentials(pingUrlFor(o.url, kind));
  try {
    const res = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/plain; charset=utf-8', 'user-agent': 'spanel', ...authorization },
      signal: AbortSignal.timeout(o.timeoutSeconds * 1000),
    });
    await res.body?.cancel().catch(() => undefined);
    if (!res.ok) o.log.warn({ job: o.job, ping: kind, target: where(url), status: res.status }, 'health ping was refused; the job is not affected');
    else o.log.debug({ job: o.job, ping: kind }, 'health ping sent');
  } catch (err) {
    const e = err as Error;
    const reason = e.name === 'TimeoutError' ? `no answer within ${o.timeoutSeconds} s` : causeOf(e);
    o.log.warn({ job: o.job, ping: kind, target: where(url), reason }, 'health ping failed; the job is not affected');
  }
}

/**
 * fetch() refuses a URL with `user:pass@` in it, so every ping would fail: the credentials go
 * into a Basic Authorization header instead, which is what they mean in a URL.
 */
export function withoutCredentials(raw: string): { url: string; authorization: Record<string, string> } {
  const u = new URL(raw);
  if (!u.username && !u.password) return { url: raw, authorization: {} };
  const pair = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
  u.username = '';
  u.password = '';
  return { url: u.toString(), authorization: { authorization: `Basic ${Buffer.from(pair).toString('base64')}` } };
}

/** Healthchecks shows the request body in its log: a one-line summary is enough. */
function summary(r: RunResult): string {
  const steps = r.steps.map((s) => `${s.name} ${s.count}`).join(', ');
  return `spanel ${r.command}: success in ${(r.durationMs / 1000).toFixed(1)} s${steps ? `; rows changed: ${steps}` : ''}\n`;
}

function failure(r: RunResult): string {
  return `spanel ${r.command}: ${r.outcome} after ${(r.durationMs / 1000).toFixed(1)} s: ${r.error ?? 'no message'}\n`;
}

/** Ping URLs embed a secret (UUID or ping key): logs name only the host. */
function where(url: string): string {
  return new URL(url).host;
}

function causeOf(e: Error): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? e.message;
}
