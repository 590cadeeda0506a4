#!/usr/bin/env bash
# Rebuilds into a temporary directory and fails if the committed dist/, the server's copies in
# Sources/AlterServer/Resources/sdk/ or the hosted pages' Resources/hosted.js differ from it. Fix: bash connect/build.sh, then commit both.
set -euo pipefail
cd "$(dirname "$0")"
SDK=../Sources/AlterServer/Resources/sdk
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
bash build.sh "$tmp/dist" "$tmp/sdk" "$tmp/hosted.js"

stale=0
for f in alter-connect.mjs alter-connect.umd.js index.d.ts package.json; do
  cmp -s "$tmp/dist/$f" "dist/$f" || { echo "check-fresh: dist/$f is stale or missing" >&2; stale=1; }
done
for f in alter-connect.mjs alter-connect.umd.js; do
  cmp -s "$tmp/sdk/$f" "$SDK/$f" || { echo "check-fresh: ${SDK#../}/$f is stale or missing" >&2; stale=1; }
done
cmp -s "$tmp/hosted.js" ../Sources/AlterServer/Resources/hosted.js \
  || { echo "check-fresh: Sources/AlterServer/Resources/hosted.js is stale or missing" >&2; stale=1; }
if (( stale )); then
  echo "check-fresh: run 'bash connect/build.sh' and commit connect/dist and the server's sdk copies" >&2
  exit 1
fi
echo "check-fresh: dist/, the server's /sdk/ copies and Resources/hosted.js match a fresh build"
