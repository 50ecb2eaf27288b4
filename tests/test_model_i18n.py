"""The admin stays translatable down to the models: every word a model gives it is marked (issue 15).

Field names, help texts, choice labels and the models' own names are what the admin shows in
its column headers, forms, filters and titles. Rendered with the marking catalogue
(tests/marking.py) each must come out wrapped in ⟪…⟫: marked with config.i18n.admin_text, or
gettext_lazy where the portal shows it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy

from config.i18n import admin_text
from leads.models import Lead
from leads.services import lead_create
from tests.ingest.test_postback_support import make_world
from tests.marking import is_marked

# Our apps: the ones in the project's folder (INSTALLED_APPS also has auditlog, axes, csp…).
PROJECT_APPS = {app.label for app in apps.get_app_configs() if Path(app.path).parent == settings.BASE_DIR}
# A language's own name reads the same in every language (the portal's language switcher).
AUTONYMS = {"accounts.Membership.language"}


def project_models() -> list[type[models.Model]]:
    return [model for model in apps.get_models() if model._meta.app_label in PROJECT_APPS]


def own_fields(model: type[models.Model]) -> list[models.Field]:
    """The concrete fields our code declares: not a library's abstract model's, not Django's id."""
    theirs = {
        field.name
        for base in model.__mro__[1:]
        if hasattr(base, "_meta") and base.__module__.split(".")[0] not in PROJECT_APPS
        for field in base._meta.local_fields
    }
    return [
        field
        for field in model._meta.get_fields()
        if field.concrete and not field.auto_created and field.name not in theirs
    ]


def model_words(model: type[models.Model]) -> Iterator[tuple[str, object]]:
    """(where, word) for every word the model gives the admin."""
    opts = model._meta
    yield f"{opts.label} verbose_name", opts.verbose_name
    yield f"{opts.label} verbose_name_plural", opts.verbose_name_plural
    for field in own_fields(model):
        where = f"{opts.label}.{field.name}"
        yield f"{where} verbose_name", field.verbose_name
        if field.help_text:
            yield f"{where} help_text", field.help_text
        if field.choices and where not in AUTONYMS:
            yield from ((f"{where} choice {value!r}", label) for value, label in field.flatchoices)


def unmarked(words: Iterator[tuple[str, object]]) -> list[str]:
    return [f"{where}: {word}" for where, word in words if not is_marked(word)]


def test_every_models_names_fields_help_texts_and_choices_are_marked(marked):
    words = [word for model in project_models() for word in model_words(model)]

    assert len(words) > 600  # every app's models were read
    assert unmarked(iter(words)) == []


def test_the_check_finds_a_plain_verbose_name_help_text_or_choice(marked, monkeypatch):
    exto = Lead._meta.get_field("exto")
    monkeypatch.setattr(exto, "verbose_name", "exto")
    monkeypatch.setattr(exto, "help_text", "The advertiser's id.")
    monkeypatch.setattr(exto, "choices", [("a", admin_text("Marked")), ("b", "Plain")])

    found = unmarked(model_words(Lead))

    assert found == [
        "leads.Lead.exto verbose_name: exto",
        "leads.Lead.exto help_text: The advertiser's id.",
        "leads.Lead.exto choice 'b': Plain",
    ]
    assert unmarked(iter([("portal", gettext_lazy("Pending")), ("admin", admin_text("kind"))])) == []


@pytest.mark.django_db
def test_the_lead_list_shows_its_title_column_headers_and_filters_marked(client, manager, marked):
    world = make_world(manager.membership.organization)
    lead_create(app=world.app, link=world.link, click=world.click(), exto="i18n-1")
    client.force_login(manager)

    page = client.get(reverse("admin:leads_lead_changelist")).content.decode()

    assert "⟪Select ⟪lead⟫ to change⟫" in page
    assert ">⟪created at⟫</a>" in page and ">⟪status⟫</a>" in page and ">⟪third party status⟫</a>" in page
    assert "⟪ By ⟪verdict reason⟫ ⟫" in page
    assert ">⟪New⟫</a>" in page  # the status filter's choice, gettext_lazy: the portal shows it
