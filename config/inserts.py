"""A one-row INSERT whose SQL the ORM compiles once, for the hottest write paths.

`Model.save(force_insert=True)` compiles the same INSERT statement again on every call; for a
click with thirty-odd columns that compilation costs more CPU than the rest of the redirect.
`RowInsert` asks Django's own insert compiler for the statement once per database and then only
prepares the values, exactly as `save()` does (`pre_save`, `get_db_prep_save`), through the
connection's instrumented cursor, so query counting and logging still see the query.

What `save()` does around the INSERT is not done: a model inheriting from a concrete model, a
field whose placeholder depends on its value and expressions as values are refused; a model
that has save signal receivers is saved by `save()` itself, so that they run (slower, same row).
"""

from __future__ import annotations

from typing import Generic, TypeVar

from django.db import IntegrityError, connections, router, transaction
from django.db.models import Model
from django.db.models.constants import OnConflict
from django.db.models.signals import post_save, pre_save
from django.db.models.sql import InsertQuery

M = TypeVar("M", bound=Model)


class RowInsert(Generic[M]):
    """INSERT one instance of `model` and set its primary key, as `save(force_insert=True)` would.

    With `ignore_conflicts`, a row that a unique constraint already holds is not inserted
    (`ON CONFLICT DO NOTHING`): the call answers False and leaves the primary key unset, so
    the caller can read the holder, with no savepoint around the INSERT.
    """

    def __init__(self, model: type[M], *, ignore_conflicts: bool = False) -> None:
        meta = model._meta
        if meta.parents:
            raise TypeError(f"{model.__name__} inherits from a concrete model: use save().")
        self.model = model
        self.fields = [f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field]
        if any(hasattr(f, "get_placeholder") for f in self.fields):
            raise TypeError(f"{model.__name__} has a field with its own placeholder: use save().")
        self.on_conflict = OnConflict.IGNORE if ignore_conflicts else None
        self._sql: dict[str, str] = {}

    def _statement(self, instance: M, using: str) -> str:
        sql = self._sql.get(using)
        if sql is None:
            query = InsertQuery(self.model, on_conflict=self.on_conflict)
            query.insert_values(self.fields, [instance])
            compiler = query.get_compiler(using=using)
            if connections[using].features.can_return_columns_from_insert:
                compiler.returning_fields = [self.model._meta.pk]
            [(sql, _params)] = compiler.as_sql()
            self._sql[using] = sql
        return sql

    def __call__(self, instance: M) -> bool:
        """Insert the instance; False only when a conflict was ignored."""
        model = self.model
        if pre_save.has_listeners(model) or post_save.has_listeners(model):
            return self._saved(instance)
        # As save() does: an unsaved related object is refused, a since-saved one's id is taken.
        instance._prepare_related_fields_for_save(operation_name="save")
        using = router.db_for_write(model, instance=instance)
        connection = connections[using]
        params = []
        for field in self.fields:  # one pass: this loop is most of the call's CPU
            value = field.pre_save(instance, True)
            if hasattr(value, "resolve_expression"):
                raise TypeError(f"An expression cannot be inserted into {model.__name__} here: use save().")
            params.append(field.get_db_prep_save(value, connection))
        with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
            cursor.execute(self._statement(instance, using), params)
            if connection.features.can_return_columns_from_insert:
                row = cursor.fetchone()
                if row is None:
                    return False
                instance.pk = row[0]
            else:
                if cursor.rowcount == 0:
                    return False
                meta = model._meta
                instance.pk = connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
        instance._state.adding = False
        instance._state.db = using
        return True

    def _saved(self, instance: M) -> bool:
        if self.on_conflict is None:
            instance.save(force_insert=True)
            return True
        try:
            with transaction.atomic():
                instance.save(force_insert=True)
        except IntegrityError:
            instance.pk = None
            return False
        return True
