#!/usr/bin/env bash
# Runs floe's benchmark (go run ./bench) with a real PostgreSQL as the
# streaming baseline: installs Debian's postgresql when missing, creates a
# throwaway cluster in a temporary directory owned by a non-root user,
# starts it on a free loopback port, exports BENCH_PG_URL and stops and
# removes the cluster on exit. Arguments go to the bench program, e.g.
#   scripts/bench.sh -rows 200000
#   scripts/bench.sh -out bench.md
set -euo pipefail

cd "$(dirname "$0")/.."

as_root() {
	if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

pg_bin() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[[ -n $d && -x $d/initdb && -x $d/pg_ctl ]] && echo "$d"
}

if ! PGBIN=$(pg_bin); then
	echo "bench.sh: installing PostgreSQL server (apt-get)" >&2
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
	PGBIN=$(pg_bin) || { echo "bench.sh: no initdb under /usr/lib/postgresql/*/bin after install" >&2; exit 1; }
fi

# PostgreSQL refuses to run as root: run it as the postgres user then.
RUN_AS=()
if [[ $(id -u) -eq 0 ]]; then
	id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
	RUN_AS=(runuser -u postgres --)
fi

free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "bench.sh: no free port found" >&2
	return 1
}

PGDIR=$(mktemp -d /tmp/floe-bench-pg.XXXXXX)
chmod 755 "$PGDIR"
[[ ${#RUN_AS[@]} -eq 0 ]] || chown postgres: "$PGDIR"
PGPORT=$(free_port)

cleanup() {
	"${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$PGDIR"
}
trap cleanup EXIT

"${RUN_AS[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -U bench --auth=trust -E UTF8 --locale=C.UTF-8 >"$PGDIR/initdb.log" ||
	{ cat "$PGDIR/initdb.log" >&2; exit 1; }

# Tuned for a throwaway benchmark: the table fits in shared_buffers and the
# load skips WAL (wal_level=minimal, table created in the COPY transaction).
"${RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/postgres.log" -w -t 60 start -o "\
 -c listen_addresses=127.0.0.1 -p $PGPORT -c unix_socket_directories=$PGDIR\
 -c shared_buffers=2GB -c wal_level=minimal -c max_wal_senders=0 -c max_wal_size=8GB\
 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null ||
	{ cat "$PGDIR/postgres.log" >&2; exit 1; }

export BENCH_PG_URL="postgres://bench@127.0.0.1:$PGPORT/postgres?sslmode=disable"
echo "bench.sh: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT" >&2

go run ./bench "$@"
