"""Django's PostgreSQL backend, answering a statement sent ahead before a transaction
begins (core/db.py): psycopg cannot leave autocommit while a statement is in flight,
and a held statement must never run inside someone else's transaction (it would commit
or roll back with it, under its settings)."""

from __future__ import annotations

from django.db.backends.postgresql import base

from core.db import settle


class DatabaseWrapper(base.DatabaseWrapper):
    def _set_autocommit(self, autocommit: bool) -> None:
        if not autocommit:
            settle()
        super()._set_autocommit(autocommit)  # type: ignore[misc]
