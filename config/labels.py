"""A migration operation for the words of a model's fields, which the database never sees.

Marking the models' words for translation (config.i18n) changed the verbose name, help text or
choice labels of nearly every field. Django records each as an AlterField, and applying one
re-renders every model related to it: the 470 of them tripled the time a test database takes
to create, for no SQL at all. `AlterLabels` changes the same fields of an app's models in the
migration state at once, re-renders once, and refuses any change the database would see.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.migrations.operations.base import Operation
from django.db.migrations.state import ProjectState

# What Django keeps in the migration state only (no column, constraint or index depends on it).
WORDS = frozenset({"verbose_name", "help_text", "choices"})


class AlterLabels(Operation):
    """Set the verbose name, help text and choices of fields of an app's models; no SQL.

    `fields` holds the new fields by model name, then by field name.
    """

    def __init__(self, fields: dict[str, dict[str, models.Field]]) -> None:
        self.fields = fields

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        return (self.__class__.__qualname__, [], {"fields": self.fields})

    def state_forwards(self, app_label: str, state: ProjectState) -> None:
        for model_name, new_fields in self.fields.items():
            model_key = (app_label, model_name.lower())
            fields = state.models[model_key].fields
            for name, field in new_fields.items():
                old_field = fields[name]
                _check_words_only(old_field, field, f"{app_label}.{model_name}.{name}")
                if state._relations is not None and old_field.is_relation:
                    state.resolve_model_field_relations(model_key, name, old_field)
                fields[name] = field
                if state._relations is not None and field.is_relation:
                    state.resolve_model_field_relations(model_key, name, field)
        # As AlterField does for a relation, once for all the models.
        state.reload_models([(app_label, name.lower()) for name in self.fields], delay=False)

    def database_forwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        pass

    def database_backwards(self, app_label: str, schema_editor: Any, from_state: Any, to_state: Any) -> None:
        pass

    def describe(self) -> str:
        return f"Alter the labels of fields on {', '.join(self.fields)}"

    @property
    def migration_name_fragment(self) -> str:
        return "alter_labels"


def _check_words_only(old: models.Field, new: models.Field, where: str) -> None:
    old_path, _, old_kwargs = old.deconstruct()[1:]
    new_path, _, new_kwargs = new.deconstruct()[1:]
    kept = {key: value for key, value in old_kwargs.items() if key not in WORDS}
    changed = {key: value for key, value in new_kwargs.items() if key not in WORDS}
    if old_path != new_path or kept != changed:
        raise ValueError(f"AlterLabels may change only {', '.join(sorted(WORDS))}: {where} changes more.")
