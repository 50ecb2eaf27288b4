"""Help texts read as text: no raw Markdown backticks in any model or form, nor on the admin's pages."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from leads.services import lead_create
from tests.ingest.test_postback_support import make_world

pytestmark = pytest.mark.django_db

PROJECT_APPS = [name for name in settings.INSTALLED_APPS if "." not in name]
# What Django's admin and the portal render a help text into.
HELP_BLOCK = re.compile(r'class="(?:help|pd-help)"[^>]*>(.*?)</(?:div|p|span)>', re.S)


def project_forms() -> list[type[forms.BaseForm]]:
    found = []
    for app in PROJECT_APPS:
        for module_name in ("forms", "admin"):
            try:
                module = importlib.import_module(f"{app}.{module_name}")
            except ModuleNotFoundError:
                continue
            found += [
                cls
                for _, cls in inspect.getmembers(module, inspect.isclass)
                if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__
            ]
    return found


def test_no_model_field_help_text_has_a_backtick():
    offending = [
        f"{model.__name__}.{field.name}: {field.help_text}"
        for app in PROJECT_APPS
        for model in apps.get_app_config(app).get_models()
        for field in model._meta.get_fields()
        if "`" in str(getattr(field, "help_text", "") or "")
    ]
    assert offending == []


def test_no_form_field_help_text_has_a_backtick():
    classes = project_forms()
    assert len(classes) > 10
    offending = [
        f"{cls.__module__}.{cls.__name__}.{name}"
        for cls in classes
        for name, field in getattr(cls, "base_fields", {}).items()
        if "`" in str(field.help_text or "")
    ]
    assert offending == []


def test_the_admins_rendered_help_texts_show_no_backtick(client, manager, organization):
    client.force_login(manager)
    world = make_world(organization)
    lead = lead_create(app=world.app, link=world.link, click=world.click(), exto="help-1")[0]
    urls = [reverse("admin:leads_lead_change", args=[lead.pk])]
    for model in admin.site._registry:
        try:
            urls.append(reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add"))
        except NoReverseMatch:
            continue

    helps = []
    for url in urls:
        response = client.get(url)
        if response.status_code == 200:
            helps += [(url, text) for text in HELP_BLOCK.findall(response.content.decode())]

    assert len(helps) > 20
    assert [(url, text) for url, text in helps if "`" in text] == []
