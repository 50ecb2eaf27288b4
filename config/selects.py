"""A SELECT of model instances whose SQL the ORM compiles once, for the hottest read paths.

Evaluating a QuerySet builds its `Query` (`filter()`), compiles it to SQL (`as_sql()`: every
selected column of the model and of each `select_related` one, quoted and aliased) and works
out the converters of its columns, on every call. For the lead found by a status postback
(the lead, its goal and its click: some seventy columns) that is about two thirds of the
request's CPU, for a statement that differs between calls only in its parameters.

`RowSelect` takes a function that builds the QuerySet from placeholders instead of values,
compiles it once per database and variant, and then per call only executes the statement with
the values and turns the rows into instances exactly as a QuerySet does (`Model.from_db`, the
converters, Django's populators of `select_related` objects), through the connection's
instrumented cursor, so query counting and logging still see the query.

    clicks = RowSelect(lambda p: Click.objects.filter(click_id=p.click_id)[:1])
    found = clicks(click_id="abc")

Branches of the building function go into the variant (positional arguments after the
placeholders, part of the cache key): the statement must depend on nothing else. A placeholder
always compiles to `= %s`, never to `IS NULL`: a None value matches nothing. Only what
`select_related`, `select_for_update`, `filter` and slicing express is supported; annotations,
`only()` / `defer()` and prefetching are refused when compiling.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import NotSupportedError, connections
from django.db.models import Expression, Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)


class Placeholder(Expression):
    """A value given at each call; compiles to one query parameter that says which."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        return "%s", [self]

    def __repr__(self) -> str:
        return f"Placeholder({self.name!r})"


class Placeholders:
    """`p.<name>` is the placeholder of the call's keyword argument `<name>`."""

    def __getattr__(self, name: str) -> Placeholder:
        return Placeholder(name)


@dataclass(frozen=True)
class _Compiled:
    using: str
    sql: str
    params: tuple[Any, ...]  # a Placeholder where the call's value goes, else the constant
    model: type[Model]
    init_list: list[str]
    model_slice: slice
    related_populators: list[Any]
    converters: list[tuple[int, list[Callable[..., Any]], Any]]
    for_update: bool


class RowSelect(Generic[M]):
    """The instances `build(p, *variant)` selects, for the values given as keyword arguments.

    The statement is compiled on the first call of each variant, on the database the QuerySet
    then names (the router, without hints), and kept for the life of the process.
    """

    def __init__(self, build: Callable[..., QuerySet[M]]) -> None:
        self.build = build
        self._compiled: dict[tuple[Hashable, ...], _Compiled] = {}

    def __call__(self, *variant: Hashable, **values: Any) -> list[M]:
        compiled = self._compiled.get(variant)
        if compiled is None:
            compiled = self._compiled[variant] = _compile(self.build(Placeholders(), *variant))
        connection = connections[compiled.using]
        if compiled.for_update and connection.features.has_select_for_update and connection.get_autocommit():
            # What evaluating the QuerySet would say: a lock outside a transaction holds nothing.
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        params = [values[p.name] if isinstance(p, Placeholder) else p for p in compiled.params]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        return [_instance(compiled, row, connection) for row in rows]


def _compile(queryset: QuerySet[M]) -> _Compiled:
    query, using = queryset.query, queryset.db
    if query.annotations or query.extra or query.deferred_loading[0] or queryset._prefetch_related_lookups:
        raise NotSupportedError("RowSelect selects whole instances: no annotations, extra, only(), prefetch.")
    compiler = query.get_compiler(using=using)
    sql, params = compiler.as_sql()
    select, klass_info = compiler.select, compiler.klass_info
    fields = klass_info["select_fields"]
    converters = compiler.get_converters([column for column, _, _ in select[: compiler.col_count]])
    return _Compiled(
        using=using,
        sql=sql,
        params=tuple(params),
        model=klass_info["model"],
        init_list=[select[i][0].target.attname for i in fields],
        model_slice=slice(fields[0], fields[-1] + 1),
        related_populators=get_related_populators(klass_info, select, using),
        converters=[(pos, convs, expression) for pos, (convs, expression) in converters.items()],
        for_update=query.select_for_update,
    )


def _instance(compiled: _Compiled, row: tuple[Any, ...], connection: Any) -> Any:
    """One row as the QuerySet's ModelIterable makes it: converted values, then from_db."""
    if compiled.converters:
        values = list(row)
        for pos, convs, expression in compiled.converters:
            value = values[pos]
            for convert in convs:
                value = convert(value, expression, connection)
            values[pos] = value
        row = tuple(values)
    instance = compiled.model.from_db(compiled.using, compiled.init_list, row[compiled.model_slice])
    for populator in compiled.related_populators:
        populator.populate(row, instance)
    return instance
