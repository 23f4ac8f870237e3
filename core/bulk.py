"""
Fast bulk loads for imports of hundreds of thousands of rows.

Django's bulk_create compiles every value through the generic field machinery,
which costs more than encrypting it. Here a load has two steps:

* `adapt_rows` turns values into what the database stores, one adapter per
  column chosen up front; values still go through their field's own
  preparation wherever it does something (encryption, the legal-articles set),
  so what is stored is exactly what the ORM would store;
* `write_rows` sends them: COPY on PostgreSQL (ids taken from the table's own
  sequence), one multi-row INSERT ... RETURNING per chunk on SQLite.
"""

import json
import sqlite3
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

from django.db import connection, models

Adapter = Callable[[Any], Any]


# Columns whose values the driver takes as they are (the rows hold str and int).
_AS_IS = (
    models.CharField,
    models.TextField,
    models.SmallIntegerField,
    models.PositiveSmallIntegerField,
    models.IntegerField,
    models.PositiveIntegerField,
    models.BigIntegerField,
)


def _adapter(field: models.Field) -> Adapter | None:
    """How one column's values become database values; None when they already are."""
    if type(field) in _AS_IS or isinstance(field, models.ForeignKey):
        return None
    if isinstance(field, models.BinaryField):
        # Plain bytes (Django would give a memoryview, which cannot cross to
        # the importing process from a worker).
        return lambda value: None if value is None else bytes(value)
    if type(field) is models.DateTimeField:
        if connection.vendor == "postgresql":
            return None  # psycopg sends aware datetimes as they are (Django does too)
        # A batch repeats the same moments (received_at as the case's
        # created_at, one "now" for every row): adapt each only once.
        return lru_cache(maxsize=8192)(connection.ops.adapt_datetimefield_value)
    return lambda value: field.get_db_prep_save(value, connection)


def adapt_value(model: type[models.Model], field_name: str, value: Any) -> Any:
    adapt = _adapter(model._meta.get_field(field_name))
    return value if adapt is None else adapt(value)


def adapt_rows(
    model: type[models.Model], field_names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[list[Any]]:
    """Values (in `field_names` order) as the database will store them."""
    adapters = [_adapter(model._meta.get_field(name)) for name in field_names]
    converting = [(i, adapt) for i, adapt in enumerate(adapters) if adapt is not None]
    adapted = []
    for row in rows:
        values = list(row)
        for i, adapt in converting:
            values[i] = adapt(values[i])
        adapted.append(values)
    return adapted


def write_rows(
    model: type[models.Model], field_names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[int]:
    """Insert adapted rows; return their new ids, in order."""
    if not rows:
        return []
    fields = [model._meta.get_field(name) for name in field_names]
    if connection.vendor == "postgresql":
        return _copy_postgresql(model, fields, rows)
    columns = [field.column for field in fields]
    if connection.vendor == "sqlite":
        return _insert_returning(model, columns, rows)
    raise NotImplementedError("bulk loads are written for PostgreSQL and SQLite only")


def in_list(column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """A `column IN values` condition with the whole list as one parameter, so a
    long list costs neither thousands of placeholders nor their parsing."""
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(values)]
    # Reviewed (bandit B608): only identifiers from model metadata enter the SQL.
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(list(values))]  # noqa: S608 # nosec B608


def existing_keys(model: type[models.Model], field_name: str, values: Sequence[str]) -> dict:
    """{value: pk} for those of `values` already stored in the unique `field_name`."""
    if not values:
        return {}
    quote = connection.ops.quote_name
    column = quote(model._meta.get_field(field_name).column)
    condition, params = in_list(column, values)
    with connection.cursor() as cursor:
        cursor.execute(
            # Reviewed (bandit B608): only identifiers from model metadata enter the SQL.
            f"SELECT {column}, {quote(model._meta.pk.column)} "  # noqa: S608 # nosec B608
            f"FROM {quote(model._meta.db_table)} WHERE {condition}",
            params,
        )
        return dict(cursor.fetchall())


def insert_select(
    model: type[models.Model], field_names: Sequence[str], select: str, params: Sequence[Any]
) -> None:
    """Insert rows the database derives itself from a SELECT (trusted SQL only)."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in field_names)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(model._meta.db_table)} ({columns}) {select}", params)


def _copy_postgresql(model, fields, rows) -> list[int]:
    table = model._meta.db_table
    pk = model._meta.pk
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in [pk.column, *(f.column for f in fields)])
    with connection.cursor() as cursor:
        # Ids come from the table's own sequence, so later ORM inserts carry on.
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, pk.column, len(rows)],
        )
        ids = [row[0] for row in cursor.fetchall()]
        # Binary COPY: ciphertext goes over the wire as bytes, not as hex text.
        with cursor.cursor.copy(
            f"COPY {quote(table)} ({columns}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types([_postgresql_type(field) for field in [pk, *fields]])
            for pk_value, row in zip(ids, rows, strict=True):
                copy.write_row([pk_value, *row])
    return ids


def _postgresql_type(field: models.Field) -> str:
    """The column's type name as psycopg knows it: "varchar(64)" -> "varchar"."""
    return field.db_type(connection).split("(")[0]


def _insert_returning(model, columns: list[str], rows) -> list[int]:
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = ", ".join(quote(column) for column in columns)
    # The driver's own cursor with its own placeholder: Django's SQLite cursor
    # would rewrite every %s of a 30,000-parameter statement with a regex.
    placeholder = "(" + ", ".join(["?"] * len(columns)) + ")"
    chunk = max(1, min(_max_parameters(), 30_000) // len(columns))
    cursor = _driver_cursor()
    ids: list[int] = []
    try:
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            cursor.execute(
                # Reviewed (bandit B608): only identifiers from model metadata enter the SQL.
                f"INSERT INTO {table} ({names}) VALUES {', '.join([placeholder] * len(part))} "  # noqa: S608 # nosec B608
                f"RETURNING {quote(model._meta.pk.column)}",
                [value for row in part for value in row],
            )
            ids.extend(row[0] for row in cursor.fetchall())
    finally:
        cursor.close()
    return ids


def _driver_cursor():
    connection.ensure_connection()
    return connection.connection.cursor()


def _max_parameters() -> int:
    # Django assumes SQLite's historical 999; the library in use says its own.
    connection.ensure_connection()
    return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
