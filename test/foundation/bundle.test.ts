import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The bundled CLI as an installed copy sees it (bin/, dist/, package.json, node_modules), in a
 * directory of its own so the tests may remove or spoil its code cache.
 */
describe('bundled CLI and its code cache', () => {
  let dir: string;
  const cache = () => join(dir, 'dist/spanel.cjs.cache');
  const run = (...args: string[]) => execFileSync(join(dir, 'bin/spanel'), args, { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME } });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'spanel-bundle-'));
    mkdirSync(join(dir, 'bin'));
    cpSync(join(ROOT, 'bin/spanel'), join(dir, 'bin/spanel'));
    cpSync(join(ROOT, 'bin/package.json'), join(dir, 'bin/package.json'));
    cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    execFileSync(process.execPath, [join(ROOT, 'scripts/bundle.mjs'), '--outdir', join(dir, 'dist')], { stdio: 'pipe' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the build writes a cache that runs accept as it is', () => {
    const before = statSync(cache());
    expect(before.size).toBeGreaterThan(100_000);
    expect(run('--version').trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
    expect(statSync(cache()).mtimeMs).toBe(before.mtimeMs);
  });

  it('a missing cache is written by the next run; a spoiled one is replaced, and the run is not disturbed', () => {
    rmSync(cache());
    expect(run('--help')).toContain('Usage: spanel');
    expect(statSync(cache()).size).toBeGreaterThan(10_000);
    writeFileSync(cache(), 'not a V8 code cache');
    expect(run('--help')).toContain('Usage: spanel');
    expect(statSync(cache()).size).toBeGreaterThan(10_000);
  });

  it('carries every migration and leaves knex drivers spanel does not use out', () => {
    const bundle = readFileSync(join(dir, 'dist/spanel.cjs'), 'latin1');
    for (const f of ['20261125000100_panel_schema', '20261202001500_support_archive']) expect(bundle).toContain(f);
    expect(bundle).toContain("knex's postgres dialect is not part of spanel's build");
    expect(/[^\x00-\x7f]/.test(bundle)).toBe(false); // bin/spanel reads it as latin1
  });

  it('a missing bundle is one line saying what to do', () => {
    rmSync(join(dir, 'dist/spanel.cjs'));
    let err: { status?: number; stderr?: string } = {};
    try {
      run('--help');
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.status).toBe(1);
    expect(String(err.stderr).trim()).toMatch(/^spanel: .*dist\/spanel\.cjs is missing: run `npm ci` \(or `npm run build`\) in /);
  });
});
