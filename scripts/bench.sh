#!/usr/bin/env bash
# Runs floe's benchmark (go run ./bench) with a real PostgreSQL as the
# streaming baseline (scripts/lib/postgres.sh: Debian's postgresql in a
# throwaway cluster), exported as BENCH_PG_URL. Arguments go to the bench
# program, e.g.
#   scripts/bench.sh -rows 200000
#   scripts/bench.sh -out bench.md
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/postgres.sh

trap stop_postgres EXIT
# Tuned for a throwaway benchmark: the table fits in shared_buffers and the
# load skips WAL (wal_level=minimal, table created in the COPY transaction).
start_postgres bench shared_buffers=2GB wal_level=minimal max_wal_senders=0 max_wal_size=8GB \
	fsync=off synchronous_commit=off full_page_writes=off
export BENCH_PG_URL=$PG_URL

go run ./bench "$@"
