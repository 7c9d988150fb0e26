"""psycopg 3 and SQLAlchemy against floe as a principal under a policy.

For test/drivers_test.go: connects as a principal of the clinical example
policy with a row filter and an excluded column and prints, as one JSON
document, what it sees: SELECT * (columns and rows), a parameterized and a
prepared query, a cast that would fail on a hidden row, the SQLSTATE of
naming the excluded column, the columns information_schema lists, and the
tables and columns SQLAlchemy's inspector reflects.
Connection settings come from the PG* environment variables.
"""

import json
import os

import psycopg
import sqlalchemy


def run(out, name, fn):
    try:
        out[name] = fn()
    except psycopg.Error as e:
        out[name] = {"error": e.sqlstate, "message": str(e)}


def main():
    out = {}
    with psycopg.connect(autocommit=True) as conn:
        def select_star():
            cur = conn.execute("SELECT * FROM clinical.subjects ORDER BY subject_id")
            return {"columns": [d.name for d in cur.description], "rows": [list(r) for r in cur.fetchall()]}

        def parameterized():
            return [conn.execute("SELECT count(*) FROM clinical.subjects WHERE age > %s", (a,), prepare=p).fetchone()[0]
                    for a, p in ((0, False), (45, True), (0, True))]

        def cast():
            return conn.execute("SELECT CAST(sum(CAST(subject_id AS INTEGER)) AS BIGINT) FROM clinical.subjects").fetchone()[0]

        def excluded():
            try:
                conn.execute("SELECT treatment_arm FROM clinical.subjects")
                return "readable"
            except psycopg.Error as e:
                return e.sqlstate

        def columns():
            cur = conn.execute("SELECT column_name FROM information_schema.columns "
                               "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                               ("clinical", "subjects"))
            return [r[0] for r in cur.fetchall()]

        run(out, "select", select_star)
        run(out, "columns", columns)
        run(out, "parameterized", parameterized)
        run(out, "cast", cast)
        run(out, "excluded", excluded)

    url = sqlalchemy.engine.URL.create(
        "postgresql+psycopg", username=os.environ["PGUSER"], password=os.environ["PGPASSWORD"],
        host=os.environ["PGHOST"], port=int(os.environ["PGPORT"]), database=os.environ["PGDATABASE"],
        query={"sslmode": "disable"})
    engine = sqlalchemy.create_engine(url)
    try:
        inspector = sqlalchemy.inspect(engine)
        out["inspector"] = {
            "tables": inspector.get_table_names(schema="clinical"),
            "columns": [c["name"] for c in inspector.get_columns("subjects", schema="clinical")],
        }
    except Exception as e:  # report, do not crash: the Go test compares
        out["inspector"] = {"error": type(e).__name__, "message": str(e)}
    finally:
        engine.dispose()
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
