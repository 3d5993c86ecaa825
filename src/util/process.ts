/**
 * Whether a process of this host still exists. Signal 0 checks without sending anything; EPERM
 * means it exists but belongs to another user, so only "no such process" counts as gone.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
