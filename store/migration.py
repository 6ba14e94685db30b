"""Columns added after a table first shipped: added in place to a database an older orderprobe wrote.

A column marked ``info={"added": True}`` (with a server default, so existing rows get a value)
is created by ``ALTER TABLE … ADD COLUMN`` when missing; any other missing column still means a
database this version cannot read, and ``missing`` names it. Both SQLite and PostgreSQL add a
column with a constant default without rewriting the table.
"""

from __future__ import annotations

from sqlalchemy import Connection, MetaData, inspect
from sqlalchemy.schema import CreateColumn


def added(**attrs: object) -> dict[str, object]:
    """``Column(..., **added())``: this column may be added to an existing table."""
    return {"info": {"added": True}, **attrs}


def upgrade(conn: Connection, metadata: MetaData) -> dict[str, list[str]]:
    """Add the missing ``added`` columns; return the other missing ones per table (empty: readable)."""
    inspector = inspect(conn)
    missing: dict[str, list[str]] = {}
    for table in metadata.sorted_tables:
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            if column.info.get("added"):
                name = conn.dialect.identifier_preparer.quote(table.name)
                spec = CreateColumn(column).compile(dialect=conn.dialect)
                conn.exec_driver_sql(f"ALTER TABLE {name} ADD COLUMN {spec}")
            else:
                missing.setdefault(table.name, []).append(column.name)
    return missing
