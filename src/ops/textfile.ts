import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A Prometheus text-format file for node_exporter's textfile collector, shared by several
 * writers (one per job). Each writer replaces only its own series: read, merge, write a temp
 * file in the same directory, rename it over the file. rename(2) is atomic, so the collector
 * never reads half a file; a lock file around read-merge-write keeps two jobs finishing at the
 * same moment from dropping each other's series.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: string;
}

export interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseSamples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = SAMPLE.exec(line.trim());
    if (!m || line.startsWith('#')) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = unescape(l[2]!);
    out.push({ name: m[1]!, labels, value: m[3]! });
  }
  return out;
}

/** Families in the given order, each with HELP and TYPE once and its samples together. */
export function renderSamples(families: Family[], samples: Sample[]): string {
  const lines: string[] = [];
  for (const f of families) {
    const own = samples.filter((s) => s.name === f.name);
    if (own.length === 0) continue;
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of own) lines.push(`${s.name}${renderLabels(s.labels)} ${s.value}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** Replaces the file's samples through `merge(current)`, under the lock, atomically. */
export async function updateTextfile(
  path: string,
  merge: (current: Sample[]) => string,
  opts: { lockWaitMs?: number; ownPrefix?: string } = {},
): Promise<void> {
  const release = await lock(`${join(dirname(path), `.${basename(path)}.lock`)}`, opts.lockWaitMs ?? 5000);
  try {
    const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    });
    if (opts.ownPrefix !== undefined) assertOwnFile(path, text, opts.ownPrefix);
    const current = parseSamples(text);
    await writeAtomically(path, merge(current));
  } finally {
    await release();
  }
}

/**
 * The file is replaced whole, so it must hold nothing but our own series: a path pointing at some
 * other file (a typo in SPANEL_METRICS_FILE, another exporter's textfile) is refused, not
 * overwritten. Thrown as an error, which the metrics observer logs as a warning.
 */
function assertOwnFile(path: string, text: string, prefix: string): void {
  const lines = text.split('\n');
  const bad = lines.findIndex((raw) => {
    const line = raw.trim();
    if (line === '') return false;
    if (line.startsWith('#')) return !new RegExp(`^# (HELP|TYPE) ${prefix}`).test(line);
    const m = SAMPLE.exec(line);
    return !m || !m[1]!.startsWith(prefix);
  });
  if (bad >= 0) {
    throw new Error(
      `${path} is not a spanel metrics file (line ${bad + 1} is not a ${prefix}* series), so it was left untouched: point SPANEL_METRICS_FILE or --metrics-file at a file of spanel's own, e.g. /var/lib/node_exporter/textfile_collector/spanel.prom`,
    );
  }
}

/** Temp file in the same directory (same filesystem, so rename is atomic), then rename over. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  // The collector reads only *.prom files, so it never picks up the temp file.
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fh = await open(tmp, 'wx', 0o644);
    try {
      await fh.writeFile(text);
      // node_exporter runs as another user, and the units' UMask=0027 would hide the file from it.
      await fh.chmod(0o644);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** A lock held for milliseconds; one older than STALE_MS belongs to a writer that died holding it. */
const STALE_MS = 30_000;

async function lock(path: string, waitMs: number): Promise<() => Promise<void>> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fh = await open(path, 'wx', 0o644);
      await fh.close();
      return () => unlink(path).catch(() => undefined);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const age = await stat(path).then((s) => Date.now() - s.mtimeMs, () => 0);
    if (age > STALE_MS) {
      await unlink(path).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${path} is held by another writer for over ${waitMs} ms`);
    await sleep(10 + Math.random() * 20);
  }
}

function renderLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}`;
}

function escape(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function unescape(v: string): string {
  return v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}
