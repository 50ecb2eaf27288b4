"""The compiled-once UPDATE writes what `save(update_fields=...)` would."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import DatabaseError
from django.db.models import F
from django.db.models.signals import post_save

from config.updates import RowUpdate
from leads.models import Lead
from leads.services import lead_create
from tests.factories import GoalFactory, TrackingLinkFactory


@pytest.fixture
def lead(organization):
    link = TrackingLinkFactory(integration__organization=organization)
    lead, _ = lead_create(app=link.offer.app, link=link, exto="x1")
    return lead


def test_the_named_fields_are_written_and_the_others_left(lead):
    goal = GoalFactory(offer=lead.offer, code="reg")
    Lead.objects.filter(pk=lead.pk).update(source="set elsewhere")
    lead.status, lead.goal, lead.source = "approved", goal, "not saved"

    RowUpdate(Lead, ["status", "goal"])(lead)

    stored = Lead.objects.get(pk=lead.pk)
    assert (stored.status, stored.goal_id, stored.source) == ("approved", goal.pk, "set elsewhere")


def test_an_auto_now_field_is_set_as_save_sets_it(lead):
    before = lead.updated_at - timedelta(days=1)
    Lead.objects.filter(pk=lead.pk).update(updated_at=before)

    RowUpdate(Lead, ["status", "updated_at"])(lead)

    assert lead.updated_at > before
    assert Lead.objects.get(pk=lead.pk).updated_at == lead.updated_at


def test_a_row_that_is_not_there_raises_as_save_does(lead):
    lead.pk = Lead.objects.latest("pk").pk + 1

    with pytest.raises(DatabaseError, match="did not affect any rows"):
        RowUpdate(Lead, ["status"])(lead)


def test_an_expression_value_is_refused(lead):
    lead.exto = F("source")
    with pytest.raises(TypeError, match="expression"):
        RowUpdate(Lead, ["exto"])(lead)


def test_a_model_with_save_receivers_is_saved_by_save_so_that_they_run(lead):
    seen = []

    def receiver(instance, update_fields, **kwargs):
        seen.append(set(update_fields))

    post_save.connect(receiver, sender=Lead)
    try:
        lead.status = "hold"
        RowUpdate(Lead, ["status"])(lead)
    finally:
        post_save.disconnect(receiver, sender=Lead)

    assert seen == [{"status"}]
    assert Lead.objects.get(pk=lead.pk).status == "hold"


def test_an_unsaved_related_object_is_refused_as_save_refuses_it(lead):
    lead.goal = GoalFactory.build(offer=lead.offer, code="unsaved")

    with pytest.raises(ValueError, match="unsaved related object 'goal'"):
        RowUpdate(Lead, ["goal"])(lead)


def test_many_writes_each_instance_in_one_call(lead, django_assert_num_queries):
    other, _ = lead_create(app=lead.app, link=lead.link, exto="x2")
    lead.status, other.status = "approved", "rejected"

    with django_assert_num_queries(1):
        RowUpdate(Lead, ["status"]).many([lead, other])

    assert dict(Lead.objects.values_list("exto", "status")) == {"x1": "approved", "x2": "rejected"}


def test_many_raises_when_a_row_is_not_there(lead):
    lead.pk = Lead.objects.latest("pk").pk + 1

    with pytest.raises(DatabaseError, match="did not affect any rows"):
        RowUpdate(Lead, ["status"]).many([lead])
