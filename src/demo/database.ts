import { closeSync, existsSync, lstatSync, mkdtempSync, openSync, readSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { UsageError } from '../errors.js';

/**
 * Stamped into the SQLite header (PRAGMA application_id, "SPDM") of every demo database, so that
 * `--keep PATH` can replace an earlier demo file and refuse to overwrite anything else.
 */
export const DEMO_APPLICATION_ID = 0x5350444d;

const SQLITE_MAGIC = 'SQLite format 3\0';

export interface DemoFile {
  path: string;
  /** A temporary file (deleted at the end), or the --keep PATH. */
  temporary: boolean;
  /** An earlier demo database at the --keep PATH was replaced. */
  replaced: boolean;
  /** Deletes a temporary file and its directory; a kept file stays. */
  cleanup(): void;
}

/** Where the demo database goes: a fresh temporary directory, or PATH after the safety checks. */
export function prepareDemoFile(keep: string | undefined, cwd: string): DemoFile {
  if (keep === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'spanel-demo-'));
    const path = join(dir, 'panel.sqlite');
    stamp(path);
    return { path, temporary: true, replaced: false, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  }
  if (keep.trim() === '') throw new UsageError('--keep needs a file path, for example --keep ./demo.sqlite');
  const path = resolve(cwd, keep);
  if (!existsSync(dirname(path)) || !statSync(dirname(path)).isDirectory()) {
    throw new UsageError(`--keep ${keep}: directory ${dirname(path)} does not exist; create it or choose another path`);
  }
  // existsSync follows a link: a dangling one looks absent, and the demo would write through it
  // to wherever it points. The database's -wal/-shm companions are opened by SQLite the same way.
  const link = [path, `${path}-wal`, `${path}-shm`].find((p) => lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink());
  if (link) {
    throw new UsageError(`--keep ${keep}: ${link} is a symbolic link, and the demo does not write through links; give the path of a plain file`);
  }
  const replaced = existsSync(path);
  if (replaced) {
    if (!isDemoDatabase(path)) {
      throw new UsageError(
        `--keep ${keep}: ${path} exists and is not a spanel demo database, so the demo will not overwrite it; choose a new path (or delete that file yourself if you are sure)`,
      );
    }
    for (const p of [path, `${path}-wal`, `${path}-shm`]) rmSync(p, { force: true });
  }
  stamp(path);
  return { path, temporary: false, replaced, cleanup: () => undefined };
}

/** A SQLite file whose header carries the demo's application id; anything else is not ours. */
export function isDemoDatabase(path: string): boolean {
  let header: Buffer;
  try {
    if (!statSync(path).isFile()) return false;
    const fd = openSync(path, 'r');
    try {
      header = Buffer.alloc(100);
      if (readSync(fd, header, 0, 100, 0) < 100) return false;
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
  return header.toString('latin1', 0, 16) === SQLITE_MAGIC && header.readInt32BE(68) === DEMO_APPLICATION_ID;
}

/**
 * Creates the file with the id in its header before knex opens it in WAL mode, so the mark is
 * on disk from the first moment (a demo that crashes midway can still be replaced by the next).
 */
function stamp(path: string): void {
  const db = new BetterSqlite3(path);
  try {
    db.pragma(`application_id = ${DEMO_APPLICATION_ID}`);
  } catch (err) {
    db.close();
    unlinkSync(path);
    throw err;
  }
  db.close();
}
