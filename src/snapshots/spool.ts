import { rmSync } from 'node:fs';
import { mkdtemp, open, readdir, rm, stat, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OperationError } from '../errors.js';
import type { Snapshot } from './store.js';
import { processAlive } from '../util/process.js';

/**
 * One record: user id and total, both signed 64-bit in the machine's byte order (the file is
 * written and read by the same run and never leaves it).
 */
const RECORD_BYTES = 16;

/**
 * Snapshots waiting for the commit, on disk rather than in memory so that a scan of any number
 * of users stays flat. Written batch by batch during the scan, read back batch by batch after.
 */
export class SnapshotSpool {
  private count_ = 0;
  private handle: FileHandle | null;

  private constructor(
    readonly path: string,
    handle: FileHandle,
  ) {
    this.handle = handle;
  }

  static async create(path: string): Promise<SnapshotSpool> {
    return new SnapshotSpool(path, await open(path, 'wx', 0o600));
  }

  /** Snapshots appended so far. */
  get count(): number {
    return this.count_;
  }

  async append(batch: readonly Snapshot[]): Promise<void> {
    if (!this.handle) throw new Error(`snapshot spool ${this.path} is closed`);
    if (batch.length === 0) return;
    // A typed view writes each field without Buffer#writeBigInt64LE's per-call range checks
    // (the values are in range: ids are INTs, totals were checked against BIGINT_MAX).
    const words = new BigInt64Array(batch.length * 2);
    for (let i = 0; i < batch.length; i++) {
      const s = batch[i]!;
      words[2 * i] = BigInt(s.userId);
      words[2 * i + 1] = s.total;
    }
    const buf = Buffer.from(words.buffer, 0, words.byteLength);
    await this.handle.write(buf, 0, buf.length);
    this.count_ += batch.length;
  }

  /** The spooled snapshots in order, `size` at a time. Ends the appending. */
  async *batches(size: number): AsyncGenerator<Snapshot[]> {
    await this.closeHandle();
    const file = await open(this.path, 'r');
    try {
      // Its own (8-byte aligned) memory, so the BigInt64Array view below can be laid over it.
      const buf = Buffer.from(new BigInt64Array(size * 2).buffer);
      let position = 0;
      for (;;) {
        const { bytesRead } = await file.read(buf, 0, buf.length, position);
        const records = Math.floor(bytesRead / RECORD_BYTES);
        if (records === 0) return;
        position += records * RECORD_BYTES;
        const words = new BigInt64Array(buf.buffer, buf.byteOffset, records * 2);
        const batch: Snapshot[] = new Array(records);
        for (let i = 0; i < records; i++) batch[i] = { userId: Number(words[2 * i]), total: words[2 * i + 1]! };
        yield batch;
      }
    } finally {
      await file.close();
    }
  }

  async discard(): Promise<void> {
    await this.closeHandle();
    await rm(this.path, { force: true });
  }

  private async closeHandle(): Promise<void> {
    const h = this.handle;
    this.handle = null;
    await h?.close();
  }
}

/** `spanel-snapshots-<pid>-XXXXXX`: the pid tells a later run whether its owner is still alive. */
const DIR_PREFIX = 'spanel-snapshots-';
/** No job runs this long: a directory older than this is a leftover whatever its pid says. */
const STALE_MS = 2 * 86_400_000;

/**
 * Where spools may go, in order: TMPDIR (a systemd unit or cron may name one that does not
 * exist), then the system's own temporary directories.
 */
export function spoolParents(): string[] {
  return [...new Set([tmpdir(), '/var/tmp', '/tmp'])];
}

/**
 * The run's spool directory, a service so the runner's close() removes it whatever happened:
 * a spool whose transaction rolled back (or whose write failed) must not stay in /tmp. A signal
 * the runner handles ends in close() too; an exit that skips it removes the directory in the
 * process's 'exit' hook, and what only SIGKILL or a crash leaves behind is swept by the next run.
 * Nothing is created until a spool is asked for, so a dry run leaves no trace.
 */
export class SpoolDirectory {
  private dir: string | null = null;
  private spools: SnapshotSpool[] = [];
  private readonly onExit = () => {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  };

  constructor(private readonly parents: readonly string[] = spoolParents()) {}

  async create(name: string): Promise<SnapshotSpool> {
    this.dir ??= await this.makeDirectory();
    const spool = await SnapshotSpool.create(join(this.dir, `${name}-${this.spools.length}.bin`));
    this.spools.push(spool);
    return spool;
  }

  /** The directory, once a spool was created (for tests). */
  get path(): string | null {
    return this.dir;
  }

  async close(): Promise<void> {
    for (const s of this.spools) await s.discard().catch(() => undefined);
    this.spools = [];
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.dir = null;
    process.off('exit', this.onExit);
  }

  private async makeDirectory(): Promise<string> {
    for (const parent of this.parents) await sweepLeftovers(parent);
    const problems: string[] = [];
    for (const parent of this.parents) {
      try {
        const dir = await mkdtemp(join(parent, `${DIR_PREFIX}${process.pid}-`));
        process.on('exit', this.onExit);
        return dir;
      } catch (err) {
        problems.push(`${parent}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    throw new OperationError(`no directory for the snapshot spool (${problems.join(', ')}): set TMPDIR to a writable directory`);
  }
}

/**
 * Removes spool directories of runs that are gone (killed with SIGKILL, crashed, power cut):
 * those whose pid is no longer alive, and any older than no job runs. Best effort: a directory
 * it may not remove (another user's) stays.
 */
export async function sweepLeftovers(parent: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(parent);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const path = join(parent, name);
    const pid = /^spanel-snapshots-(\d+)-/.exec(name)?.[1];
    try {
      const old = Date.now() - (await stat(path)).mtimeMs > STALE_MS;
      // Directories of older versions carry no pid: only age tells.
      const dead = pid === undefined ? old : Number(pid) !== process.pid && !processAlive(Number(pid));
      if (!dead && !old) continue;
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    } catch {
      // gone already, or not ours
    }
  }
  return removed;
}


