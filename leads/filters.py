"""Filters of clicks and leads, shared by the management API and the admin-side pages."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import django_filters
from django import forms
from django.utils import timezone

from leads.models import Click, Lead, LeadStatus, Verdict

REPORT_DEFAULT_DAYS = 7
REPORT_MAX_DAYS = 366


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
        fields = ["link", "partner", "offer", "integration", "verdict", "verdict_reason", "country", "sub1"]


class LeadFilter(django_filters.FilterSet):
    """Leads by status, goal (id or code), offer, partner, verdict, reason code, key and time range."""

    status = django_filters.MultipleChoiceFilter(choices=LeadStatus.choices)
    goal = _by_id("goal")
    offer = _by_id("offer")
    partner = _by_id("partner")
    link = _by_id("link")
    integration = _by_id("integration")
    app = _by_id("app")
    verdict = django_filters.ChoiceFilter(choices=Verdict.choices)
    verdict_reason = django_filters.CharFilter()
    source = django_filters.CharFilter()
    goal_code = django_filters.CharFilter(field_name="goal__code", lookup_expr="iexact")
    click_id = django_filters.CharFilter(field_name="click__click_id")
    created_at = django_filters.IsoDateTimeFromToRangeFilter()

    class Meta:
        model = Lead
        fields = ["status", "goal", "offer", "partner", "link", "integration", "app", "exto", "verdict"]


class ReportPeriodForm(forms.Form):
    """The screening report's period: from `since` to `until`, both days included (UTC)."""

    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    export = forms.ChoiceField(choices=[("", "page"), ("csv", "CSV")], required=False)

    def clean(self) -> dict:
        data = super().clean()
        until: date = data.get("until") or timezone.now().date()
        since: date = data.get("since") or until - timedelta(days=REPORT_DEFAULT_DAYS - 1)
        if since > until:
            raise forms.ValidationError("The period's start is after its end.")
        if (until - since).days >= REPORT_MAX_DAYS:
            raise forms.ValidationError(f"Choose a period of at most {REPORT_MAX_DAYS} days.")
        data["since"], data["until"] = since, until
        return data

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as [start, end) datetimes: `until`'s whole day included."""
        start = datetime.combine(self.cleaned_data["since"], time.min, tzinfo=UTC)
        end = datetime.combine(self.cleaned_data["until"] + timedelta(days=1), time.min, tzinfo=UTC)
        return start, end
