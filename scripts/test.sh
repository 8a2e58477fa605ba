#!/usr/bin/env bash
# `npm test`: installs what the tests need, then typecheck, lint and Vitest (unit, database, HTTP).
# Ends with one line "N passed, N failed" (typecheck and lint count as one test each) and a non-zero
# status on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p test-output

[ -d node_modules ] || npm ci --no-audit --no-fund || exit 1
bash scripts/test-services.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
step() {
  local name=$1; shift
  echo "== $name"
  if "$@"; then passed=$((passed + 1)); else echo "!! $name failed"; failed=$((failed + 1)); fi
}

step build npm run build --silent
step typecheck npx tsc --noEmit
step lint npx eslint --max-warnings 0 .

echo "== vitest"
rm -f test-output/vitest.json
npx vitest run --reporter=default --reporter=json --outputFile.json=test-output/vitest.json "$@"
vitest_status=$?
if [ -f test-output/vitest.json ]; then
  read -r vp vf < <(node -e 'const r=require("./test-output/vitest.json");console.log(r.numPassedTests,r.numFailedTests+(r.numRuntimeErrorTestSuites||0))')
  passed=$((passed + vp))
  failed=$((failed + vf))
  # A run that failed outside any test (setup, an unhandled error) still fails.
  [ "$vitest_status" -ne 0 ] && [ "$vf" -eq 0 ] && failed=$((failed + 1))
else
  failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
