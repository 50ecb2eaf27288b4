"""REPORTS_DATABASE_URL, read when the settings load: a second alias with the primary's options.

The settings file is run afresh with the environment each test sets, as a process starting would.
"""

from __future__ import annotations

import runpy
from pathlib import Path

from django.conf import settings

SETTINGS_FILE = Path(__file__).resolve().parents[2] / "config" / "settings.py"


def _settings_with(monkeypatch, **environment: str) -> dict:
    names = (
        "REPORTS_DATABASE_URL",
        "REPORTS_DATABASE_TIMEOUT",
        "DATABASE_SERVER_SIDE_CURSORS",
        "DATABASE_POOL",
    )
    for name in (*names, "DATABASE_PREPARED_STATEMENTS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/primary")
    return runpy.run_path(str(SETTINGS_FILE))


def test_reports_database_url_adds_a_replica_with_the_primarys_options(monkeypatch):
    loaded = _settings_with(
        monkeypatch,
        REPORTS_DATABASE_URL="postgres://reader:pw@replica.internal:5433/partnerdesk",
        REPORTS_DATABASE_TIMEOUT="1.5",
    )

    primary, replica = loaded["DATABASES"]["default"], loaded["DATABASES"]["reports"]
    assert loaded["REPORTS_DATABASE"] == "reports"
    assert (replica["HOST"], replica["PORT"], replica["NAME"]) == ("replica.internal", 5433, "partnerdesk")
    assert replica["ENGINE"] == primary["ENGINE"]
    assert replica["CONN_MAX_AGE"] == primary["CONN_MAX_AGE"]
    assert replica["OPTIONS"]["pool"] == {**primary["OPTIONS"]["pool"], "timeout": 1.5}
    assert replica["OPTIONS"]["prepare_threshold"] == primary["OPTIONS"]["prepare_threshold"]
    assert replica["OPTIONS"]["connect_timeout"] == 2
    # The URL (with its password) is no setting of its own: DATABASES masks passwords, a URL would not be.
    assert "REPORTS_DATABASE_URL" not in loaded


def test_without_reports_database_url_report_reads_use_the_primary(monkeypatch):
    loaded = _settings_with(monkeypatch)

    assert loaded["REPORTS_DATABASE"] == "default"
    assert list(loaded["DATABASES"]) == ["default"]
    assert settings.DATABASE_ROUTERS == ["config.routers.PrimaryReplicaRouter"]


def test_behind_pgbouncer_server_side_cursors_can_be_turned_off_on_both_databases(monkeypatch):
    loaded = _settings_with(
        monkeypatch,
        REPORTS_DATABASE_URL="postgres://reader@replica.internal/partnerdesk",
        DATABASE_SERVER_SIDE_CURSORS="false",
    )

    assert [db.get("DISABLE_SERVER_SIDE_CURSORS") for db in loaded["DATABASES"].values()] == [True, True]
    assert "DISABLE_SERVER_SIDE_CURSORS" not in _settings_with(monkeypatch)["DATABASES"]["default"]
