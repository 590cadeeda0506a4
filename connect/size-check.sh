#!/usr/bin/env bash
# Prints the gzip -9 sizes of the minified UMD bundle and of the hosted pages' script (inlined in
# every hosted page); fails above their budgets (the widget's 1,843 bytes are issue 13's goal).
set -euo pipefail
cd "$(dirname "$0")"
status=0
check() {
  local file=$1 budget=$2 size
  size="$(gzip -9 -c "$file" | wc -c)"
  echo "size: $file is $size bytes gzipped (budget $budget)"
  if (( size > budget )); then
    echo "size: $file is over budget by $((size - budget)) bytes" >&2
    status=1
  fi
}
check "${1:-dist/alter-connect.umd.js}" 1843
check ../Sources/AlterServer/Resources/hosted.js 1024
exit $status
