"""A one-row UPDATE of chosen fields whose SQL is written once, for the hottest write paths.

`Model.save(update_fields=...)` builds a QuerySet filtered by the primary key and compiles its
UPDATE on every call; for a lead's status change that is a third of the request's CPU.
`RowUpdate` writes `UPDATE <table> SET <column> = %s, … WHERE <pk> = %s` once per database and
then only prepares the values, exactly as `save()` does (`pre_save`, so `auto_now` fields are
set, and `get_db_prep_save`), through the connection's instrumented cursor, so query counting
and logging still see the query. Like `save(update_fields=...)`, a row that is gone raises
`DatabaseError`. A model with save signal receivers is saved by `save()` itself, so that they
run; expressions as values and fields with their own placeholder are refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from django.db import DatabaseError, connections, router, transaction
from django.db.models import Model
from django.db.models.signals import post_save, pre_save

M = TypeVar("M", bound=Model)


class RowUpdate(Generic[M]):
    """UPDATE `fields` of one instance of `model` by its primary key."""

    def __init__(self, model: type[M], fields: Sequence[str]) -> None:
        meta = model._meta
        self.model = model
        self.names = list(fields)
        self.fields = [meta.get_field(name) for name in fields]
        for field in self.fields:
            if not field.concrete or field.primary_key or field.many_to_many or field.generated:
                raise TypeError(f"{model.__name__}.{field.name} is not a column RowUpdate can set.")
            if hasattr(field, "get_placeholder"):
                raise TypeError(f"{model.__name__}.{field.name} has its own placeholder: use save().")
        # The relations among them, checked as save() checks them; a set, since Django's check
        # tests each of the model's fields for membership.
        self.relations = frozenset(field for field in self.fields if field.is_relation)
        self._sql: dict[str, str] = {}

    def _statement(self, using: str) -> str:
        sql = self._sql.get(using)
        if sql is None:
            quote = connections[using].ops.quote_name
            columns = ", ".join(f"{quote(field.column)} = %s" for field in self.fields)
            meta = self.model._meta
            sql = f"UPDATE {quote(meta.db_table)} SET {columns} WHERE {quote(meta.pk.column)} = %s"
            self._sql[using] = sql
        return sql

    def __call__(self, instance: M) -> None:
        model = self.model
        if pre_save.has_listeners(model) or post_save.has_listeners(model):
            instance.save(update_fields=self.names)
            return
        using = router.db_for_write(model, instance=instance)
        connection = connections[using]
        params = self._params(instance, connection)
        with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
            cursor.execute(self._statement(using), params)
            if cursor.rowcount == 0:
                raise DatabaseError("Save with update_fields did not affect any rows.")
        instance._state.db = using

    def many(self, instances: Sequence[M]) -> None:
        """UPDATE each of `instances` (all of one database), sent together (`executemany`, one
        round trip with psycopg's pipeline): as calling this on each, in fewer waits."""
        if not instances:
            return
        model = self.model
        if pre_save.has_listeners(model) or post_save.has_listeners(model):
            for instance in instances:
                instance.save(update_fields=self.names)
            return
        using = router.db_for_write(model, instance=instances[0])
        connection = connections[using]
        rows = [self._params(instance, connection) for instance in instances]
        with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
            cursor.executemany(self._statement(using), rows)
            if cursor.rowcount < len(rows):
                raise DatabaseError("Save with update_fields did not affect any rows.")
        for instance in instances:
            instance._state.db = using

    def _params(self, instance: M, connection: Any) -> list[Any]:
        """The statement's values for `instance`, prepared as save() prepares them."""
        model = self.model
        if self.relations:
            # As save() does: an unsaved related object is refused, a since-saved one's id is taken.
            instance._prepare_related_fields_for_save(operation_name="save", fields=self.relations)
        params = []
        for field in self.fields:
            value = field.pre_save(instance, False)
            if hasattr(value, "resolve_expression"):
                raise TypeError(f"An expression cannot be saved into {model.__name__} here: use save().")
            params.append(field.get_db_prep_save(value, connection))
        params.append(model._meta.pk.get_db_prep_value(instance.pk, connection))
        return params
