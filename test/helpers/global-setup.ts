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
  // Type errors do not stop the emit (npm run typecheck is where they fail the build), so one
  // unfinished module elsewhere does not stop the CLI tests from running.
  try {
    execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, '-p', `${root}/tsconfig.json`], { cwd: root, stdio: 'pipe' });
  } catch (err) {
    const out = String((err as { stdout?: Buffer }).stdout ?? '');
    if (!/error TS/.test(out)) throw err;
    console.warn(`tsc reported type errors (dist/ was still emitted):\n${out.split('\n').slice(0, 10).join('\n')}`);
  }
}
