#!/usr/bin/env bash
# The widget's full check, without changing the tree: the committed build is fresh (strict tsc
# + esbuild), the type tests hold against dist/index.d.ts, the unit tests pass in Node against
# the built files, and the UMD fits the size budget.
set -euo pipefail
cd "$(dirname "$0")"
bash check-fresh.sh
tsc --noEmit -p test
echo "types: test/types.test-d.ts ok"
node --test test/*.test.mjs
bash size-check.sh
