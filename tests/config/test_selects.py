"""The compiled-once SELECT answers what the QuerySet it was built from answers."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError
from django.forms.models import model_to_dict
from django.utils import timezone

from config.selects import RowSelect
from leads.models import Click
from tests.factories import TrackingLinkFactory


@pytest.fixture
def link(organization):
    return TrackingLinkFactory(integration__organization=organization)


def _click(link, click_id: str, **values) -> Click:
    return Click.objects.create(
        organization_id=link.integration.organization_id,
        integration_id=link.integration_id,
        partner_id=link.partner_id,
        offer_id=link.offer_id,
        link=link,
        click_id=click_id,
        **values,
    )


def _by_click_id(p, by_sub1: bool):
    clicks = Click.objects.select_related("link__offer").filter(click_id=p.click_id)
    return (clicks.filter(sub1=p.sub1) if by_sub1 else clicks)[:2]


select_clicks = RowSelect(_by_click_id)


def test_the_rows_are_the_instances_the_queryset_makes(link, django_assert_num_queries):
    stored = _click(link, "abc", sub1="s1", ip="203.0.113.9", params={"n": [1, 2]}, created_at=timezone.now())

    with django_assert_num_queries(1):
        [found] = select_clicks(False, click_id="abc")
        offer_name = found.link.offer.name  # select_related objects come with the row

    expected = Click.objects.select_related("link__offer").get(pk=stored.pk)
    assert model_to_dict(found) == model_to_dict(expected)
    assert (found.params, found.ip, found.created_at) == ({"n": [1, 2]}, "203.0.113.9", stored.created_at)
    assert offer_name == link.offer.name
    assert not found._state.adding


def test_each_call_runs_with_its_own_values(link):
    _click(link, "one", sub1="a")
    _click(link, "two", sub1="b")

    assert [c.sub1 for c in select_clicks(False, click_id="one")] == ["a"]
    assert [c.sub1 for c in select_clicks(False, click_id="two")] == ["b"]
    assert select_clicks(False, click_id="three") == []


def test_each_variant_is_its_own_statement(link):
    _click(link, "one", sub1="a")

    assert len(select_clicks(True, click_id="one", sub1="a")) == 1
    assert select_clicks(True, click_id="one", sub1="other") == []
    assert len(select_clicks(False, click_id="one", sub1="other")) == 1


@pytest.mark.django_db(transaction=True)
def test_a_locking_select_outside_a_transaction_is_refused_as_the_queryset_would(link):
    if not connection.features.has_select_for_update:
        pytest.skip("SQLite has no SELECT … FOR UPDATE: Django refuses nothing there either")
    locking = RowSelect(lambda p: Click.objects.select_for_update().filter(click_id=p.click_id))
    _click(link, "abc")
    with transaction.atomic():
        assert len(locking(click_id="abc")) == 1

    with pytest.raises(TransactionManagementError):
        locking(click_id="abc")
