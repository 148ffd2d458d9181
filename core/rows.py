"""Rows written by hand-built statements on the hot paths (an audit event per tool call,
an agent step per model or tool call), where one statement instead of a transaction of
several saves round trips: the INSERT text of a model, built once from its fields, and
the values of an instance as Django's own INSERT would send them. Only the model's table
and column names go into the text; values are always bound parameters.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connection, models
from django.db.models import Field

# In the SELECT list of a statement sent outside any transaction: its own commit does not
# wait for its WAL flush (set_config(…, true) lasts until that commit, which reads it).
NO_FLUSH_WAIT = "set_config('synchronous_commit', 'off', true)"


def along_parts(along: tuple[str, ...]) -> list[str]:
    """The statements `along` with a row, as further CTEs of its one statement."""
    return [f", along_{index} AS ({sql})" for index, sql in enumerate(along)]


@cache
def insert_columns(model: type[models.Model]) -> tuple[str, tuple[Field, ...]]:
    """(the quoted column list, the fields in that order): every concrete field but an
    automatic primary key."""
    fields = tuple(
        f
        for f in model._meta.concrete_fields
        if not (f.primary_key and isinstance(f, models.AutoField))
    )
    quote = connection.ops.quote_name
    return ", ".join(quote(f.column) for f in fields), fields


@cache
def insert_statement(model: type[models.Model]) -> str:
    """INSERT … VALUES (…) RETURNING the primary key, for one row of `model`."""
    columns, fields = insert_columns(model)
    quote = connection.ops.quote_name
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"RETURNING {quote(model._meta.pk.column)}"
    )


def insert_values(instance: models.Model) -> list[Any]:
    """The instance's values in `insert_columns` order, prepared as Django's INSERT
    prepares them (defaults, auto_now_add)."""
    _, fields = insert_columns(type(instance))
    return [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]


def inserted(instance: models.Model, pk: Any) -> None:
    """Mark the instance as saved with this primary key, as Model.save() would."""
    instance.pk = pk
    instance._state.adding = False
    instance._state.db = connection.alias
