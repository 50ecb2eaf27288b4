"""The portal's filters, each shared by a page and its export: period, report grouping, conversion log."""

from __future__ import annotations

from datetime import date, timedelta

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from leads.models import Lead, LeadStatus
from partners.models import Goal, Offer
from reports.selectors import GROUPINGS

PRESETS = (
    ("today", gettext_lazy("Today")),
    ("yesterday", gettext_lazy("Yesterday")),
    ("7d", gettext_lazy("Last 7 days")),
    ("30d", gettext_lazy("Last 30 days")),
    ("month", gettext_lazy("This month")),
    ("custom", gettext_lazy("Custom")),
)
DEFAULT_PRESET = "7d"
MAX_DAYS = 366


def preset_range(preset: str, today: date) -> tuple[date, date]:
    """The inclusive (start, end) of a preset, `today` being the UTC day."""
    if preset == "today":
        return today, today
    if preset == "yesterday":
        return today - timedelta(days=1), today - timedelta(days=1)
    if preset == "30d":
        return today - timedelta(days=29), today
    if preset == "month":
        return today.replace(day=1), today
    return today - timedelta(days=6), today


class PeriodForm(forms.Form):
    """A date range (preset or custom) and an optional campaign, limited to the publisher's campaigns."""

    period = forms.ChoiceField(
        choices=PRESETS, required=False, initial=DEFAULT_PRESET, label=gettext_lazy("Period")
    )
    start = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=gettext_lazy("From")
    )
    end = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), label=gettext_lazy("To")
    )
    offer = forms.ModelChoiceField(
        queryset=Offer.objects.none(),
        required=False,
        empty_label=gettext_lazy("All campaigns"),
        label=gettext_lazy("Campaign"),
    )

    def __init__(self, data: dict | None = None, *, offers: QuerySet[Offer]) -> None:
        super().__init__(data or None)
        self.fields["offer"].queryset = offers

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("period") == "custom":
            start, end = cleaned.get("start"), cleaned.get("end")
            if not start or not end:
                raise forms.ValidationError(_("Pick both dates of a custom period."))
            if start > end:
                raise forms.ValidationError(_("The period starts after it ends: swap the dates."))
            if (end - start).days >= MAX_DAYS:
                raise forms.ValidationError(_("Pick a period of at most %(days)d days.") % {"days": MAX_DAYS})
        return cleaned

    @property
    def range(self) -> tuple[date, date]:
        """The chosen (start, end); the default preset when the form is empty or invalid."""
        today = timezone.now().date()
        if not self.is_valid():
            return preset_range(DEFAULT_PRESET, today)
        preset = self.cleaned_data.get("period") or DEFAULT_PRESET
        if preset == "custom":
            return self.cleaned_data["start"], self.cleaned_data["end"]
        return preset_range(preset, today)

    @property
    def offer_id(self) -> int | None:
        offer = self.cleaned_data.get("offer") if self.is_valid() else None
        return offer.pk if offer else None

    @property
    def preset(self) -> str:
        return (self.cleaned_data.get("period") if self.is_valid() else "") or DEFAULT_PRESET


class ReportForm(PeriodForm):
    """The report's period and campaign, and what to group by."""

    group_by = forms.ChoiceField(
        choices=[(name, gettext_lazy(label)) for name, label in GROUPINGS.items()],
        required=False,
        initial="date",
        label=gettext_lazy("Group by"),
    )

    @property
    def grouping(self) -> str:
        return (self.cleaned_data.get("group_by") if self.is_valid() else "") or "date"


class ConversionFilter(django_filters.FilterSet):
    """The conversion log's filters: campaign, goal, status and period (page and export alike)."""

    offer = django_filters.ModelChoiceFilter(
        queryset=Offer.objects.none(), label=gettext_lazy("Campaign"), empty_label=gettext_lazy("All")
    )
    goal = django_filters.ChoiceFilter(
        field_name="goal__code", label=gettext_lazy("Goal"), empty_label=gettext_lazy("All")
    )
    status = django_filters.ChoiceFilter(
        choices=LeadStatus.choices, label=gettext_lazy("Status"), empty_label=gettext_lazy("All")
    )
    start = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__gte",
        widget=forms.DateInput(attrs={"type": "date"}),
        label=gettext_lazy("From"),
    )
    end = django_filters.DateFilter(
        field_name="created_at",
        lookup_expr="date__lte",
        widget=forms.DateInput(attrs={"type": "date"}),
        label=gettext_lazy("To"),
    )

    class Meta:
        model = Lead
        fields = ["offer", "goal", "status", "start", "end"]

    def __init__(self, data: dict | None, queryset: QuerySet[Lead], *, offers: QuerySet[Offer]) -> None:
        super().__init__(data or None, queryset=queryset)
        self.filters["offer"].queryset = offers
        codes = (
            Goal.objects.filter(offer__in=offers).values_list("code", flat=True).distinct().order_by("code")
        )
        self.filters["goal"].extra["choices"] = [(code, code) for code in codes]
