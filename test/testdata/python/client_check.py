"""psycopg 3 and SQLAlchemy against floe, for test/drivers_test.go.

Connects with psycopg, runs parameterized queries (server-side binding over
the extended protocol, and explicitly prepared statements), fetches rows in
text and binary format, then does the same through SQLAlchemy's engine with
a text() query. Prints one JSON document, one key per check; a check that
fails gives {"error": SQLSTATE, "message": ...} and the next still runs. The
Go test compares the document. Connection settings come from the PG*
environment variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE).
"""

import datetime
import json
import os
import sys

import psycopg

UTC = datetime.timezone.utc


def psycopg_checks(conn):
    def rows(cur):
        cur.execute(
            "SELECT id, name, score, seen_at FROM e2e_py.items WHERE id >= %s AND name <> %s ORDER BY id",
            (2, "zed"),
        )
        return {
            "columns": [d.name for d in cur.description],
            "rows": [[r[0], r[1], r[2], r[3].astimezone(UTC).isoformat()] for r in cur.fetchall()],
        }

    def prepared(cur):
        counts = []
        for cutoff in (1, 2, 3):
            cur.execute("SELECT count(*) FROM e2e_py.items WHERE id > %s", (cutoff,), prepare=True)
            counts.append(cur.fetchone()[0])
        return counts

    def timestamp_parameter(cur):
        cur.execute(
            "SELECT count(*) FROM e2e_py.items WHERE seen_at < %s",
            (datetime.datetime(2024, 2, 1, tzinfo=UTC),),
        )
        return cur.fetchone()[0]

    def typed_echo(cur):
        cur.execute("SELECT %s::text || '!', %s::int + 1", ("héllo", 41))
        return list(cur.fetchone())

    def null_parameter(cur):
        cur.execute("SELECT %s IS NULL", (None,))
        return cur.fetchone()[0]

    def binary(cur):
        with conn.cursor(binary=True) as bcur:
            bcur.execute("SELECT id, name, score FROM e2e_py.items WHERE id = %s", (1,))
            return list(bcur.fetchone())

    def error_then_rollback(cur):
        try:
            cur.execute("SELECT * FROM e2e_py.nosuch")
            got = None
        except psycopg.Error as e:
            got = e.sqlstate
            conn.rollback()
        cur.execute("SELECT 1")
        return {"error": got, "after": cur.fetchone()[0]}

    checks = [rows, prepared, timestamp_parameter, typed_echo, null_parameter, binary, error_then_rollback]
    out = {"server_version_reported": conn.info.parameter_status("server_version") is not None}
    for check in checks:
        try:
            with conn.cursor() as cur:
                out[check.__name__] = check(cur)
        except psycopg.Error as e:
            out[check.__name__] = {"error": e.sqlstate, "message": str(e)}
            conn.rollback()
    return out


def sqlalchemy_checks(**engine_args):
    import sqlalchemy as sa

    url = sa.engine.URL.create(
        "postgresql+psycopg",
        username=os.environ["PGUSER"],
        password=os.environ["PGPASSWORD"],
        host=os.environ["PGHOST"],
        port=int(os.environ["PGPORT"]),
        database=os.environ["PGDATABASE"],
    )
    engine = sa.create_engine(url, **engine_args)
    out = {}
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT id, name FROM e2e_py.items WHERE id <= :max ORDER BY id"), {"max": 2}
            ).all()
            out["rows"] = [[r.id, r.name] for r in rows]
            out["scalar"] = conn.execute(sa.text("SELECT count(*) FROM e2e_py.items")).scalar_one()
        out["tables"] = sorted(sa.inspect(engine).get_table_names(schema="e2e_py"))
    except sa.exc.DBAPIError as e:
        out["error"] = {"error": getattr(e.orig, "sqlstate", None), "message": str(e.orig)}
    finally:
        engine.dispose()
    return out


def main():
    with psycopg.connect(connect_timeout=10) as conn:
        result = {"psycopg": psycopg_checks(conn)}
    result["sqlalchemy"] = sqlalchemy_checks()
    # On connect the dialect looks up hstore inside a SAVEPOINT; without
    # that lookup the rest of SQLAlchemy's path is checked on its own.
    result["sqlalchemy_no_hstore"] = sqlalchemy_checks(use_native_hstore=False)
    json.dump(result, sys.stdout, sort_keys=True, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
