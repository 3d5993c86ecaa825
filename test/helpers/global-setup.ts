import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { assertServicesReachable } from './services.js';

/**
 * Runs once per `vitest run`: services must be up, and dist/ must match the sources because
 * some tests run the real `bin/spanel` as a child process.
 */
export default async function setup(): Promise<void> {
  await assertServicesReachable();
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, '-p', `${root}/tsconfig.json`], {
    cwd: root,
    stdio: 'inherit',
  });
}
