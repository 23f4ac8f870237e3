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

`BackgroundWriter` runs the writing on a second thread that shares the caller's
connection and transaction, so the next batch is parsed and encrypted while the
database stores the last one (both drivers release the GIL while they wait).
"""

import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

Adapter = Callable[[Any], Any]


def _adapter(field: models.Field) -> Adapter | None:
    """How one column's values become database values; None when they already are."""
    if type(field) in (models.CharField, models.TextField) or isinstance(field, models.ForeignKey):
        return None
    if type(field) is models.DateTimeField:
        # A batch repeats the same moments (received_at as the case's
        # created_at, one "now" for every row): adapt each only once.
        return lru_cache(maxsize=8192)(connection.ops.adapt_datetimefield_value)
    return lambda value: field.get_db_prep_save(value, connection)


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
    model: type[models.Model],
    field_names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    return_ids: bool = True,
) -> list[int]:
    """Insert adapted rows; return their new ids in order (unless told not to)."""
    if not rows:
        return []
    columns = [model._meta.get_field(name).column for name in field_names]
    if connection.vendor == "postgresql":
        return _copy_postgresql(model, columns, rows, return_ids)
    if connection.vendor == "sqlite":
        return _insert_returning(model, columns, rows)
    raise NotImplementedError(f"bulk loads are written for PostgreSQL and SQLite only")


def existing_keys(model: type[models.Model], field_name: str, values: Sequence[str]) -> dict:
    """{value: pk} for those of `values` already stored in the unique `field_name`."""
    if not values:
        return {}
    quote = connection.ops.quote_name
    column = quote(model._meta.get_field(field_name).column)
    select = f"SELECT {column}, {quote(model._meta.pk.column)} FROM {quote(model._meta.db_table)}"  # noqa: S608
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"{select} WHERE {column} = ANY(%s)", [list(values)])
            return dict(cursor.fetchall())
    found: dict = {}
    chunk = _max_parameters()
    cursor = _driver_cursor()
    try:
        for start in range(0, len(values), chunk):
            part = values[start : start + chunk]
            cursor.execute(f"{select} WHERE {column} IN ({', '.join(['?'] * len(part))})", part)
            found.update(cursor.fetchall())
    finally:
        cursor.close()
    return found


def _copy_postgresql(model, columns: list[str], rows, return_ids: bool) -> list[int]:
    table = model._meta.db_table
    pk = model._meta.pk.column
    quote = connection.ops.quote_name
    ids: list[int] = []
    with connection.cursor() as cursor:
        if return_ids:
            # Ids come from the table's own sequence, so later ORM inserts carry on.
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, pk, len(rows)],
            )
            ids = [row[0] for row in cursor.fetchall()]
            columns = [pk, *columns]
            rows = [[pk_value, *row] for pk_value, row in zip(ids, rows, strict=True)]
        names = ", ".join(quote(column) for column in columns)
        with cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    return ids


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
                f"INSERT INTO {table} ({names}) VALUES {', '.join([placeholder] * len(part))} "  # noqa: S608
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


class BackgroundWriter:
    """
    Runs write jobs, one at a time and in order, on a thread that uses the
    caller's database connection, and so the caller's transaction. While a job
    runs the caller must not touch the database; `submit` first waits for the
    job before it, so there is never more than one in flight. A job's exception
    is raised in the caller by the next `submit` or by `close`.
    """

    def __init__(self, on_result: Callable[[Any], None]) -> None:
        self.on_result = on_result
        self.shared = connections[DEFAULT_DB_ALIAS]
        self.shared.ensure_connection()
        self.shared.inc_thread_sharing()
        self.executor = ThreadPoolExecutor(max_workers=1, initializer=self._adopt_connection)
        self.pending: Future | None = None

    def _adopt_connection(self) -> None:
        connections[DEFAULT_DB_ALIAS] = self.shared

    def submit(self, job: Callable[..., Any], *args: Any) -> None:
        self.wait()
        self.pending = self.executor.submit(job, *args)

    def wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            self.on_result(pending.result())

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self.executor.shutdown(wait=True)
            self.shared.dec_thread_sharing()
