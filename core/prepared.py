"""Querysets compiled to SQL once, for the hot paths.

Django turns a queryset into SQL each time it is evaluated. On the tool-call
path (every agent step, every API tool call) that compilation cost more than
the query itself: 0.9 ms of a 1.5 ms account lookup with `select_related`
(bench/execute_overhead.py on PostgreSQL). A `PreparedQuery` builds its
queryset once per database with marker values, keeps the SQL and the compiler,
and then runs the same SQL with the caller's values, turning rows into model
instances with that compiler exactly as the ORM does (field converters,
`select_related` objects).

Only the queryset's shape is shared: values are always bound parameters, and a
builder whose markers do not each appear as one parameter is refused when first
compiled, so a shape that cannot be prepared fails loudly instead of mixing up
values.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]
from django.db.models.sql.compiler import SQLCompiler

from core.db import bound_cursor, read_ahead, take_read_ahead

ModelT = TypeVar("ModelT", bound=models.Model)


class Marker:
    """A stand-in value while the shape is compiled; unique, so its parameter is found."""

    def __init__(self, name: str, index: int) -> None:
        self.name = name
        # Negative ids and NUL-prefixed strings never collide with real values or constants.
        self.number = -(2**31) + index
        self.text = f"\x00prepared:{name}"

    def stand_in(self, kind: type) -> Any:
        return self.text if kind is str else kind(pk=self.number)


@dataclass(frozen=True)
class _Plan:
    sql: str
    sources: tuple[tuple[str, Any], ...]  # ("value", name) or ("constant", value)
    compiler: SQLCompiler
    init_list: tuple[str, ...]
    model_slice: slice
    # What the ORM works out again for every evaluation, worked out once:
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]
    populators: tuple[Any, ...]


class PreparedQuery(Generic[ModelT]):
    """`build(**markers)` returns the queryset; `run(**values)` evaluates it for values.

    Each keyword is a string value or a model instance (its primary key is bound).
    """

    def __init__(self, build: Callable[..., models.QuerySet[ModelT]], **kinds: type) -> None:
        self._build = build
        self._kinds = kinds  # name -> str or a model class
        self._plans: dict[str, _Plan] = {}
        self._lock = threading.Lock()

    def _compile(self, alias: str) -> _Plan:
        markers = {name: Marker(name, index) for index, name in enumerate(self._kinds)}
        queryset = self._build(
            **{name: m.stand_in(self._kinds[name]) for name, m in markers.items()}
        )
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        by_value = {m.text: name for name, m in markers.items()} | {
            m.number: name for name, m in markers.items()
        }
        sources = tuple(
            ("value", by_value[p]) if _may_be_marker(p) and p in by_value else ("constant", p)
            for p in params
        )
        bound = [source[1] for source in sources if source[0] == "value"]
        if sorted(bound) != sorted(self._kinds):
            raise ValueError(f"Each marker must be bound exactly once; bound: {bound}")
        klass_info = compiler.klass_info
        fields = klass_info["select_fields"]
        model_slice = slice(fields[0], fields[-1] + 1)
        init_list = tuple(column[0].target.attname for column in compiler.select[model_slice])
        selected = [column[0] for column in compiler.select[: compiler.col_count]]
        if compiler.has_composite_fields(selected):
            raise ValueError("Composite fields are not supported")
        converters = tuple(
            (position, tuple(functions), expression)
            for position, (functions, expression) in compiler.get_converters(selected).items()
        )
        populators = tuple(get_related_populators(klass_info, compiler.select, alias))
        return _Plan(sql, sources, compiler, init_list, model_slice, converters, populators)

    def _plan(self, alias: str) -> _Plan:
        plan = self._plans.get(alias)
        if plan is None:
            with self._lock:
                plan = self._plans.get(alias) or self._compile(alias)
                self._plans[alias] = plan
        return plan

    def _statement(self, using: str, values: dict[str, Any]) -> tuple[_Plan, list[Any]]:
        plan = self._plan(using)
        params = [
            _db_value(values[source]) if kind == "value" else source
            for kind, source in plan.sources
        ]
        return plan, params

    def read_ahead(self, **values: Any) -> None:
        """Send the query for these values now, without waiting (core/db.read_ahead): the
        next `run` with the same values takes its rows."""
        plan, params = self._statement(DEFAULT_DB_ALIAS, values)
        read_ahead(plan.sql, params)

    def run(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[ModelT]:
        plan, params = self._statement(using, values)
        database = connections[using]
        rows = take_read_ahead(plan.sql, params) if using == DEFAULT_DB_ALIAS else None
        if rows is None:
            with bound_cursor(using) as cursor:
                cursor.execute(plan.sql, params)
                rows = cursor.fetchall()
        model = plan.compiler.klass_info["model"]
        results = []
        for fetched in rows:
            row = list(fetched)
            for position, functions, expression in plan.converters:  # as the ORM converts
                value = row[position]
                for convert in functions:
                    value = convert(value, expression, database)
                row[position] = value
            obj = model.from_db(using, plan.init_list, row[plan.model_slice])
            for populator in plan.populators:
                populator.populate(row, obj)
            results.append(obj)
        return results


def _db_value(value: Any) -> Any:
    return value.pk if isinstance(value, models.Model) else value


def _may_be_marker(value: Any) -> bool:
    return isinstance(value, (str, int))
