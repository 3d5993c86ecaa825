#!/usr/bin/env node
// `node bench/profile-top.mjs /tmp/spanel-bench-profiles/<file>.cpuprofile [n]`: where a --profile run spent
// its CPU, by function (self time), so a slow step can be traced to the code that burns it.
import { readFileSync } from 'node:fs';

const [file, n = '25'] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/profile-top.mjs <file.cpuprofile> [top-n]');
  process.exit(2);
}
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((node) => [node.id, node]));
const selfUs = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const node = byId.get(prof.samples[i]);
  const cf = node.callFrame;
  const where = cf.url ? `${cf.url.replace(/^file:\/\/.*?node_modules\//, 'node_modules/').replace(/^file:\/\/.*?\/dist\//, 'dist/')}:${cf.lineNumber + 1}` : '';
  const key = `${cf.functionName || '(anonymous)'} ${where}`.trim();
  selfUs.set(key, (selfUs.get(key) ?? 0) + (prof.timeDeltas[i] ?? 0));
}
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
console.log(`total sampled ${(total / 1000).toFixed(0)} ms`);
for (const [k, us] of [...selfUs].sort((a, b) => b[1] - a[1]).slice(0, Number(n))) {
  console.log(`${(us / 1000).toFixed(1).padStart(9)} ms ${((us / total) * 100).toFixed(1).padStart(5)}%  ${k}`);
}
