import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assertServicesReachable } from './services.js';

/**
 * Runs once per `vitest run`: services must be up, and the bundled CLI (dist/spanel.cjs) must
 * match the sources because some tests run the real `bin/spanel` as a child process. Type errors
 * are `npm run typecheck`'s to report; the bundle is built regardless.
 */
export default async function setup(): Promise<void> {
  await assertServicesReachable();
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync(process.execPath, [`${root}/scripts/bundle.mjs`], { cwd: root, stdio: 'pipe' });
}
