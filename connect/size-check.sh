#!/usr/bin/env bash
# Prints the gzip -9 size of the minified UMD bundle; fails above the 1843-byte budget (issue 13).
set -euo pipefail
cd "$(dirname "$0")"
FILE="${1:-dist/alter-connect.umd.js}"
BUDGET=1843
size="$(gzip -9 -c "$FILE" | wc -c)"
echo "size: $FILE is $size bytes gzipped (budget $BUDGET)"
if (( size > BUDGET )); then
  echo "size: over budget by $((size - BUDGET)) bytes" >&2
  exit 1
fi
