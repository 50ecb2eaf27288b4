"""The health check answers for the database and the broker; only the database is a condition."""

from __future__ import annotations

import pytest
from django.test import override_settings


@pytest.mark.django_db
def test_health_check_reports_the_database_as_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert response.json()["database"] == "ok"


@pytest.mark.django_db
@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_health_check_reports_a_broker_that_does_not_answer_and_stays_up(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert (response.json()["ok"], response.json()["degraded"]) == (True, True)
    assert response.json()["broker"].startswith("error")
