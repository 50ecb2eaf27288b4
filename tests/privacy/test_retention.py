"""Retention: raw IPs and user agents older than the configured days are blanked; recent ones stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from ingest.models import InboundPostback
from leads.models import Click, Impression, Lead
from leads.rollups import rollup_rebuild, rollup_refresh
from privacy.services import retention_purge
from privacy.tasks import retention_purge_task
from tests.privacy.conftest import totals

pytestmark = pytest.mark.django_db

AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0.0.0 Safari/537.36"


def _age(world, days_ago_for_old=5):
    """A's clicks, impressions, leads and log rows become old; B's stay recent (within a day)."""
    old = timezone.now() - timedelta(days=days_ago_for_old)
    Click.objects.update(user_agent=AGENT)
    Impression.objects.filter(partner=world.a.partner).update(ip="192.0.2.1", user_agent=AGENT)
    for model, field in ((Click, "created_at"), (Impression, "created_at"), (Lead, "created_at")):
        rows = model.objects.filter(partner=world.a.partner).order_by("id")
        for n, pk in enumerate(rows.values_list("pk", flat=True)):
            model.objects.filter(pk=pk).update(**{field: old - timedelta(hours=n % 48)})
    InboundPostback.objects.update(received_at=old)


def test_the_retention_blanks_old_ips_and_user_agents_and_keeps_recent_ones(world, settings):
    _age(world)
    recent = Click.objects.filter(partner=world.b.partner, created_at__gt=timezone.now() - timedelta(hours=1))
    recent_ips = list(recent.values_list("pk", "ip"))

    counts = retention_purge(ip_days=3, user_agent_days=3)

    old_clicks = Click.objects.filter(partner=world.a.partner)
    assert not old_clicks.exclude(ip="").exists() and not old_clicks.exclude(user_agent="").exists()
    assert not Impression.objects.filter(partner=world.a.partner).exclude(ip="").exists()
    assert "ip" not in Lead.objects.get(pk=world.lead.pk).params
    inbound = InboundPostback.objects.get()
    assert inbound.source_ip is None and inbound.user_agent == "" and "ip" not in inbound.params
    assert list(recent.values_list("pk", "ip")) == recent_ips
    assert (
        Click.objects.filter(partner=world.b.partner, created_at__gt=timezone.now() - timedelta(days=3))
        .exclude(user_agent="")
        .exists()
    )
    assert counts["clicks"] > 0 and counts["inbound"] == 1


def test_the_retention_runs_twice_without_changing_anything_more_and_keeps_report_totals(world):
    _age(world)
    rollup_rebuild()
    before = totals(world)

    retention_purge(ip_days=3, user_agent_days=3)
    again = retention_purge(ip_days=3, user_agent_days=3)

    assert again == {"clicks": 0, "impressions": 0, "leads": 0, "inbound": 0}
    rollup_refresh(settle_seconds=0)
    assert totals(world) == before
    rollup_rebuild()
    assert totals(world) == before


def test_zero_days_keeps_everything(world, settings):
    _age(world, days_ago_for_old=400)
    settings.RETENTION_IP_DAYS = 0
    settings.RETENTION_USER_AGENT_DAYS = 0

    assert retention_purge_task() == {"clicks": 0, "impressions": 0, "leads": 0, "inbound": 0}
    assert Click.objects.filter(partner=world.a.partner).exclude(ip="").exists()


def test_the_beat_task_and_the_command_use_the_settings(world, settings, capsys):
    _age(world)
    settings.RETENTION_IP_DAYS = 3
    settings.RETENTION_USER_AGENT_DAYS = 0

    call_command("privacy_retention")

    assert "changed" in capsys.readouterr().out
    assert not Click.objects.filter(partner=world.a.partner).exclude(ip="").exists()
    assert not Click.objects.filter(partner=world.a.partner, user_agent="").exists()
    assert "privacy-retention" in settings.CELERY_BEAT_SCHEDULE


def test_the_retention_removes_the_ip_from_the_leads_copy_of_its_click(world):
    _age(world)
    old = Lead.objects.filter(partner=world.a.partner, click__isnull=False).first()
    Lead.objects.filter(pk=old.pk).update(click_facts={**old.click_facts, "ip": "198.51.100.4"})

    retention_purge(ip_days=3, user_agent_days=0)

    facts = Lead.objects.get(pk=old.pk).click_facts
    assert "ip" not in facts and facts["click_id"] == old.click_facts["click_id"]
