#!/usr/bin/env bash
# What a nonce claim costs on PostgreSQL: the statement PostgresNonceStore runs, 200 times,
# each its own transaction, on an UNLOGGED table (ours) and on an ordinary one, with fsync
# and synchronous_commit on. Prints the WAL syncs (pg_stat_wal.wal_sync) and the time.
#
#   benchmarks/nonce_fsync.sh        # starts and stops a throwaway cluster (scripts/postgres-start)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
eval "$(scripts/postgres-start)"
trap 'scripts/postgres-stop "$ALTER_TEST_POSTGRES_DIR" >/dev/null 2>&1' EXIT
U=$ALTER_TEST_POSTGRES_URL
# postgres-start turns both off (its data is thrown away); a real server has them on.
psql "$U" -qc "ALTER SYSTEM SET fsync = on"
psql "$U" -qc "ALTER SYSTEM SET synchronous_commit = on"
psql "$U" -qc "SELECT pg_reload_conf()" >/dev/null
sleep 1
for kind in "UNLOGGED TABLE" "TABLE"; do
    t=n_$RANDOM
    psql "$U" -qc "CREATE $kind $t (nonce text PRIMARY KEY, expires_at timestamptz NOT NULL)"
    sleep 1.5
    before=$(psql "$U" -Atc "SELECT wal_sync FROM pg_stat_wal")
    start=$(date +%s%N)
    for i in $(seq 1 200); do
        echo "INSERT INTO $t (nonce, expires_at) VALUES ('k$i:$RANDOM$RANDOM', now() + interval '5 minutes')
              ON CONFLICT (nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE $t.expires_at < now() RETURNING 1;"
    done | psql "$U" -q >/dev/null
    took=$(( ($(date +%s%N) - start) / 1000000 ))
    sleep 1.5  # pg_stat_wal is updated about once a second
    after=$(psql "$U" -Atc "SELECT wal_sync FROM pg_stat_wal")
    printf '%-15s %4d WAL syncs for 200 claims, %5d ms\n' "$kind" $((after - before)) "$took"
done
