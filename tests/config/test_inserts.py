"""The compiled one-row INSERT of the traffic tables writes what `save()` would."""

from __future__ import annotations

import pytest
from django.db.models import F
from django.db.models.signals import post_save
from django.forms.models import model_to_dict
from django.utils import timezone

from config.inserts import RowInsert
from leads.models import Click
from tests.factories import LandingFactory, TrackingLinkFactory


@pytest.fixture
def link(organization):
    return TrackingLinkFactory(integration__organization=organization)


# One instant for every click here: the click id is unique with its time (the table is
# partitioned by it), so the conflicting ones share both.
AT = timezone.now()


def _click(link, **values) -> Click:
    ids = {f"{name}_id": getattr(link, f"{name}_id") for name in ("integration", "partner", "offer")}
    values.setdefault("created_at", AT)
    return Click(organization_id=link.integration.organization_id, link_id=link.pk, **ids, **values)


def test_a_row_insert_stores_the_same_row_as_save(link):
    values = {
        "sub1": "s1",
        "ip": "203.0.113.9",
        "params": {"adset": "spring", "n": [1, 2]},
        "verdict": "flagged",
        "verdict_details": {"count": 3},
        "created_at": timezone.now(),
    }
    saved = _click(link, click_id="saved", **values)
    saved.save(force_insert=True)

    inserted = _click(link, click_id="inserted", **values)

    assert RowInsert(Click)(inserted) is True
    assert inserted.pk is not None and inserted.pk != saved.pk
    assert not inserted._state.adding
    as_saved = model_to_dict(Click.objects.get(pk=saved.pk), exclude=["id", "click_id"])
    as_inserted = model_to_dict(Click.objects.get(pk=inserted.pk), exclude=["id", "click_id"])
    assert as_inserted == as_saved


def test_a_row_insert_fills_field_defaults_as_save_does(link):
    click = _click(link)
    RowInsert(Click)(click)

    stored = Click.objects.get(pk=click.pk)
    assert len(stored.click_id) >= 20
    assert (stored.verdict, stored.params, stored.sub1) == ("ok", {}, "")


def test_a_model_with_save_receivers_is_saved_by_save_so_that_they_run(link):
    seen = []

    def receiver(instance, created, **kwargs):
        seen.append((instance.pk, created))

    post_save.connect(receiver, sender=Click)
    try:
        click = _click(link, click_id="heard")
        taken = _click(link, click_id="heard")
        assert RowInsert(Click, ignore_conflicts=True)(click) is True
        assert RowInsert(Click, ignore_conflicts=True)(taken) is False
    finally:
        post_save.disconnect(receiver, sender=Click)

    assert seen == [(click.pk, True)]
    assert taken.pk is None
    assert Click.objects.get().click_id == "heard"


def test_an_expression_value_is_refused(link):
    with pytest.raises(TypeError, match="expression"):
        RowInsert(Click)(_click(link, sub1=F("sub2")))
    assert not Click.objects.exists()


def test_with_ignore_conflicts_a_row_held_by_a_unique_key_is_not_inserted(link):
    _click(link, click_id="taken").save()
    again = _click(link, click_id="taken", sub1="second")

    assert RowInsert(Click, ignore_conflicts=True)(again) is False
    assert again.pk is None
    assert list(Click.objects.values_list("click_id", "sub1")) == [("taken", "")]


def test_a_related_object_saved_after_it_was_assigned_gives_its_id(link):
    click = _click(link)
    click.landing = LandingFactory.build(offer=link.offer)
    with pytest.raises(ValueError, match="unsaved related object"):
        RowInsert(Click)(click)

    click.landing.save()
    RowInsert(Click)(click)

    assert Click.objects.get().landing_id == click.landing.pk is not None
