#!/usr/bin/env bash
# Every test: the main suite (against the local MariaDB and Redis) and the cluster suite (which
# starts its own Galera, replica, Redis Cluster and Sentinel servers on private ports).
# Prints one closing line "tests: N passed, N failed, N skipped" and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-services.sh || exit 1

out="$(mktemp -d)"
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$out/main.json" "$@" || status=$?
npx vitest run --config vitest.cluster.config.ts --reporter=default --reporter=json --outputFile.json="$out/cluster.json" "$@" || status=$?

node -e '
  const fs = require("fs");
  let p = 0, f = 0, s = 0, t = 0;
  for (const file of process.argv.slice(1)) {
    if (!fs.existsSync(file)) { console.error(`no result from ${file}`); f++; continue; }
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    p += r.numPassedTests; f += r.numFailedTests; s += r.numPendingTests + r.numTodoTests; t += r.numTotalTests;
  }
  console.log(`tests: ${p} passed, ${f} failed, ${s} skipped`);
  if (t === 0) { console.error("no test ran"); process.exit(1); }
  if (f > 0) process.exit(1);
' "$out/main.json" "$out/cluster.json" || status=1
rm -rf "$out"
exit "$status"
