"""Reads an Iceberg table of a floe data directory with PyIceberg, as another
engine would: the SQL catalog on DATA/catalog.db (catalog name "floe"), the
warehouse DATA/warehouse. Prints the named columns of every row as a JSON list
of lists; a column the table lacks reads as null.

usage: pyiceberg_rows.py DATA_DIR NAMESPACE.TABLE COL[,COL...]
"""
import json
import os
import sys

from pyiceberg.catalog.sql import SqlCatalog


def main():
    data, table, cols = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    data = os.path.abspath(data)
    cat = SqlCatalog("floe", uri="sqlite:///" + os.path.join(data, "catalog.db"),
                     warehouse="file://" + os.path.join(data, "warehouse"))
    arrow = cat.load_table(table).scan().to_arrow()
    names = set(arrow.column_names)
    columns = [arrow.column(c).to_pylist() if c in names else [None] * arrow.num_rows for c in cols]
    rows = [list(r) for r in zip(*columns)] if columns else []
    json.dump(rows, sys.stdout, default=str)


if __name__ == "__main__":
    main()
