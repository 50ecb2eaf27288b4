"""AlterLabels: a migration that changes fields' words in one step and nothing the database sees."""

from __future__ import annotations

import pytest
from django.db import models
from django.db.migrations.state import ModelState, ProjectState

from config.labels import AlterLabels


def shop_state() -> ProjectState:
    state = ProjectState()
    fields = [("id", models.AutoField(primary_key=True)), ("name", models.CharField(max_length=10))]
    state.add_model(ModelState("shop", "item", fields))
    return state


def test_the_fields_words_change_in_the_migration_state():
    state = shop_state()
    field = models.CharField(max_length=10, verbose_name="item name", help_text="As printed.")

    AlterLabels(fields={"item": {"name": field}}).state_forwards("shop", state)

    changed = state.models["shop", "item"].fields["name"]
    assert (changed.verbose_name, changed.help_text) == ("item name", "As printed.")


def test_a_change_the_database_would_see_is_refused():
    operation = AlterLabels(fields={"item": {"name": models.CharField(max_length=20)}})

    with pytest.raises(ValueError, match=r"shop\.item\.name changes more"):
        operation.state_forwards("shop", shop_state())
