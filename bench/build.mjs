// A private build of spanel for the benchmark, so that a test run elsewhere rebuilding ./dist
// cannot swap the code under a measurement. It is the same bundle `npm ci` makes.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { log } from './env.mjs';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** { bin, cwd, cleanup } of the spanel the benchmark runs. */
export function prepareSpanel({ build }) {
  if (!build) {
    if (!existsSync(join(ROOT, 'dist/spanel.cjs'))) throw new Error('dist/ is missing: run `npm run build` first (or drop --no-build)');
    return { bin: join(ROOT, 'bin/spanel'), cwd: mkdtempSync(join(tmpdir(), 'spanel-bench-cwd-')), cleanup() {} };
  }
  const dir = mkdtempSync(join(tmpdir(), 'spanel-bench-build-'));
  execFileSync(process.execPath, [join(ROOT, 'scripts/bundle.mjs'), '--outdir', join(dir, 'dist')], { cwd: ROOT, stdio: 'pipe' });
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(ROOT, 'bin/spanel'), join(dir, 'bin/spanel'));
  copyFileSync(join(ROOT, 'bin/package.json'), join(dir, 'bin/package.json'));
  copyFileSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  // cwd without a .env, so nothing but the environment the bench passes configures spanel.
  return { bin: join(dir, 'bin/spanel'), cwd: dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
