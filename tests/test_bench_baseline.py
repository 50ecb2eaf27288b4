"""The benchmark's baseline view: one INSERT and a 302, routed only when BENCH_BASELINE is on."""

from __future__ import annotations

import importlib

import pytest
from django.urls import clear_url_caches

import config.urls
from leads.models import Click
from tests.factories import TrackingLinkFactory


def _reload_urls() -> None:
    importlib.reload(config.urls)
    clear_url_caches()


@pytest.fixture
def baseline_on(settings):
    settings.BENCH_BASELINE = True
    _reload_urls()
    yield
    settings.BENCH_BASELINE = False
    _reload_urls()


@pytest.fixture
def baseline_url(db):
    link = TrackingLinkFactory()
    ids = {
        "organization": link.organization_id,
        "integration": link.integration_id,
        "link": link.pk,
        "partner": link.partner_id,
        "offer": link.offer_id,
    }
    return "/bench/baseline?" + "&".join(f"{name}={value}" for name, value in ids.items())


def test_the_baseline_inserts_one_click_and_redirects(
    client, baseline_on, baseline_url, django_assert_num_queries
):
    with django_assert_num_queries(1) as context:
        response = client.get(baseline_url)

    assert response.status_code == 302
    assert response["Location"] == "https://example.com/landing"
    assert context.captured_queries[0]["sql"].startswith('INSERT INTO "leads_click"')
    assert Click.objects.count() == 1


def test_the_baseline_is_not_routed_unless_bench_baseline_is_on(client, baseline_url):
    response = client.get(baseline_url)

    assert response.status_code == 404
    assert not Click.objects.exists()
