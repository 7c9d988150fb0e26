#!/usr/bin/env bash
# The test command: installs what floe's test suites need when it is missing
# (psql and pgbench, psycopg and SQLAlchemy, PyIceberg, moto, PgJDBC and the Kafka broker
# through Maven), fails loudly when something cannot be installed, then runs
# `go vet ./...` and every package's tests, the end-to-end suite in test/
# included.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }
die() { printf 'scripts/test.sh: %s\n' "$*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"
	elif command -v sudo >/dev/null 2>&1; then sudo "$@"
	else die "need root to run: $*"
	fi
}

apt_updated=
apt_install() {
	command -v apt-get >/dev/null 2>&1 || die "apt-get is not available to install: $*"
	if [ -z "$apt_updated" ]; then
		say "apt-get update"
		as_root apt-get update -qq || die "apt-get update failed"
		apt_updated=1
	fi
	say "apt-get install $*"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null ||
		die "apt-get install $* failed"
}

have() { command -v "$1" >/dev/null 2>&1; }

have go || die "go is not installed (floe needs Go 1.26)"

# psql and pgbench (the PostgreSQL clients the e2e suite drives).
if ! have psql || ! have pgbench; then
	apt_install postgresql-client
fi
have psql && have pgbench || die "psql or pgbench is still missing after installing postgresql-client"

# Java 17 and Maven, for the PgJDBC client.
if ! have java || ! have mvn; then
	apt_install openjdk-17-jdk-headless maven
fi
have java && have mvn || die "java or mvn is still missing"

# Python 3 with psycopg 3 and SQLAlchemy.
if ! have python3; then
	apt_install python3 python3-pip
fi
if ! python3 -c 'import psycopg, sqlalchemy' >/dev/null 2>&1; then
	if ! python3 -m pip --version >/dev/null 2>&1; then
		apt_install python3-pip
	fi
	say "pip install psycopg[binary] sqlalchemy"
	python3 -m pip install --quiet 'psycopg[binary]' sqlalchemy ||
		python3 -m pip install --quiet --break-system-packages 'psycopg[binary]' sqlalchemy ||
		die "pip install 'psycopg[binary]' sqlalchemy failed"
fi
python3 -c 'import psycopg, sqlalchemy' || die "psycopg or sqlalchemy is not importable after pip install"

# PyIceberg: a second Iceberg implementation reads the tables floe
# maintains (test/testdata/python/pyiceberg_rows.py).
if ! python3 -c 'import pyiceberg.catalog.sql, pyarrow, sqlalchemy' >/dev/null 2>&1; then
	say "pip install pyiceberg[sql-sqlite,pyarrow]"
	python3 -m pip install --quiet 'pyiceberg[sql-sqlite,pyarrow]' ||
		python3 -m pip install --quiet --break-system-packages 'pyiceberg[sql-sqlite,pyarrow]' ||
		die "pip install 'pyiceberg[sql-sqlite,pyarrow]' failed"
fi
python3 -c 'import pyiceberg.catalog.sql, pyarrow' || die "PyIceberg is not importable after pip install"

# moto in server mode: the AWS API emulator `floe policy import aws` is tested
# against (authz/awsimport/awstest starts it on loopback).
if ! python3 -c 'import moto.server, flask' >/dev/null 2>&1; then
	say "pip install moto[server]"
	python3 -m pip install --quiet 'moto[server]' ||
		python3 -m pip install --quiet --break-system-packages 'moto[server]' ||
		die "pip install 'moto[server]' failed"
fi
python3 -c 'import moto.server, flask' || die "moto's server is not importable after pip install 'moto[server]'"

# The Apache Kafka broker's jars (Maven Central), so that the Kafka suites
# only start it: test/services up kafka, called by test.MustKafka.
say "test/services install kafka"
test/services install kafka || die "could not resolve the Kafka broker's jars"
say "test/services install registry"
test/services install registry || die "could not build the schema registry (Apicurio Registry)"

# PgJDBC and the Maven plugins, then the JDBC client itself (cached in ~/.m2).
say "mvn package test/testdata/jdbc"
if ! mvn_out=$(mvn -B -q -f test/testdata/jdbc/pom.xml package 2>&1); then
	printf '%s\n' "$mvn_out" >&2
	die "mvn package of test/testdata/jdbc failed"
fi

# A real PostgreSQL: pgwire's encoder is checked byte for byte against it.
source scripts/lib/postgres.sh
say "start PostgreSQL"
start_postgres floe || die "could not start PostgreSQL"
export FLOE_TEST_POSTGRES=$PG_URL

say "go vet ./..."
go vet ./...

say "go test -count=1 -timeout 40m ./..."
log=$(mktemp)
trap 'rm -f "$log"; stop_postgres' EXIT
set +e
go test -count=1 -timeout 40m ./... 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e

passed=$(grep -cE '^ok[[:space:]]' "$log" || true)
failed=$(grep -cE '^FAIL[[:space:]]+[[:alnum:]]' "$log" || true)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	failed=1 # go test failed before a package reported (build error, timeout)
fi
echo
if [ "$status" -eq 0 ]; then
	echo "scripts/test.sh: go vet and all tests passed"
else
	echo "scripts/test.sh: FAILED (go test exit status $status)"
fi
echo "packages: $passed passed, $failed failed"
exit "$status"
