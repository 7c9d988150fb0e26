# Sourced by scripts/test.sh and scripts/bench.sh: a throwaway PostgreSQL
# cluster (Debian's postgresql, installed when missing) in a temporary
# directory, on a free loopback port, run as a non-root user.
#
#   start_postgres USER [extra postgres -c options...]
#
# sets PG_URL (postgres://USER@127.0.0.1:PORT/postgres?sslmode=disable)
# and stop_postgres stops the cluster and removes its directory.

pg_bin() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[[ -n $d && -x $d/initdb && -x $d/pg_ctl ]] && echo "$d"
}

pg_as_root() {
	if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

pg_free_port() {
	local p
	for _ in $(seq 200); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	echo "postgres.sh: no free port found" >&2
	return 1
}

start_postgres() {
	local user=$1
	shift
	if ! PGBIN=$(pg_bin); then
		echo "postgres.sh: installing PostgreSQL server (apt-get)" >&2
		pg_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		pg_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
		PGBIN=$(pg_bin) || { echo "postgres.sh: no initdb under /usr/lib/postgresql/*/bin after install" >&2; return 1; }
	fi
	# PostgreSQL refuses to run as root: run it as the postgres user then.
	PG_RUN_AS=()
	if [[ $(id -u) -eq 0 ]]; then
		id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
		PG_RUN_AS=(runuser -u postgres --)
	fi
	PGDIR=$(mktemp -d /tmp/floe-pg.XXXXXX)
	chmod 755 "$PGDIR"
	[[ ${#PG_RUN_AS[@]} -eq 0 ]] || chown postgres: "$PGDIR"
	local port opts=""
	port=$(pg_free_port)
	for o in "$@"; do opts+=" -c $o"; done
	"${PG_RUN_AS[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -U "$user" --auth=trust -E UTF8 --locale=C.UTF-8 >"$PGDIR/initdb.log" ||
		{ cat "$PGDIR/initdb.log" >&2; return 1; }
	"${PG_RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/postgres.log" -w -t 60 start -o \
		"-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=$PGDIR$opts" >/dev/null ||
		{ cat "$PGDIR/postgres.log" >&2; return 1; }
	PG_URL="postgres://$user@127.0.0.1:$port/postgres?sslmode=disable"
	echo "postgres.sh: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
}

stop_postgres() {
	[[ -n ${PGDIR:-} ]] || return 0
	"${PG_RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$PGDIR"
	PGDIR=
}
