"""The portal reads the rollups as the fold left them: no page writes them, each says how fresh they are."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leads.rollups import rollup_refresh
from reports.models import Watermark
from tests.reports.builders import make_clicks

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("portal:dashboard") + "?period=30d"
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b.*\breports_", re.IGNORECASE | re.DOTALL)


def _clicks_shown(page: str) -> int:
    return int(re.search(r'id="kpi-clicks">(\d+)<', page).group(1))


def test_the_dashboard_writes_no_rollup_row_even_with_traffic_not_folded_yet(world, client_a):
    make_clicks(world.a, 15, seed=90)

    with CaptureQueriesContext(connection) as queries:
        response = client_a.get(DASHBOARD)

    assert response.status_code == 200
    assert [q["sql"] for q in queries if WRITES.match(q["sql"])] == []


def test_the_dashboard_shows_the_time_of_the_last_fold(world, client_a):
    folded_at = Watermark.objects.get(source=Watermark.Source.CLICKS).updated_at

    page = client_a.get(DASHBOARD).content.decode()

    assert f"Figures as of {folded_at:%H:%M:%S} UTC" in page


def test_new_clicks_show_on_the_dashboard_after_the_fold_not_before(world, client_a):
    shown = _clicks_shown(client_a.get(DASHBOARD).content.decode())
    make_clicks(world.a, 15, seed=91)

    before_fold = _clicks_shown(client_a.get(DASHBOARD).content.decode())
    rollup_refresh(settle_seconds=0)
    after_fold = _clicks_shown(client_a.get(DASHBOARD).content.decode())

    assert (before_fold, after_fold) == (shown, shown + 15)


def test_the_report_shows_the_time_of_the_last_fold(world, client_a):
    rollup_refresh(settle_seconds=0)
    folded_at = Watermark.objects.get(source=Watermark.Source.CLICKS).updated_at

    page = client_a.get(reverse("portal:report") + "?period=30d&group_by=geo").content.decode()

    assert f"Figures as of {folded_at:%H:%M:%S} UTC" in page


def test_before_any_fold_the_dashboard_says_the_figures_are_not_counted_yet(world, client_a):
    Watermark.objects.all().delete()

    page = client_a.get(DASHBOARD).content.decode()

    assert "Figures are not counted yet" in page
