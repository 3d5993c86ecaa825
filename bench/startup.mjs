#!/usr/bin/env node
// The fixed cost of a run: `spanel job hourly` on an empty panel against a bare Node process that
// loads mysql2, connects and runs one query (the least any Node tool can do), measured back to
// back, alternating, so that a busy machine slows both alike. Usable alone:
//   node bench/startup.mjs [--runs 7] [--bin path/to/bin/spanel]
// It creates (and drops) its own database `<bench database>_empty`.
import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from './build.mjs';
import { benchTarget, connect, median, redisUrl } from './env.mjs';

/** Wall and CPU (user+sys) milliseconds of one child process. */
function timeChild(argv, env) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, argv, { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.resume();
    child.on('error', reject);
    child.on('exit', (code) => {
      const ms = performance.now() - t0;
      if (code !== 0) reject(new Error(`${argv.join(' ')} exited ${code}: ${err.trim().slice(0, 300)}`));
      else resolve(ms);
    });
  });
}

/**
 * Alternates `runs` pairs (bare, spanel …) after one warm-up each; returns medians, the ratio of
 * the medians and the median of the per-pair ratios (the steadier figure on a noisy machine).
 */
export async function measureStartup(spanelBin, { runs = 7, args = ['job', 'hourly', '--json'] } = {}) {
  const target = benchTarget();
  const database = `${target.database}_empty`;
  const admin = await connect(target, null);
  const dir = mkdtempSync(join(tmpdir(), 'spanel-bench-startup-'));
  try {
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``);
    await admin.query(`CREATE DATABASE \`${database}\``);
    const url = new URL(target.url);
    url.pathname = `/${database}`;
    const env = { DATABASE_URL: url.toString(), REDIS_URL: redisUrl(), REDIS_KEY_PREFIX: 'spanelbench:empty:', SPANEL_TIMEZONE: 'Asia/Shanghai', LOG_LEVEL: 'warn', NO_COLOR: '1' };
    await timeChild([spanelBin, 'migrate', '--json'], env);
    // The bare process resolves mysql2 from the project's node_modules, like spanel does.
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    const bare = join(dir, 'bare.mjs');
    const s = target.server;
    writeFileSync(
      bare,
      `import mysql from 'mysql2/promise';
const c = await mysql.createConnection(${JSON.stringify({ host: s.host, port: s.port, user: s.user, password: s.password || undefined, database })});
await c.query('SELECT 1');
await c.end();
`,
    );
    const pairs = [];
    await timeChild([bare], env);
    await timeChild([spanelBin, ...args], env);
    for (let i = 0; i < runs; i++) {
      const order = i % 2 ? ['spanel', 'bare'] : ['bare', 'spanel'];
      const pair = {};
      for (const who of order) pair[who] = await timeChild(who === 'bare' ? [bare] : [spanelBin, ...args], env);
      pairs.push(pair);
    }
    const b = median(pairs.map((p) => p.bare));
    const sp = median(pairs.map((p) => p.spanel));
    return {
      command: `spanel ${args.join(' ')}`,
      runs,
      bareSeconds: Math.round(b) / 1000,
      spanelSeconds: Math.round(sp) / 1000,
      ratio: Math.round((sp / b) * 100) / 100,
      medianPairRatio: Math.round(median(pairs.map((p) => p.spanel / p.bare)) * 100) / 100,
      pairs: pairs.map((p) => [Math.round(p.bare), Math.round(p.spanel)]),
    };
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS \`${database}\``).catch(() => undefined);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  const res = await measureStartup(opt('--bin', join(ROOT, 'bin/spanel')), { runs: Number(opt('--runs', 7)) });
  console.log(JSON.stringify(res, null, 2));
}
