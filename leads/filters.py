"""Filters of clicks and leads, shared by the management API and the admin-side pages."""

from __future__ import annotations

import django_filters

from leads.models import Click, Lead, LeadStatus, Verdict


def _by_id(field: str) -> django_filters.NumberFilter:
    """Related objects by id: a plain number, so no form ever lists another organization's rows."""
    return django_filters.NumberFilter(field_name=f"{field}_id")


class ClickFilter(django_filters.FilterSet):
    """Clicks by link, partner, offer, integration, verdict, ids and time range."""

    link = _by_id("link")
    partner = _by_id("partner")
    offer = _by_id("offer")
    integration = _by_id("integration")
    created_at = django_filters.IsoDateTimeFromToRangeFilter()
    click_id = django_filters.CharFilter()
    partner_click_id = django_filters.CharFilter()
    link_code = django_filters.CharFilter(field_name="link__code", lookup_expr="iexact")

    class Meta:
        model = Click
        fields = ["link", "partner", "offer", "integration", "verdict", "country"]


class LeadFilter(django_filters.FilterSet):
    """Leads by status, goal (id or code), offer, partner, verdict, key and time range."""

    status = django_filters.MultipleChoiceFilter(choices=LeadStatus.choices)
    goal = _by_id("goal")
    offer = _by_id("offer")
    partner = _by_id("partner")
    link = _by_id("link")
    integration = _by_id("integration")
    app = _by_id("app")
    verdict = django_filters.ChoiceFilter(choices=Verdict.choices)
    goal_code = django_filters.CharFilter(field_name="goal__code", lookup_expr="iexact")
    click_id = django_filters.CharFilter(field_name="click__click_id")
    created_at = django_filters.IsoDateTimeFromToRangeFilter()

    class Meta:
        model = Lead
        fields = ["status", "goal", "offer", "partner", "link", "integration", "app", "exto", "verdict"]
